// The typed inventory that every other part of nk works from (parsed and validated from YAML).
import type { RolloutSettings } from "./rollout-model.js";

/** "none": a NixOS host without k3s (same pipeline; no k3s, no drain, no Ready check). */
export type Role = "server" | "agent" | "none";
export type RebootPolicy = "auto" | "always" | "never";
/** The Nix system a node builds for. */
export type NodeSystem = "x86_64-linux" | "aarch64-linux";
export const NODE_SYSTEMS: readonly NodeSystem[] = ["x86_64-linux", "aarch64-linux"];
export type BootLoader = "systemd-boot" | "grub-efi" | "grub-bios" | "extlinux";
export const BOOT_LOADERS: readonly BootLoader[] = ["systemd-boot", "grub-efi", "grub-bios", "extlinux"];

/** How a node boots; the installer and every bundle render the same loader from it. */
export type BootSettings =
  /** UEFI: the loader lives in the EFI system partition mounted at efiMountPoint (default /boot). */
  | { readonly loader: "systemd-boot" | "grub-efi"; readonly efiMountPoint: string }
  /**
   * BIOS GRUB in the boot sector of `device`; with efiMountPoint it also keeps a removable EFI copy of GRUB
   * (EFI/BOOT/BOOTX64.EFI) on the ESP mounted there, so the disk boots in either mode (what the installer sets up).
   */
  | { readonly loader: "grub-bios"; readonly device: string; readonly efiMountPoint?: string }
  /** U-Boot and Raspberry Pi firmware read /boot/extlinux/extlinux.conf. */
  | { readonly loader: "extlinux" };

/** Exactly one of channel or flake; `rev` pins a channel to a commit. */
export interface NixpkgsPin {
  readonly channel?: string;
  readonly flake?: string;
  readonly rev?: string;
}

export interface NetworkSettings {
  readonly gateway: string;
  readonly prefixLength: number;
  readonly nameservers: readonly string[];
  /** Default interface for nodes that do not name one. */
  readonly interface?: string;
}

export interface AdminSettings {
  readonly user: string;
  readonly sshKeys: readonly string[];
}

/** A virtual IP for the Kubernetes API, moved between carrier servers by keepalived (VRRP). */
export interface ApiVip {
  readonly vip: string;
  /** Interface the VIP lives on; default: each carrier's own interface. */
  readonly interface?: string;
  /** The carriers: every server, or these nodes in this order (the first has the highest priority). */
  readonly on: "servers" | readonly string[];
  /** Secret holding the VRRP password, written by the agent under /run; never in git or the store. */
  readonly vrrpPasswordSecret: string;
}

export interface K3sSettings {
  /** Name of a secret in the coordinator's secret store; never the token itself. */
  readonly tokenSecret: string;
  /** Address servers and agents join through; the VIP when there is one, else defaults to the init server's address. */
  readonly apiAddress: string;
  readonly api?: ApiVip;
  readonly extraFlags: readonly string[];
  readonly disable: readonly string[];
}

/** Which agent runs a command check. */
export type CheckTarget = "any-server" | "all-servers" | "all" | { readonly node: string };

export type CheckSpec =
  | { readonly kind: "command"; readonly command: readonly string[]; readonly expect: string }
  | { readonly kind: "http"; readonly url: string; readonly expectStatus: number; readonly expectBody?: string }
  | {
      readonly kind: "prometheus";
      readonly url: string;
      /** Alert names that block; empty means every firing alert blocks unless excluded. */
      readonly include: readonly string[];
      readonly exclude: readonly string[];
      /** Alertmanager base URL: a firing alert that an active silence matches does not block (unless silencedBlocks). */
      readonly alertmanager?: string;
      readonly silencedBlocks?: boolean;
    }
  | {
      /** A PromQL instant query whose every sample must satisfy `op value` (e.g. == 0, < 0.8). */
      readonly kind: "promql";
      readonly url: string;
      readonly query: string;
      readonly op: PromqlOp;
      readonly value: number;
      /** What a query without samples means; default fail (a gate that sees nothing does not pass). */
      readonly onEmpty: "pass" | "fail";
    };

export type PromqlOp = "==" | "!=" | "<" | "<=" | ">" | ">=";

export interface ClusterCheck {
  readonly name: string;
  readonly spec: CheckSpec;
  readonly on: CheckTarget;
  readonly timeoutSeconds: number;
}

/** A check the agent runs on its own node after activation. */
export interface NodeCheck {
  readonly name: string;
  readonly command: readonly string[];
  readonly expect: string;
  readonly timeoutSeconds: number;
}

// Rollout policy (windows, pools, canary, FleetLock, blocking pods, the rollout settings) lives in rollout-model.ts.
export type * from "./rollout-model.js";

