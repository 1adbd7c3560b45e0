import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "./format-diagnostic.js";
import { DEFAULT_MANIFEST_SETTINGS } from "./parse-manifest-settings.js";
import { syntheticLockText } from "../lock/synthetic-lock.js";
import { validateInventoryText, validateRepo } from "./validate-repo.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyExampleKeyExampleKeyExampleKey00 ops@laptop";

/** A valid inventory; tests replace one line at a time so positions stay predictable. */
const BASE = `cluster:
  name: lab
  nixpkgs: { channel: nixos-24.11 }
  network: { gateway: 10.0.0.1, prefix_length: 24, interface: enp1s0 }
  admin: { user: ops, ssh_keys: ["${KEY}"] }
  k3s: { token_secret: k3s-token }
nodes:
  n1: { address: 10.0.0.11, role: server, init: true, boot_device: /dev/sda }
  n2: { address: 10.0.0.12, role: server, boot_device: /dev/sda }
  n3: { address: 10.0.0.13, role: server, boot_device: /dev/sda }
  a1: { address: 10.0.0.21, role: agent, boot_device: /dev/sda }
`;

function replaceLine(text: string, line: number, content: string): string {
  const lines = text.split("\n");
  lines[line - 1] = content;
  return lines.join("\n");
}

function problems(text: string, options = {}): string[] {
  return validateInventoryText(text, options).diagnostics.map(formatDiagnostic);
}

