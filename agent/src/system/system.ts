// The NixOS machine as the agent sees it: one interface, a real driver (NixosSystem) and a simulated one (SimSystem).
import type { BundleFile } from "../../../shared/src/render/index.js";
import type { BootChange, BootPaths } from "../../../shared/src/wire/index.js";
import type { BundleKeep } from "./bundle-gc.js";
import type { CacheSource } from "./nix-fetch.js";

export type BuildResult =
  | { readonly ok: true; readonly systemPath: string; readonly log: string }
  | { readonly ok: false; readonly error: string; readonly log: string };

/** What `switch-to-configuration dry-activate` says a switch would do, unit names as systemd spells them. */
export interface DryActivateResult {
  readonly stopUnits: readonly string[];
  readonly restartUnits: readonly string[];
  readonly reloadUnits: readonly string[];
  readonly startUnits: readonly string[];
}

/** `lowPriority`: a preview build, which must not slow the node's workloads (or a real apply) down. */
export interface BuildOptions {
  readonly lowPriority?: boolean;
}

export type ActivationResult = { readonly ok: true; readonly log: string } | { readonly ok: false; readonly error: string; readonly log: string };

export interface CheckRun {
  readonly exitCode: number;
  readonly stdout: string;
}

/**
 * Expected outcomes (a build or activation that fails) are returned; a driver that cannot do its
 * job at all (a command missing, a file unreadable) throws NkError.
 */
export interface System {
  /** Replace `dir` with exactly these files. */
  writeBundle(dir: string, files: readonly BundleFile[]): Promise<void>;
  /**
   * Remove the bundle directories under `root` (each with its `result` link, the GC root of its build) that `keep`
   * does not name; returns the names removed. Throws NkError IO if some could not be removed (after trying all).
   */
  pruneBundles(root: string, keep: BundleKeep): Promise<string[]>;
  /** Build the node's system from the bundle without touching the running system. */
  build(bundleDir: string, node: string, signal?: AbortSignal, options?: BuildOptions): Promise<BuildResult>;
  /**
   * Builders mode: realise `systemPath` from the binary cache instead of building, rooted at `<bundleDir>/result` as a
   * build would be; a closure not signed by `cache.publicKey` is refused (returned as a failed result).
   */
  fetch(bundleDir: string, systemPath: string, cache: CacheSource, signal?: AbortSignal): Promise<BuildResult>;
  dryActivate(systemPath: string, signal?: AbortSignal): Promise<DryActivateResult>;
  /** Kernel, initrd or kernel modules differ from the booted system (or switch inhibitors changed). */
  needsReboot(systemPath: string): Promise<boolean>;
  /**
   * Every part of the boot closure in which `systemPath` differs from the booted system (kernel, initrd, kernel
   * modules) or from the current one (switch inhibitors), with both store paths: what a preview names as the reason.
   */
  bootChanges(systemPath: string): Promise<BootChange[]>;
  /** The booted system's kernel, initrd and kernel modules (reported, so a coordinator with builders can tell a reboot). */
  bootedBootPaths(): Promise<BootPaths>;
  /** Make `systemPath` the system profile and activate it, detached from the agent's process. */
  switch(systemPath: string, signal?: AbortSignal): Promise<ActivationResult>;
  /** Stop a detached switch (or rollback switch) to `systemPath` that is still running; throws NkError IO if it could not be stopped. */
  stopActivation(systemPath: string): Promise<void>;
  /**
   * A trial boot: make `systemPath` the system profile and install its boot entry, keep `fallback` (the last good
   * system) the boot loader's default, arm `systemPath`'s entry for the next boot only, and reboot. A new kernel
   * that hangs or panics is then reset (hardware watchdog, or by hand) into `fallback`. Without a fallback, or on a
   * boot loader without one-shot entries, `systemPath` simply becomes the default. Resolves only if that failed, or
   * once the reboot was asked for.
   */
  bootAndReboot(systemPath: string, fallback: string | null): Promise<ActivationResult>;
  /** Make the (trial-booted, healthy) `systemPath` the boot loader's default. Idempotent. */
  bless(systemPath: string): Promise<ActivationResult>;
  /** Switch back to an explicit earlier system path (idempotent, unlike `--rollback`). */
  rollbackSwitch(systemPath: string, signal?: AbortSignal): Promise<ActivationResult>;
  /** Make an explicit earlier system path the boot default and reboot into it. */
  rollbackBootAndReboot(systemPath: string): Promise<ActivationResult>;
  currentSystem(): Promise<string>;
  bootedSystem(): Promise<string>;
  bootId(): Promise<string>;
  /**
   * The k3s version the system at `systemPath` would run ("1.30.4+k3s1"), from the k3s package in its closure; null
   * when it has no k3s or the version cannot be told. Servers must run a k3s at least as new as an agent's (skew).
   */
  k3sVersion(systemPath: string): Promise<string | null>;
  unitActive(name: string): Promise<boolean>;
  /**
   * Whether the system at `systemPath` defines the unit: a host without k3s (role none) has no k3s.service,
   * so health checks that unit only where the system has it.
   */
  systemHasUnit(systemPath: string, unit: string): Promise<boolean>;
  /**
   * What identifies the agent the running system ships (what a restarted agent would be), or null if
   * unknown: on NixOS the store path behind the nk-agent unit, in the simulator the pinned version.
   * A change after a confirmed switch means the agent must restart into the new one.
   */
  agentIdentity(): Promise<string | null>;
  /**
   * Before a disruption: create the hand-over flag (keepalived's track script fails while it exists, also after a
   * reboot) and, if keepalived runs, stop it so a peer takes the API VIP at once. Harmless on a node without it.
   * Throws NkError IO if the flag cannot be written or keepalived not stopped.
   */
  handOverVip(): Promise<void>;
  /** After the disruption: remove the flag and start keepalived if the running system has it. Idempotent. */
  rejoinVip(): Promise<void>;
  /** Whether `address` (the API VIP) is on one of this machine's interfaces right now. */
  holdsAddress(address: string): Promise<boolean>;
  /**
   * `k3s etcd-snapshot save --name <name>` on a k3s server with embedded etcd (k3s appends the node name and a
   * timestamp to the file it writes). A failure is returned, its error ending with the command's stderr tail.
   */
  etcdSnapshot(name: string, signal?: AbortSignal): Promise<ActivationResult>;
  /** Run a node check (argv, no shell) with a timeout. */
  runCheck(argv: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<CheckRun>;
}

/** The store hash part of a system path: names the transient units of one activation. */
export function storeHashOf(systemPath: string): string {
  const base = systemPath.slice(systemPath.lastIndexOf("/") + 1);
  return base.slice(0, 12) || "unknown";
}
