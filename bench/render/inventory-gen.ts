// Generates a large, realistic inventory repo (YAML text plus nodes/, common/, manifests/) for the benchmarks.
import type { RepoFiles } from "../../shared/src/inventory/index.js";
import { LOCK_FILE } from "../../shared/src/lock/index.js";
import { addSyntheticLocks } from "../../shared/src/lock/synthetic-lock.js";
import { EXAMPLE_NK_SOURCE } from "../../shared/src/render/test-inventory.js";

export interface GenOptions {
  readonly nodes: number;
  /** Odd, for etcd quorum; default 5. */
  readonly servers?: number;
  /** Every n-th agent gets a nodes/<name>.nix; default 50. */
  readonly nodeFileEvery?: number;
}

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnkExampleKeyForDocsOnly0000000000000000 ops@laptop";
const ZONES = ["rack-a", "rack-b", "rack-c", "rack-d"];

/** 10.20.0.0/18 holds 16,382 hosts; index 0 is 10.20.0.10 so the gateway (.1) is never used. */
export function addressOf(index: number): string {
  const host = index + 10;
  return `10.20.${host >> 8}.${host & 255}`;
}

export function nodeName(index: number, servers: number): string {
  return index < servers ? `s${String(index + 1).padStart(2, "0")}` : `w${String(index - servers + 1).padStart(5, "0")}`;
}

function clusterYaml(name: string): string {
  return `# Generated benchmark inventory.
cluster:
  name: ${name}
  nixpkgs: { channel: nixos-24.11 }
  timezone: UTC
  network:
    gateway: 10.20.0.1
    prefix_length: 18
    nameservers: [1.1.1.1, 9.9.9.9]
    interface: enp1s0
  admin:
    user: ops
    ssh_keys:
      - "${KEY}"
  k3s:
    token_secret: k3s-token
    disable: [traefik, servicelb]
    extra_flags: ["--kubelet-arg=max-pods=200"]
  rollout:
    max_unavailable: 10
    max_unavailable_servers: 1
    reboot: auto
    window: { days: [mon, tue, wed, thu], start: "01:00", end: "05:00" }
    settle_seconds: 30
    checks:
      - { name: ceph, command: "ceph health", expect: HEALTH_OK, on: any-server }
      - { name: api, http: { url: "https://10.20.0.10:6443/readyz", expect_status: 200 } }
nodes:
`;
}

function nodeYaml(index: number, servers: number): string {
  const name = nodeName(index, servers);
  const address = addressOf(index);
  if (index < servers) {
    return `  ${name}: { address: ${address}, role: server, ${index === 0 ? "init: true, " : ""}boot_device: /dev/nvme0n1, labels: { zone: ${ZONES[index % ZONES.length]} } }\n`;
  }
  const lines = [`  ${name}:`, `    address: ${address}`, "    role: agent", "    boot_device: /dev/sda", `    labels: { zone: ${ZONES[index % ZONES.length]}, disk: ${index % 3 === 0 ? "hdd" : "ssd"} }`];
  if (index % 10 === 0) lines.push('    taints: ["dedicated=storage:NoSchedule"]');
  if (index % 7 === 0) lines.push("    interface: eno1");
  if (index % 25 === 0) lines.push('    checks:\n      - { name: zfs, command: [zpool, status, -x], expect: "all pools are healthy" }');
  return `${lines.join("\n")}\n`;
}

export function nodeNix(name: string): string {
  return `# Extra configuration for ${name}.
{ config, pkgs, ... }:
{
  hardware.cpu.intel.updateMicrocode = true;
  boot.kernel.sysctl."vm.swappiness" = 10;
}
`;
}

/** The whole repo as RepoFiles; inventory.yaml is one YAML text as an operator would push it. */
export function generateRepo(options: GenOptions): RepoFiles {
  const servers = options.servers ?? 5;
  const every = options.nodeFileEvery ?? 50;
  const parts = [clusterYaml(`bench-${options.nodes}`)];
  const files = new Map<string, string>();
  for (let i = 0; i < options.nodes; i++) {
    parts.push(nodeYaml(i, servers));
    if (i >= servers && (i - servers) % every === 0) files.set(`nodes/${nodeName(i, servers)}.nix`, nodeNix(nodeName(i, servers)));
  }
  files.set("inventory.yaml", parts.join(""));
  // nixpkgs and the agent's source must be locked (nk.lock): synthetic locks, as the simulated clusters use.
  files.set(LOCK_FILE, addSyntheticLocks(files.get("inventory.yaml")!, undefined, EXAMPLE_NK_SOURCE)!);
  files.set("common/monitoring.nix", "{ ... }:\n{\n  services.prometheus.exporters.node.enable = true;\n}\n");
  files.set("common/ssh.nix", "{ ... }:\n{\n  services.openssh.settings.PasswordAuthentication = false;\n}\n");
  files.set("manifests/hello.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: hello\n");
  return files;
}