describe("validateInventoryText", () => {
  it("accepts the base inventory with defaults filled in", () => {
    const result = validateInventoryText(BASE);
    expect(result.diagnostics).toEqual([]);
    const inv = result.inventory!;
    expect(inv.nodes.map((n) => n.name)).toEqual(["a1", "n1", "n2", "n3"]);
    expect(inv.cluster.stateVersion).toBe("24.11");
    expect(inv.cluster.k3s.apiAddress).toBe("10.0.0.11");
    expect(inv.cluster.rollout).toMatchObject({ maxUnavailable: 1, maxUnavailableServers: 1, reboot: "auto", windows: [], expectedDisruptionSeconds: 900, pools: [], maxUnavailablePer: null, canary: null, blockingPods: null, activationTimeoutSeconds: 300 });
    expect(inv.cluster.network.nameservers).toEqual(["1.1.1.1"]);
    expect(inv.nodes[0]!.interface).toBe("enp1s0");
  });

  const cases: [string, number, string, string[]][] = [
    ["unknown node key", 11, "  a1: { address: 10.0.0.21, role: agent, boot_device: /dev/sda, colour: red }", [
      'inventory.yaml:11:65 nodes.a1.colour: unknown key "colour" (expected one of: address, role, init, interface, system, boot, boot_device, labels, taints, checks, k3s_extra_flags, build_fallback)',
    ]],
    ["unknown cluster key", 2, "  nmae: lab", [
      "inventory.yaml:2:3 cluster.name: is required (cluster name)",
      'inventory.yaml:2:3 cluster.nmae: unknown key "nmae" (expected one of: name, nixpkgs, state_version, timezone, network, admin, k3s, rollout, agent, boot, build)',
    ]],
    ["duplicate node name", 11, "  n1: { address: 10.0.0.21, role: agent, boot_device: /dev/sda }", [
      "inventory.yaml:11:3 nodes.n1: duplicate key \"n1\" (first at line 8); each name may appear once",
    ]],
    ["duplicate address", 11, "  a1: { address: 10.0.0.12, role: agent, boot_device: /dev/sda }", [
      "inventory.yaml:11:18 nodes.a1.address: 10.0.0.12 is already the address of node n2",
    ]],
    ["address outside the subnet", 9, "  n2: { address: 10.0.1.12, role: server, boot_device: /dev/sda }", [
      "inventory.yaml:9:18 nodes.n2.address: 10.0.1.12 is outside the cluster subnet 10.0.0.0/24",
    ]],
    ["address is the gateway", 9, "  n2: { address: 10.0.0.1, role: server, boot_device: /dev/sda }", [
      "inventory.yaml:9:18 nodes.n2.address: 10.0.0.1 is the gateway address",
    ]],
    ["broadcast address", 9, "  n2: { address: 10.0.0.255, role: server, boot_device: /dev/sda }", [
      "inventory.yaml:9:18 nodes.n2.address: 10.0.0.255 is the broadcast address of 10.0.0.0/24",
    ]],
    ["not an IPv4 address", 9, "  n2: { address: 10.0.0.300, role: server, boot_device: /dev/sda }", [
      "inventory.yaml:9:18 nodes.n2.address: \"10.0.0.300\" is not an IPv4 address",
    ]],
    ["bad role", 11, "  a1: { address: 10.0.0.21, role: worker, boot_device: /dev/sda }", [
      'inventory.yaml:11:35 nodes.a1.role: expected one of server, agent, none, got "worker"',
    ]],
    ["init on a host without k3s", 11, "  a1: { address: 10.0.0.21, role: none, init: true, boot_device: /dev/sda }", [
      "inventory.yaml:11:47 nodes.a1.init: only a server can be the init server (clusterInit)",
    ]],
    ["k3s settings on a host without k3s", 11, "  a1: { address: 10.0.0.21, role: none, boot_device: /dev/sda, labels: { a: b }, taints: [], k3s_extra_flags: [--x] }", [
      "inventory.yaml:11:72 nodes.a1.labels: does not apply to role none (no k3s runs there); remove it",
      "inventory.yaml:11:90 nodes.a1.taints: does not apply to role none (no k3s runs there); remove it",
      "inventory.yaml:11:111 nodes.a1.k3s_extra_flags: does not apply to role none (no k3s runs there); remove it",
    ]],
    ["no init server", 8, "  n1: { address: 10.0.0.11, role: server, boot_device: /dev/sda }", [
      "inventory.yaml:8:3 nodes: no server has init: true and cluster.k3s.api_address is not set, so the servers (n1, n2, n3) have nothing to join: set api_address to a running server's (or a load balancer's) address, or mark exactly one server with init: true",
    ]],
    ["several init servers", 9, "  n2: { address: 10.0.0.12, role: server, init: true, boot_device: /dev/sda }", [
      "inventory.yaml:9:49 nodes.n2.init: several init servers (n1, n2): exactly one may have init: true",
    ]],
    ["init on an agent", 11, "  a1: { address: 10.0.0.21, role: agent, init: true, boot_device: /dev/sda }", [
      "inventory.yaml:11:48 nodes.a1.init: only a server can be the init server (clusterInit)",
    ]],
    ["even server count is a warning", 11, "  a1: { address: 10.0.0.21, role: server, boot_device: /dev/sda }", [
      "inventory.yaml:8:3 warning: nodes: 4 servers: an even number of etcd members tolerates no more failures than 3; use an odd number",
    ]],
    ["missing boot settings", 11, "  a1: { address: 10.0.0.21, role: agent }", [
      "inventory.yaml:11:7 nodes.a1.boot: is required (or set cluster.boot as the default): { loader: systemd-boot } for a UEFI machine, { loader: grub-bios, device: /dev/sda } for a BIOS one",
    ]],
    ["boot device not under /dev", 11, "  a1: { address: 10.0.0.21, role: agent, boot_device: sda }", [
      'inventory.yaml:11:55 nodes.a1.boot_device: expected a device path under /dev, got "sda"',
    ]],
    ["bad node name", 11, "  A_1: { address: 10.0.0.21, role: agent, boot_device: /dev/sda }", [
      "inventory.yaml:11:8 nodes.A_1: \"A_1\" is not a valid node name (a DNS label: lower-case letters, digits, '-')",
    ]],
    ["missing network", 4, "  timezone: UTC", [
      "inventory.yaml:2:3 cluster.network: is required (gateway, prefix_length)",
      "inventory.yaml:8:7 nodes.n1.interface: is required (or set cluster.network.interface as the default)",
      "inventory.yaml:9:7 nodes.n2.interface: is required (or set cluster.network.interface as the default)",
      "inventory.yaml:10:7 nodes.n3.interface: is required (or set cluster.network.interface as the default)",
      "inventory.yaml:11:7 nodes.a1.interface: is required (or set cluster.network.interface as the default)",
    ]],
    ["prefix length out of range", 4, "  network: { gateway: 10.0.0.1, prefix_length: 33, interface: enp1s0 }", [
      "inventory.yaml:4:48 cluster.network.prefix_length: must be between 1 and 32, got 33",
    ]],
    ["no ssh keys", 5, "  admin: { user: ops, ssh_keys: [] }", [
      "inventory.yaml:5:33 cluster.admin.ssh_keys: needs at least one public key (there are no passwords)",
    ]],
    ["not an ssh key", 5, '  admin: { user: ops, ssh_keys: ["hunter2"] }', [
      'inventory.yaml:5:33 cluster.admin.ssh_keys[0]: is not an OpenSSH public key ("ssh-ed25519 AAAA... comment")',
    ]],
    ["missing token secret", 6, "  k3s: {}", [
      "inventory.yaml:6:8 cluster.k3s.token_secret: is required (name of a secret in the coordinator's store)",
    ]],
    ["both channel and flake", 3, "  nixpkgs: { channel: nixos-24.11, flake: \"github:NixOS/nixpkgs/abc\" }", [
      "inventory.yaml:3:12 cluster.nixpkgs: needs exactly one of channel or flake",
    ]],
    ["bad channel", 3, "  nixpkgs: { channel: unstable }", [
      'inventory.yaml:2:3 cluster.state_version: is required when nixpkgs is not a versioned channel (e.g. "24.11")',
      'inventory.yaml:3:23 cluster.nixpkgs.channel: "unstable" is not a NixOS channel (e.g. nixos-24.11, nixos-unstable)',
    ]],
    ["a string where a number belongs", 4, "  network: { gateway: 10.0.0.1, prefix_length: wide, interface: enp1s0 }", [
      'inventory.yaml:4:48 cluster.network.prefix_length: expected an integer, got the string "wide"',
    ]],
    ["YAML syntax error", 9, "  n2: { address: 10.0.0.12, role: server", [
      "inventory.yaml:10:3 YAML: Flow map in block collection must be sufficiently indented and end with a }",
    ]],
    // The errors after the first line with any are one line: a tab's echoes must not bury the tab.
    ["a tab used as indentation", 2, "\tname: lab", [
      "inventory.yaml:2:1 YAML: Tabs are not allowed as indentation",
      "inventory.yaml:2:8 YAML: Nested mappings are not allowed in compact mappings",
      "inventory.yaml:2:8 YAML: Implicit keys need to be on a single line",
      "inventory.yaml:4:1 YAML: 3 more syntax errors on lines 4, 5, 6 (All mapping items must start at the same column), which may follow from the one on line 2: fix that first",
    ]],
  ];

  for (const [name, line, content, expected] of cases) {
    it(`reports ${name}`, () => {
      expect(problems(replaceLine(BASE, line, content))).toEqual(expected);
      expect(validateInventoryText(replaceLine(BASE, line, content)).inventory === null).toBe(!name.includes("warning"));
    });
  }

  it("warns, and still accepts, a bootstrapped cluster without an init server that names its API address", () => {
    let text = replaceLine(BASE, 6, "  k3s: { token_secret: k3s-token, api_address: 10.0.0.11 }");
    text = replaceLine(text, 8, "  n1: { address: 10.0.0.11, role: server, boot_device: /dev/sda }");
    const result = validateInventoryText(text);
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      "inventory.yaml:8:3 warning: nodes: no server has init: true, so every server joins https://10.0.0.11:6443: right for a running cluster (its etcd exists), wrong for a new one (nothing would create it: mark exactly one server with init: true)",
    ]);
    expect(result.inventory?.nodes.filter((n) => n.init)).toEqual([]);
    expect(result.inventory?.cluster.k3s.apiAddress).toBe("10.0.0.11");
  });

  it("accepts a host without k3s (role none) and does not count it as a server", () => {
    const result = validateInventoryText(replaceLine(BASE, 10, "  n3: { address: 10.0.0.13, role: none, boot_device: /dev/sda }"));
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      "inventory.yaml:8:3 warning: nodes: 2 servers: an even number of etcd members tolerates no more failures than 1; use an odd number",
    ]);
    expect(result.inventory?.nodes.map((n) => [n.name, n.role])).toEqual([["a1", "agent"], ["n1", "server"], ["n2", "server"], ["n3", "none"]]);
  });

  it("reports a missing secret only when the coordinator's secrets are known", () => {
    expect(problems(BASE)).toEqual([]);
    expect(problems(BASE, { knownSecrets: new Set(["other"]) })).toEqual([
      "inventory.yaml:6:24 cluster.k3s.token_secret: secret \"k3s-token\" does not exist in the coordinator (set it with: nkctl secret set k3s-token)",
    ]);
    expect(problems(BASE, { knownSecrets: new Set(["k3s-token"]) })).toEqual([]);
  });

  it("reports every problem at once, sorted by position", () => {
    let text = replaceLine(BASE, 9, "  n2: { address: 10.0.1.12, role: server, boot_device: /dev/sda }");
    text = replaceLine(text, 11, "  a1: { address: 10.0.0.21, role: worker, boot_device: /dev/sda }");
    text = replaceLine(text, 5, "  admin: { user: ops, ssh_keys: [] }");
    expect(problems(text)).toEqual([
      "inventory.yaml:5:33 cluster.admin.ssh_keys: needs at least one public key (there are no passwords)",
      "inventory.yaml:9:18 nodes.n2.address: 10.0.1.12 is outside the cluster subnet 10.0.0.0/24",
      'inventory.yaml:11:35 nodes.a1.role: expected one of server, agent, none, got "worker"',
    ]);
  });

  it("validates checks: exactly one kind, known targets, unique names", () => {
    const text = BASE.replace("  k3s: { token_secret: k3s-token }\n", `  k3s: { token_secret: k3s-token }
  rollout:
    checks:
      - { name: ceph, command: "ceph health", expect: HEALTH_OK, on: any-server }
      - { name: ceph, http: { url: "http://127.0.0.1:1/x" } }
      - { name: both, command: true, http: { url: "http://127.0.0.1:1/x" } }
      - { name: where, command: [uptime], on: n9 }
      - { name: web, http: { url: "ftp://x" } }
`);
    expect(problems(text)).toEqual([
      "inventory.yaml:10:17 cluster.rollout.checks[1].name: duplicate check name \"ceph\"",
      "inventory.yaml:11:9 cluster.rollout.checks[2]: a check needs exactly one of command, http, prometheus, promql (command and http are set)",
      'inventory.yaml:12:47 cluster.rollout.checks[3].on: "n9" is neither any-server, all-servers, all nor a node name',
      'inventory.yaml:13:35 cluster.rollout.checks[4].http.url: expected an http:// or https:// URL, got "ftp://x"',
    ]);
    const ok = validateInventoryText(text.split("\n").slice(0, 10).join("\n").replace("name: ceph, http", "name: api, http") + "\nnodes:\n" + BASE.split("nodes:\n")[1]);
    expect(ok.inventory?.cluster.rollout.checks).toEqual([
      { name: "ceph", spec: { kind: "command", command: ["ceph", "health"], expect: "HEALTH_OK" }, on: "any-server", timeoutSeconds: 30 },
      { name: "api", spec: { kind: "http", url: "http://127.0.0.1:1/x", expectStatus: 200 }, on: "any-server", timeoutSeconds: 30 },
    ]);
  });

  it("reads the activation timeout and rejects one too short to activate anything", () => {
    const at = (v: string) => BASE.replace("  k3s: { token_secret: k3s-token }\n", `  k3s: { token_secret: k3s-token }\n  rollout: { activation_timeout_seconds: ${v} }\n`);
    expect(validateInventoryText(at("600")).inventory?.cluster.rollout.activationTimeoutSeconds).toBe(600);
    expect(problems(at("5"))).toEqual(["inventory.yaml:7:42 cluster.rollout.activation_timeout_seconds: must be between 10 and 86400, got 5"]);
  });

  it("reads a maintenance window and rejects a bad one", () => {
    const good = BASE.replace("  k3s: { token_secret: k3s-token }\n", "  k3s: { token_secret: k3s-token }\n  rollout: { window: { days: [sat, sun], start: \"22:30\", end: \"04:00\" } }\n");
    expect(validateInventoryText(good).inventory?.cluster.rollout.windows).toEqual([{ days: ["sat", "sun"], startMinute: 1350, endMinute: 240 }]);
    const bad = good.replace('"04:00"', '"25:00"').replace("sun]", "sunday]");
    expect(problems(bad)).toEqual([
      'inventory.yaml:7:30 cluster.rollout.window.days[1]: expected one of mon, tue, wed, thu, fri, sat, sun, got "sunday"',
      'inventory.yaml:7:66 cluster.rollout.window.end: expected HH:MM (UTC), got "25:00"',
    ]);
  });

  it("rejects an empty file and a non-mapping root", () => {
    expect(problems("")).toEqual(["inventory.yaml:1:1 the inventory is empty (expected cluster: and nodes:)"]);
    expect(problems("- a\n")).toEqual(["inventory.yaml:1:1 expected a mapping, got a list"]);
  });

  it("gives the same model whatever the key order", () => {
    const reordered = `nodes:
  a1: { role: agent, boot_device: /dev/sda, address: 10.0.0.21 }
  n3: { boot_device: /dev/sda, address: 10.0.0.13, role: server }
  n2: { address: 10.0.0.12, role: server, boot_device: /dev/sda }
  n1: { init: true, address: 10.0.0.11, role: server, boot_device: /dev/sda }
cluster:
  k3s: { token_secret: k3s-token }
  admin: { ssh_keys: ["${KEY}"], user: ops }
  network: { interface: enp1s0, prefix_length: 24, gateway: 10.0.0.1 }
  nixpkgs: { channel: nixos-24.11 }
  name: lab
`;
    expect(validateInventoryText(reordered).inventory).toEqual(validateInventoryText(BASE).inventory);
  });
});

