import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "./format-diagnostic.js";
import { validateInventoryText } from "./validate-repo.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyExampleKeyExampleKeyExampleKey00 ops@laptop";

/** Line 7 holds `api:`; tests replace it to vary the VIP settings. */
function inventory(api: string, extraNodes = ""): string {
  return `cluster:
  name: lab
  nixpkgs: { channel: nixos-24.11 }
  network: { gateway: 10.0.0.1, prefix_length: 24, interface: enp1s0 }
  admin: { user: ops, ssh_keys: ["${KEY}"] }
  k3s:
    token_secret: k3s-token
    api: ${api}
nodes:
  n1: { address: 10.0.0.11, role: server, init: true, boot_device: /dev/sda }
  n2: { address: 10.0.0.12, role: server, boot_device: /dev/sda }
  n3: { address: 10.0.0.13, role: server, boot_device: /dev/sda }
  a1: { address: 10.0.0.21, role: agent, boot_device: /dev/sda }
${extraNodes}`;
}

function problems(text: string, options = {}): string[] {
  return validateInventoryText(text, options).diagnostics.map(formatDiagnostic);
}

describe("cluster.k3s.api (a VIP for the Kubernetes API)", () => {
  it("reads the VIP with defaults: every server carries it, nodes join through it", () => {
    const result = validateInventoryText(inventory("{ vip: 10.0.0.10 }"));
    expect(result.diagnostics).toEqual([]);
    expect(result.inventory!.cluster.k3s.api).toEqual({ vip: "10.0.0.10", on: "servers", vrrpPasswordSecret: "vrrp-password" });
    expect(result.inventory!.cluster.k3s.apiAddress).toBe("10.0.0.10");
  });

  it("reads an interface, a carrier list in its own order and a secret name", () => {
    const result = validateInventoryText(inventory("{ vip: 10.0.0.10, interface: eth1, on: [n3, n1], vrrp_password_secret: api-vrrp }"));
    expect(result.diagnostics).toEqual([]);
    expect(result.inventory!.cluster.k3s.api).toEqual({ vip: "10.0.0.10", interface: "eth1", on: ["n3", "n1"], vrrpPasswordSecret: "api-vrrp" });
  });

  it("rejects a VIP outside the subnet, a node's address, the gateway and the broadcast address", () => {
    expect(problems(inventory("{ vip: 10.0.1.10 }"))).toEqual(["inventory.yaml:8:17 cluster.k3s.api.vip: 10.0.1.10 is outside the cluster subnet 10.0.0.0/24"]);
    expect(problems(inventory("{ vip: 10.0.0.12 }"))).toEqual(["inventory.yaml:8:17 cluster.k3s.api.vip: 10.0.0.12 is the address of node n2: the VIP must be an address no node has"]);
    expect(problems(inventory("{ vip: 10.0.0.1 }"))).toEqual(["inventory.yaml:8:17 cluster.k3s.api.vip: 10.0.0.1 is the gateway address: the VIP must be an address no host has"]);
    expect(problems(inventory("{ vip: 10.0.0.255 }"))).toEqual(["inventory.yaml:8:17 cluster.k3s.api.vip: 10.0.0.255 is the broadcast address of 10.0.0.0/24"]);
    expect(problems(inventory("{ vip: nope }"))).toEqual(['inventory.yaml:8:17 cluster.k3s.api.vip: "nope" is not an IPv4 address']);
    expect(problems(inventory("{ on: servers }"))).toEqual(["inventory.yaml:8:10 cluster.k3s.api.vip: is required (an unused IPv4 address in the cluster subnet)"]);
  });

  it("rejects carriers that are unknown, named twice or not servers, and a bad on", () => {
    expect(problems(inventory("{ vip: 10.0.0.10, on: [n1, n9, n1, a1] }"))).toEqual([
      'inventory.yaml:8:37 cluster.k3s.api.on[1]: "n9" is not a node (nodes: a1, n1, n2, n3)',
      'inventory.yaml:8:41 cluster.k3s.api.on[2]: "n1" is named twice',
      'inventory.yaml:8:45 cluster.k3s.api.on[3]: "a1" is an agent: the VIP is carried by servers (their own API answers) or by load balancer hosts (role: none, which run haproxy)',
    ]);
    expect(problems(inventory("{ vip: 10.0.0.10, on: agents }"))).toEqual(['inventory.yaml:8:32 cluster.k3s.api.on: expected servers or a list of node names, got "agents"']);
  });

  it("accepts load balancer hosts (role none) as carriers", () => {
    const lbs = "  lb1: { address: 10.0.0.31, role: none, boot_device: /dev/sda }\n  lb2: { address: 10.0.0.32, role: none, boot_device: /dev/sda }\n";
    const result = validateInventoryText(inventory("{ vip: 10.0.0.10, on: [lb1, lb2] }", lbs));
    expect(result.diagnostics).toEqual([]);
    expect(result.inventory!.cluster.k3s.api!.on).toEqual(["lb1", "lb2"]);
    // on: servers never picks them up: a load balancer carries the VIP only when named.
    expect(validateInventoryText(inventory("{ vip: 10.0.0.10 }", lbs)).diagnostics).toEqual([]);
  });

  it("warns that a single carrier is a single point of failure", () => {
    const result = validateInventoryText(inventory("{ vip: 10.0.0.10, on: [n2] }"));
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      "inventory.yaml:8:32 warning: cluster.k3s.api.on: only n2 carries the VIP 10.0.0.10: it is a single point of failure (name at least two servers or load balancer hosts in on)",
    ]);
    expect(result.inventory).not.toBeNull();
  });

  it("rejects an api_address that is not the VIP", () => {
    const text = inventory("{ vip: 10.0.0.10 }").replace("    token_secret: k3s-token\n", "    token_secret: k3s-token\n    api_address: 10.0.0.11\n");
    expect(problems(text)).toEqual([
      "inventory.yaml:8:18 cluster.k3s.api_address: 10.0.0.11 differs from cluster.k3s.api.vip 10.0.0.10: with a VIP nodes join through the VIP (remove api_address)",
    ]);
    expect(problems(text.replace("api_address: 10.0.0.11", "api_address: 10.0.0.10"))).toEqual([]);
  });

  it("reports a missing VRRP password secret only when the coordinator's secrets are known", () => {
    expect(problems(inventory("{ vip: 10.0.0.10 }"), { knownSecrets: new Set(["k3s-token"]) })).toEqual([
      'inventory.yaml:8:10 cluster.k3s.api: secret "vrrp-password" does not exist in the coordinator (set it with: nkctl secret set vrrp-password)',
    ]);
    expect(problems(inventory("{ vip: 10.0.0.10 }"), { knownSecrets: new Set(["k3s-token", "vrrp-password"]) })).toEqual([]);
  });
});