export interface AgentPin {
  /**
   * Flake reference of nk itself, imported by every bundle so agents update with their config; absent:
   * the source the coordinator serves, as nk.lock's nk_source pins it.
   */
  readonly flake?: string;
  readonly version: string;
}

/** Whether a node falls back to building its own system when its closure cannot be fetched from the cache. */
export type BuildFallback = "local" | "none";

/** A host that builds nodes' systems: a node of the inventory or another NixOS host enrolled as a builder. */
export interface BuilderSpec {
  readonly name: string;
  /** The Nix systems it builds for (a node builder defaults to its own system). */
  readonly systems: readonly NodeSystem[];
}

/** A Nix binary cache: where builders push closures and nodes fetch them, and the key they are signed with. */
export interface BuildCache {
  /** A Nix store URL: file://, s3:// or http(s):// (attic, harmonia, nix-serve). */
  readonly url: string;
  /** `name:base64` as `nix key convert-secret-to-public` prints it; nodes trust only this key. */
  readonly publicKey: string;
}

/** `local`: every node evaluates and builds its own system (the default). `builders`: built once, fetched by nodes. */
export type BuildSettings =
  | { readonly mode: "local" }
  | { readonly mode: "builders"; readonly builders: readonly BuilderSpec[]; readonly cache: BuildCache; readonly fallback: BuildFallback };

export interface ClusterSettings {
  readonly name: string;
  readonly nixpkgs: NixpkgsPin;
  readonly stateVersion: string;
  readonly timezone: string;
  readonly network: NetworkSettings;
  readonly admin: AdminSettings;
  readonly k3s: K3sSettings;
  readonly rollout: RolloutSettings;
  readonly agent: AgentPin;
  readonly build: BuildSettings;
}

export interface NodeSpec {
  readonly name: string;
  readonly address: string;
  readonly role: Role;
  readonly init: boolean;
  readonly interface: string;
  readonly system: NodeSystem;
  readonly boot: BootSettings;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly string[];
  readonly checks: readonly NodeCheck[];
  readonly k3sExtraFlags: readonly string[];
  /** Overrides cluster.build.fallback for this node (builders mode only). */
  readonly buildFallback?: BuildFallback;
}

/** When the coordinator applies manifests/ to the cluster (after-servers: once the revision's servers converged). */
export type ManifestApplyMode = "after-servers" | "immediately" | "manual";

/** The `manifests:` section: how nk applies and prunes the objects in manifests/. */
export interface ManifestSettings {
  readonly apply: ManifestApplyMode;
  /** Server-side apply with force: take over fields another field manager owns instead of reporting a conflict. */
  readonly forceConflicts: boolean;
  /** Namespace of namespaced objects that name none. */
  readonly defaultNamespace: string;
  /** Never pruned: objects in these namespaces, and these Namespace objects themselves. */
  readonly protectNamespaces: readonly string[];
  /** Never pruned: objects of these kinds ("Kind" or "Kind.group"). */
  readonly protectKinds: readonly string[];
  /** Files of manifests/ handed to k3s's auto-deploy directory on servers instead (never applied nor pruned by nk). */
  readonly bootstrap: readonly string[];
}

/** Rollout events the coordinator can send to `notify:` targets. */
export const NOTIFY_EVENTS = [
  "rollout-started",
  "rollout-paused",
  "rollout-resumed",
  "rollout-halted",
  "rollout-completed",
  "canary-awaiting-approval",
  "node-failed",
  "node-rolled-back",
  "node-did-not-return",
  "deadline-passed",
] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** Where rollout events go: a generic JSON webhook (optionally HMAC-signed), an ntfy topic, a Slack-compatible webhook. */
export interface NotifyTarget {
  readonly name: string;
  readonly kind: "webhook" | "ntfy" | "slack";
  readonly url: string;
  /** Events sent; all of them when the inventory lists none. */
  readonly events: readonly NotifyEvent[];
  /** Webhook only: the coordinator secret whose value signs the body (X-NK-Signature: sha256=<hex>). */
  readonly hmacSecret?: string;
}

export interface Inventory {
  readonly cluster: ClusterSettings;
  readonly manifests: ManifestSettings;
  /** The `notify:` section; absent or empty sends nothing. */
  readonly notify?: readonly NotifyTarget[];
  /** Sorted by name, so every consumer sees one order whatever the YAML order. */
  readonly nodes: readonly NodeSpec[];
}

/** Repo files by '/'-separated path relative to the repo root. */
export type RepoFiles = ReadonlyMap<string, string>;

export type Severity = "error" | "warning";

/** One problem found in the repo, pointing at the file, position and dot-path field. */
export interface Diagnostic {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly field: string;
  readonly message: string;
  readonly severity: Severity;
}