describe("validateRepo", () => {
  it("requires inventory.yaml", () => {
    expect(validateRepo(new Map()).diagnostics.map(formatDiagnostic)).toEqual(["inventory.yaml:1:1 missing: the repo root must contain inventory.yaml"]);
  });

  it("checks extra files against the nodes and manifests for YAML errors", () => {
    const files = new Map([
      ["inventory.yaml", BASE],
      ["nk.lock", syntheticLockText(BASE, "http://10.0.0.2:7080/nk/source/nk-0.1.0.tar.gz")],
      ["nodes/n1.nix", "{ }"],
      ["nodes/ghost.nix", "{ }"],
      ["common/sub/x.nix", "{ }"],
      ["manifests/ok.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n---\n"],
      ["manifests/bad.yaml", "a: 1\n---\nb: [1,\n"],
      ["README.md", "anything"],
    ]);
    const result = validateRepo(files);
    expect(result.inventory).toBeNull();
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      "common/sub/x.nix:1:1 common/ holds only *.nix files",
      "manifests/bad.yaml:4:1 YAML: Flow sequence in block collection must be sufficiently indented and end with a ]",
      'nodes/ghost.nix:1:1 extra config for unknown node "ghost" (nodes: a1, n1, n2, n3)',
    ]);
  });
});

