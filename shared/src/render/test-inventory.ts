// Typed test fixtures: examples/homelab as an Inventory object (defaults filled in) and helpers to vary it.
import type { ApiVip, ClusterSettings, Inventory, NodeSpec } from "../inventory/model.js";
import { DEFAULT_MANIFEST_SETTINGS } from "../inventory/parse-manifest-settings.js";
import { renderNkLock, type BundleInputs } from "../lock/index.js";
import { nixpkgsUrl } from "./nixpkgs-url.js";
import { syntheticLock, syntheticLockedInput } from "../lock/synthetic-lock.js";

export const EXAMPLE_SSH_KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnkExampleKeyForDocsOnly0000000000000000 ops@laptop";

export function exampleCluster(): ClusterSettings {
  return {
    name: "homelab",
    nixpkgs: { channel: "nixos-24.11" },
    stateVersion: "24.11",
    timezone: "UTC",
    network: { gateway: "172.30.190.1", prefixLength: 24, nameservers: ["1.1.1.1", "9.9.9.9"], interface: "enp1s0" },
    admin: { user: "ops", sshKeys: [EXAMPLE_SSH_KEY] },
    k3s: { tokenSecret: "k3s-token", apiAddress: "172.30.190.3", extraFlags: [], disable: ["traefik"] },
    rollout: {
      maxUnavailable: 1,
      maxUnavailableServers: 1,
      reboot: "auto",
      windows: [],
      expectedDisruptionSeconds: 900,
      pools: [],
      maxUnavailablePer: null,
      canary: null,
      blockingPods: null,
      settleSeconds: 0,
      healthDeadlineSeconds: 300,
      drainTimeoutSeconds: 600,
      rebootTimeoutSeconds: 900,
      activationTimeoutSeconds: 300,
      fleetlock: { groups: [] },
      etcdSnapshot: true,
      checks: [
        {
          name: "ceph",
          spec: { kind: "command", command: ["ceph", "health"], expect: "HEALTH_OK" },
          on: "any-server",
          timeoutSeconds: 30,
        },
      ],
    },
    agent: { version: "0.1.0" },
    build: { mode: "local" },
  };
}

/** A node with the example's defaults; `patch` overrides any field. */
export function makeNode(name: string, address: string, patch: Partial<NodeSpec> = {}): NodeSpec {
  return {
    name,
    address,
    role: "server",
    init: false,
    interface: "enp1s0",
    system: "x86_64-linux",
    boot: { loader: "grub-bios", device: "/dev/nvme0n1" },
    labels: {},
    taints: [],
    checks: [],
    k3sExtraFlags: [],
    ...patch,
  };
}

/** examples/homelab/inventory.yaml, as the parser would produce it. */
export function exampleInventory(): Inventory {
  return {
    cluster: exampleCluster(),
    manifests: DEFAULT_MANIFEST_SETTINGS,
    nodes: [
      makeNode("n1", "172.30.190.3", { init: true }),
      makeNode("n2", "172.30.190.4"),
      makeNode("n3", "172.30.190.5"),
      makeNode("n4", "172.30.190.6", { role: "agent", boot: { loader: "grub-bios", device: "/dev/sda" }, labels: { disk: "ssd" } }),
      makeNode("n5", "172.30.190.7", {
        role: "agent",
        interface: "eno1",
        boot: { loader: "grub-bios", device: "/dev/sda" },
        checks: [{ name: "nvme-present", command: ["test", "-e", "/dev/sda"], expect: "", timeoutSeconds: 30 }],
      }),
    ],
  };
}

/** Where the example's nk.lock says the coordinator serves nk (an example address: nothing fetches it). */
export const EXAMPLE_NK_SOURCE = "http://172.30.190.2:7080/nk/source/nk-0.1.0.tar.gz";

/** examples/homelab/nk.lock: both channels the docs and tests switch between, and the coordinator's source; synthetic. */
export function exampleLockText(): string {
  return renderNkLock(syntheticLock(["github:NixOS/nixpkgs/nixos-24.11", "github:NixOS/nixpkgs/nixos-25.05"], EXAMPLE_NK_SOURCE));
}

