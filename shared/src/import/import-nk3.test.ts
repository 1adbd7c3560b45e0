// The nk3 importer on the repo's fixture and on broken inputs: names, roles, secrets, notes, errors.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { isNkError } from "../errors/index.js";
import { importNk3 } from "./index.js";

const FIXTURE = readFileSync(new URL("../../../test/fixtures/nk3/inventory.yaml", import.meta.url), "utf8");
const TOKEN = "5e0c61d4-93aa-4b7e-8f12-c0ffee7a11ce";
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnkExampleKeyForDocsOnly0000000000000000 ops@laptop";

function failure(text: string): string {
  try {
    importNk3(text);
  } catch (err) {
    if (isNkError(err, "INVENTORY_INVALID")) return err.message;
    throw err;
  }
  throw new Error("expected the import to fail");
}

const base = (nodes: string, extra = ""): string =>
  `cluster:\n  join_address: 10.0.0.2\n  default_gateway: 10.0.0.1\n  nix_channel: nixos-24.05\n${extra}  nodes:\n${nodes}`;

describe("importNk3 on the fixture", () => {
  const result = importNk3(FIXTURE);
  const doc = parse(result.yaml) as Record<string, Record<string, unknown>>;

  it("maps the cluster settings in the documented key order", () => {
    expect(doc.cluster).toEqual({
      name: "nk3",
      nixpkgs: { channel: "nixos-24.05" },
      timezone: "UTC",
      network: { gateway: "192.168.77.1", prefix_length: 24, nameservers: ["1.1.1.1"], interface: "eth0" },
      admin: { user: "ops", ssh_keys: [] },
      k3s: { token_secret: "k3s-token", api_address: "192.168.77.21" },
      rollout: { max_unavailable: 1, max_unavailable_servers: 1, reboot: "auto", window: null, settle_seconds: 0, checks: [] },
    });
    expect(Object.keys(doc.cluster!)).toEqual(["name", "nixpkgs", "timezone", "network", "admin", "k3s", "rollout"]);
  });

  it("names nodes uuid5(OID, ip), all servers, the initiator as init (`no` and a missing initiator are false), sorted by name", () => {
    expect(doc.nodes).toEqual({
      "47909154-865f-5528-ba4c-cc758abfb00b": { address: "192.168.77.21", role: "server", init: true, boot_device: "/dev/sda" },
      "62200a4d-0b00-5d60-8376-9ab5edb1bf6a": { address: "192.168.77.23", role: "server", boot_device: "/dev/nvme0n1" },
      "d7f726a1-e847-523b-a718-a5021e23f9ed": { address: "192.168.77.22", role: "server", boot_device: "/dev/nvme0n1" },
    });
    expect(Object.keys(doc.nodes!)).toEqual(Object.keys(doc.nodes!).sort());
  });

  it("never writes the join token, in the YAML, the notes or the extra files", () => {
    const everything = [result.yaml, ...result.notes, ...result.extraFiles.keys(), ...result.extraFiles.values()].join("\n");
    expect(FIXTURE).toContain(TOKEN);
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(TOKEN.slice(0, 8));
  });

  it("tells the operator where the token was and how to store it", () => {
    expect(result.notes).toContain(
      "inventory.yaml:4 holds the k3s join token (cluster.join_token); it is NOT copied into the inventory. Before the first rollout store that value in the coordinator: nkctl secret set k3s-token",
    );
  });

  it("notes every default it chose and every node it mapped", () => {
    expect(result.notes).toEqual(
      expect.arrayContaining([
        "192.168.77.21 → node 47909154-865f-5528-ba4c-cc758abfb00b: server, init (clusterInit), boot_device /dev/sda",
        "192.168.77.22 → node d7f726a1-e847-523b-a718-a5021e23f9ed: server, boot_device /dev/nvme0n1",
        "inventory.yaml:6 nix_channel https://nixos.org/channels/nixos-24.05 → nixpkgs.channel nixos-24.05",
        "join_address 192.168.77.21 → k3s.api_address",
        "boot_device stays boot_device, short for boot: { loader: grub-bios, device: ... }: GRUB for BIOS on that disk, as nk3 rendered it (boot.loader.grub.devices); a node that boots UEFI needs boot: { loader: systemd-boot } or { loader: grub-efi } instead (docs/inventory.md)",
        'nk3 has no cluster name: cluster.name is "nk3"',
        'nk3 has no admin user: cluster.admin.user is "ops"',
        "cluster.admin.ssh_keys is empty: add at least one public key before pushing; the inventory does not validate without one (nodes accept no passwords)",
        expect.stringContaining('cluster.network.interface is "eth0" for every node'),
      ]),
    );
    expect(result.notes.some((n) => n.includes("even number"))).toBe(false);
  });

  it("marks the missing ssh key and the token in comments of the YAML", () => {
    expect(result.yaml).toMatch(/^# nk inventory imported from nk3's inventory\.yaml\./);
    expect(result.yaml).toContain("    # Add at least one OpenSSH public key here");
    expect(result.yaml).toContain("nkctl secret set k3s-token");
  });

  it("keeps nk3's node settings in common/nk3.nix", () => {
    expect([...result.extraFiles.keys()]).toEqual(["common/nk3.nix"]);
    expect(result.extraFiles.get("common/nk3.nix")).toContain('boot.kernelModules = [ "rbd" ];');
  });

  it("gives identical bytes every time", () => {
    const again = importNk3(FIXTURE);
    expect(again.yaml).toBe(result.yaml);
    expect(again.notes).toEqual(result.notes);
    expect(importNk3(FIXTURE.replace(/\n/g, "\r\n")).yaml).toBe(result.yaml);
  });
});

describe("importNk3 options and variants", () => {
  it("takes cluster name, interface, admin user and keys from the options", () => {
    const r = importNk3(FIXTURE, "old/inventory.yaml", { clusterName: "prod", interface: "enp1s0", adminUser: "admin", sshKeys: [` ${KEY} `] });
    const c = (parse(r.yaml) as { cluster: Record<string, Record<string, unknown>> }).cluster;
    expect(c.name).toBe("prod");
    expect(c.network!.interface).toBe("enp1s0");
    expect(c.admin).toEqual({ user: "admin", ssh_keys: [KEY] });
    expect(r.notes).toContain("cluster.admin.ssh_keys: 1 key given to the importer");
    expect(r.notes.some((n) => n.startsWith("nk3 has no"))).toBe(false);
    expect(r.notes[0]).toMatch(/^old\/inventory\.yaml: 3 nodes/);
  });

  it("reads YAML 1.1 booleans as nk3 (PyYAML) did, and a channel URL as its name", () => {
    const r = importNk3(base("    10.0.0.2:\n      initiator: yes\n      boot_device: /dev/sda\n").replace("nixos-24.05", "https://nixos.org/channels/nixos-24.05"));
    const doc = parse(r.yaml) as { cluster: { nixpkgs: unknown }; nodes: Record<string, { init?: boolean }> };
    expect(doc.nodes["ab984010-325a-57fa-a04c-78fea2d5fbad"]!.init).toBe(true);
    expect(doc.cluster.nixpkgs).toEqual({ channel: "nixos-24.05" });
    expect(r.notes).toContain("inventory.yaml:4 nix_channel https://nixos.org/channels/nixos-24.05 → nixpkgs.channel nixos-24.05");
  });

  it("warns about an even number of servers and drops unknown keys with a note", () => {
    const nodes = [2, 3, 4, 5].map((i) => `    10.0.0.${i}:\n      initiator: ${i === 2}\n      boot_device: /dev/sda\n      rack: r${i}\n`).join("");
    const r = importNk3(base(nodes, "  flannel_backend: wireguard\n"));
    expect(r.notes).toContain("4 servers: an even number of etcd members tolerates no more failures than 3; consider an odd number of servers");
    expect(r.notes).toContain("inventory.yaml:5 cluster.flannel_backend: not an nk3 key the importer knows, dropped");
    expect(r.notes).toContain("inventory.yaml:10 cluster.nodes.10.0.0.2.rack: not an nk3 key the importer knows, dropped");
    expect(r.yaml).not.toContain("rack");
  });

  it("without join_address or join_token leaves the API address to its default and says how to get the token", () => {
    const r = importNk3("cluster:\n  default_gateway: 10.0.0.1\n  nix_channel: nixos-24.05\n  nodes:\n    10.0.0.7: { initiator: true, boot_device: /dev/vda }\n");
    expect((parse(r.yaml) as { cluster: { k3s: unknown } }).cluster.k3s).toEqual({ token_secret: "k3s-token" });
    expect(r.notes).toContain("no join_address: k3s.api_address is left to its default, the init server's address 10.0.0.7");
    expect(r.notes).toContain(
      "inventory.yaml has no join_token: before the first rollout store the cluster's existing token (/var/lib/rancher/k3s/server/token on the init server 10.0.0.7) with: nkctl secret set k3s-token",
    );
  });
});

describe("importNk3 errors", () => {
  it("allows no initiator only with a join_address (a running cluster), and at most one", () => {
    const none = base("    10.0.0.2:\n      boot_device: /dev/sda\n");
    const imported = importNk3(none);
    expect(imported.notes).toContain(
      "no node has initiator: true: every node joins through join_address 10.0.0.2 (right for a running cluster, whose etcd exists; wrong for a new one, which needs one initiator to create it)",
    );
    expect((parse(imported.yaml) as { nodes: Record<string, unknown> }).nodes).toEqual({
      "ab984010-325a-57fa-a04c-78fea2d5fbad": { address: "10.0.0.2", role: "server", boot_device: "/dev/sda" },
    });
    expect(failure(none.replace("  join_address: 10.0.0.2\n", ""))).toBe(
      "inventory.yaml:4 cluster.nodes: no node has initiator: true and there is no join_address, so the nodes have nothing to join: mark the node that created the cluster with initiator: true, or set join_address",
    );
    const two = base("    10.0.0.2:\n      initiator: true\n      boot_device: /dev/sda\n    10.0.0.3:\n      initiator: true\n      boot_device: /dev/sda\n");
    expect(failure(two)).toBe("inventory.yaml:10 cluster.nodes.10.0.0.3.initiator: several initiators (10.0.0.2, 10.0.0.3); exactly one is allowed");
  });

  it("reports every bad field at once with file, line and field", () => {
    const text = "cluster:\n  default_gateway: 10.0.0.300\n  join_address: [x]\n  nodes:\n    10.0.0.2:\n      initiator: maybe\n    web-1:\n      initiator: true\n      boot_device: /dev/sda\n";
    expect(failure(text)).toBe(
      [
        'inventory.yaml:2 cluster.default_gateway: "10.0.0.300" is not an IPv4 address',
        "inventory.yaml:1 cluster.nix_channel: is required (e.g. nixos-24.05; the importer does not guess a NixOS release)",
        "inventory.yaml:3 cluster.join_address: expected a non-empty string",
        "inventory.yaml:5 cluster.nodes.10.0.0.2.boot_device: is required (the disk the boot loader is installed on)",
        "inventory.yaml:6 cluster.nodes.10.0.0.2.initiator: expected true or false",
        'inventory.yaml:7 cluster.nodes.web-1: "web-1" is not an IPv4 address (nk3 keys nodes by address)',
      ].join("\n"),
    );
  });

  it("refuses what the inventory would not validate: addresses off the gateway's /24, the network, broadcast or gateway address, a channel or disk nk cannot use", () => {
    const nodes = ["10.0.1.5", "10.0.0.0", "10.0.0.255", "10.0.0.1"].map((ip, i) => `    ${ip}:\n      initiator: ${i === 0}\n      boot_device: /dev/sda\n`).join("");
    expect(failure(base(`${nodes}    10.0.0.9:\n      boot_device: sda\n`).replace("nixos-24.05", "https://example.invalid/custom"))).toBe(
      [
        'inventory.yaml:4 cluster.nix_channel: "https://example.invalid/custom" is not a NixOS channel (e.g. https://nixos.org/channels/nixos-24.05 or nixos-24.05)',
        "inventory.yaml:6 cluster.nodes.10.0.1.5: 10.0.1.5 is outside 10.0.0.0/24, the subnet of default_gateway 10.0.0.1 (nk3 put every node there)",
        "inventory.yaml:9 cluster.nodes.10.0.0.0: 10.0.0.0 is the network address of 10.0.0.0/24",
        "inventory.yaml:12 cluster.nodes.10.0.0.255: 10.0.0.255 is the broadcast address of 10.0.0.0/24",
        "inventory.yaml:15 cluster.nodes.10.0.0.1: 10.0.0.1 is the default_gateway address",
        'inventory.yaml:19 cluster.nodes.10.0.0.9.boot_device: expected a device path under /dev (e.g. /dev/sda), got "sda"',
      ].join("\n"),
    );
  });

  it("treats an empty value like a missing one", () => {
    expect(failure("cluster:\n  default_gateway:\n  nix_channel: nixos-24.05\n  nodes:\n    10.0.0.2: { initiator: true, boot_device: }\n")).toBe(
      [
        "inventory.yaml:2 cluster.default_gateway: is required (the nodes' IPv4 gateway)",
        "inventory.yaml:5 cluster.nodes.10.0.0.2.boot_device: is required (the disk the boot loader is installed on)",
      ].join("\n"),
    );
  });

  it("reports missing sections and non-mappings", () => {
    expect(failure("nodes: {}\n")).toBe("inventory.yaml:1 cluster: is required (nk3 keeps everything under cluster:)");
    expect(failure("- a\n")).toBe("inventory.yaml:1 expected a mapping");
    expect(failure("cluster:\n  default_gateway: 10.0.0.1\n  nix_channel: nixos-24.05\n")).toBe("inventory.yaml:1 cluster.nodes: is required (nodes keyed by IPv4 address)");
    expect(failure(base("    10.0.0.2: [a]\n"))).toBe("inventory.yaml:6 cluster.nodes.10.0.0.2: expected a mapping");
  });

  it("reports YAML errors, duplicate keys included, with their line and without echoing the token", () => {
    expect(failure(base("    10.0.0.2:\n      initiator: true\n      boot_device: /dev/sda\n    10.0.0.2:\n      boot_device: /dev/sdb\n"))).toBe(
      "inventory.yaml:9 YAML: duplicate key (each key may appear once)",
    );
    const message = failure(`cluster:\n  join_token: "${TOKEN}\n  default_gateway: 10.0.0.1\n`);
    expect(message).toBe('inventory.yaml:4 YAML: Missing closing "quote');
    expect(message).not.toContain(TOKEN);
  });
});