describe("the manifests: section of inventory.yaml", () => {
  it("defaults to applying after the servers converge, conflicts reported", () => {
    expect(validateInventoryText(BASE).inventory?.manifests).toEqual(DEFAULT_MANIFEST_SETTINGS);
    expect(DEFAULT_MANIFEST_SETTINGS).toMatchObject({ apply: "after-servers", forceConflicts: false, defaultNamespace: "default" });
  });

  it("reads every key and reports bad values at their position", () => {
    const ok = `${BASE}manifests:\n  apply: manual\n  force_conflicts: true\n  default_namespace: apps\n  protect: { namespaces: [kube-system], kinds: [PersistentVolumeClaim, Certificate.cert-manager.io] }\n  bootstrap: [cni.yaml]\n`;
    expect(validateInventoryText(ok).inventory?.manifests).toEqual({ apply: "manual", forceConflicts: true, defaultNamespace: "apps", protectNamespaces: ["kube-system"], protectKinds: ["PersistentVolumeClaim", "Certificate.cert-manager.io"], bootstrap: ["cni.yaml"] });
    const bad = `${BASE}manifests:\n  apply: sometimes\n  protect: { kinds: [pvc] }\n  bootstrap: [sub/cni.yaml]\n  prune: false\n`;
    expect(validateInventoryText(bad).diagnostics.map(formatDiagnostic)).toEqual([
      'inventory.yaml:13:10 manifests.apply: expected one of after-servers, immediately, manual, got "sometimes"',
      'inventory.yaml:14:22 manifests.protect.kinds[0]: "pvc" is not a kind (Kind or Kind.group, e.g. PersistentVolumeClaim or Certificate.cert-manager.io)',
      'inventory.yaml:15:15 manifests.bootstrap[0]: "sub/cni.yaml" is not a file name directly in manifests/ (e.g. cni.yaml)',
      'inventory.yaml:16:3 manifests.prune: unknown key "prune" (expected one of: apply, force_conflicts, default_namespace, protect, bootstrap)',
    ]);
  });
});