/** Synthetic locked inputs for any two references. */
export function testInputs(nixpkgs = "github:NixOS/nixpkgs/nixos-24.11", nk = EXAMPLE_NK_SOURCE): BundleInputs {
  return { nixpkgs: { url: nixpkgs, ...syntheticLockedInput(nixpkgs) }, nk: { url: nk, ...syntheticLockedInput(nk) } };
}

/** Repo files holding only an nk.lock that locks what `inventory` uses (for renders of a variant inventory). */
export function lockFilesFor(inventory: Inventory, extra: ReadonlyMap<string, string> = new Map()): Map<string, string> {
  const urls = [nixpkgsUrl(inventory.cluster.nixpkgs), inventory.cluster.agent.flake ?? EXAMPLE_NK_SOURCE];
  return new Map([...extra, ["nk.lock", renderNkLock(syntheticLock(urls, EXAMPLE_NK_SOURCE))]]);
}

/** The example's extra files (nk.lock, nodes/, common/, manifests/), as read from the repo. */
export function exampleRepoFiles(): Map<string, string> {
  return new Map([
    ["nk.lock", exampleLockText()],
    [
      "common/monitoring.nix",
      "# Shared by every node: node exporter for Prometheus.\n{ config, pkgs, ... }:\n{\n  services.prometheus.exporters.node.enable = true;\n}\n",
    ],
    ["manifests/hello.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: hello\n"],
    [
      "nodes/n5.nix",
      "# Extra NixOS configuration for n5 only.\n{ config, pkgs, ... }:\n{\n  hardware.cpu.intel.updateMicrocode = true;\n}\n",
    ],
  ]);
}

export function withCluster(inv: Inventory, patch: Partial<ClusterSettings>): Inventory {
  return { ...inv, cluster: { ...inv.cluster, ...patch } };
}

export function withNode(inv: Inventory, name: string, patch: Partial<NodeSpec>): Inventory {
  return { ...inv, nodes: inv.nodes.map((n) => (n.name === name ? { ...n, ...patch } : n)) };
}

/** The example with the API on the VIP 172.30.190.10, carried by every server unless `api` says otherwise. */
export function vipInventory(api: Partial<ApiVip> = {}): Inventory {
  const inv = exampleInventory();
  const vip: ApiVip = { vip: "172.30.190.10", on: "servers", vrrpPasswordSecret: "vrrp-password", ...api };
  return withCluster(inv, { k3s: { ...inv.cluster.k3s, apiAddress: vip.vip, api: vip } });
}

/** The VIP carried by two load balancer hosts (role none, lb1 then lb2) that run haproxy in front of the servers. */
export function lbInventory(): Inventory {
  const inv = vipInventory({ on: ["lb1", "lb2"] });
  return withNodes(inv, [...inv.nodes, makeNode("lb1", "172.30.190.31", { role: "none" }), makeNode("lb2", "172.30.190.32", { role: "none" })]);
}

export function withNodes(inv: Inventory, nodes: readonly NodeSpec[]): Inventory {
  return { ...inv, nodes };
}

/** `count` nodes in a /16: three servers (the first is init), the rest agents with a label and a check. */
export function scaledInventory(count: number): Inventory {
  const nodes: NodeSpec[] = [];
  for (let i = 0; i < count; i++) {
    const name = `node-${String(i).padStart(5, "0")}`;
    const address = `10.20.${Math.floor((i + 10) / 250)}.${((i + 10) % 250) + 1}`;
    nodes.push(
      i < 3
        ? makeNode(name, address, { init: i === 0 })
        : makeNode(name, address, {
            role: "agent",
            labels: { rack: `r${i % 40}`, disk: "ssd" },
            checks: [{ name: "disk", command: ["test", "-b", "/dev/sda"], expect: "", timeoutSeconds: 10 }],
          }),
    );
  }
  const base = exampleCluster();
  return {
    cluster: {
      ...base,
      network: { ...base.network, gateway: "10.20.0.1", prefixLength: 16 },
      k3s: { ...base.k3s, apiAddress: nodes[0]?.address ?? "10.20.0.11" },
    },
    manifests: DEFAULT_MANIFEST_SETTINGS,
    nodes,
  };
}
