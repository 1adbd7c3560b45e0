// The csv plans importer on the repo's fixtures and on broken inputs: roles, init, addresses, notes, errors.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { isNkError } from "../errors/index.js";
import { importPlans, type PlansInput } from "./index.js";

const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/plans/${name}`, import.meta.url), "utf8");
const FIXTURE: PlansInput = { hostsCsv: fixture("hosts.csv"), k3sCsv: fixture("k3s.csv"), networkYaml: fixture("network.yaml") };

const HOSTS = "name,interface,ip,admin\na,eth0,10.0.0.2,ops\nb,eth0,10.0.0.3,ops\nc,eth0,10.0.0.4,ops\n";
const NETWORK = "gateway: 10.0.0.1\nprefix_length: 24\n";
const input = (k3sCsv: string, over: Partial<PlansInput> = {}): PlansInput => ({ hostsCsv: HOSTS, k3sCsv, networkYaml: NETWORK, ...over });

function failure(i: PlansInput): string {
  try {
    importPlans(i);
  } catch (err) {
    if (isNkError(err, "INVENTORY_INVALID")) return err.message;
    throw err;
  }
  throw new Error("expected the import to fail");
}

interface Doc {
  cluster: Record<string, Record<string, unknown>>;
  nodes: Record<string, Record<string, unknown>>;
}

describe("importPlans on the fixture", () => {
  const result = importPlans(FIXTURE);
  const doc = parse(result.yaml) as Doc;

  it("maps one node per host at the host address, server winning, init on the init-server host, role none without a k3s row", () => {
    expect(doc.nodes).toEqual({
      birch: { address: "192.168.88.11", role: "server", init: true, interface: "enp3s0", boot_device: "/dev/sda" },
      cedar: { address: "192.168.88.12", role: "server", interface: "eno1", boot_device: "/dev/sda" },
      elm: { address: "192.168.88.13", role: "server", interface: "enp3s0", boot_device: "/dev/sda" },
      fir: { address: "192.168.88.14", role: "agent", interface: "enp2s0", boot_device: "/dev/sda" },
      larch: { address: "192.168.88.15", role: "none", interface: "eno1", boot_device: "/dev/sda" },
    });
    expect(Object.keys(doc.nodes)).toEqual(["birch", "cedar", "elm", "fir", "larch"]);
  });

  it("maps network.yaml and the admin column, with defaults for what the format lacks", () => {
    expect(doc.cluster).toEqual({
      name: "plans",
      nixpkgs: { channel: "nixos-24.11" },
      timezone: "UTC",
      network: { gateway: "192.168.88.1", prefix_length: 24, nameservers: ["192.168.88.1", "9.9.9.9"] },
      admin: { user: "hilde", ssh_keys: [] },
      k3s: { token_secret: "k3s-token" },
      rollout: { max_unavailable: 1, max_unavailable_servers: 1, reboot: "auto", window: null, settle_seconds: 0, checks: [] },
    });
  });

  it("keeps the k3s container addresses out of the inventory and says so", () => {
    for (const ip of ["192.168.88.101", "192.168.88.102", "192.168.88.103", "192.168.88.104", "192.168.88.106"]) expect(result.yaml).not.toContain(ip);
    expect(result.notes).toContain(
      "k3s.csv: the k3s container addresses (column ip) are not used: in nk k3s runs on the host itself, so every node keeps its hosts.csv address (dropped: birch-k3s-server 192.168.88.101, birch-k3s-agent 192.168.88.102, cedar-k3s-server 192.168.88.103, elm-k3s-server 192.168.88.104, fir-k3s-agent 192.168.88.106)",
    );
  });

  it("notes hosts without k3s, merged server+agent hosts, the netmask and every default", () => {
    expect(result.notes).toEqual(
      expect.arrayContaining([
        "larch (hosts.csv:6) has no row in k3s.csv: node larch with role none (a NixOS host without k3s), 192.168.88.15 on eno1",
        "birch → node birch: server, init (clusterInit), 192.168.88.11 on enp3s0",
        "birch had a k3s server and a k3s agent (k3s.csv:2, 3): imported as one server node, which runs workloads too",
        "elm had a k3s server and a k3s agent (k3s.csv:5, 6): imported as one server node, which runs workloads too",
        "network.yaml:3 netmask 255.255.255.0 → prefix_length 24",
        'hosts.csv admin → cluster.admin.user "hilde"',
        expect.stringContaining("boot_device is /dev/sda on every node"),
        expect.stringContaining("cluster.nixpkgs.channel is nixos-24.11"),
        "k3s.api_address is left to its default, the init server's address (birch, 192.168.88.11)",
        expect.stringContaining("nkctl secret set k3s-token"),
      ]),
    );
    expect(result.extraFiles.size).toBe(0);
  });

  it("gives identical bytes every time, whatever the case, spacing or line ends of the input", () => {
    expect(importPlans(FIXTURE).yaml).toBe(result.yaml);
    const shouty: PlansInput = {
      hostsCsv: FIXTURE.hostsCsv.toUpperCase().replace(/,/g, " , ").replace(/\n/g, "\r\n"),
      k3sCsv: FIXTURE.k3sCsv.toUpperCase().replace(/\n/g, "\r\n"),
      networkYaml: FIXTURE.networkYaml.replace(/\n/g, "\r\n"),
    };
    expect(importPlans(shouty).yaml).toBe(result.yaml);
  });

  it("copies nixConfigs of every host (k3s or not) to nodes/<name>.nix and notes the others", () => {
    const birch = fixture("nixConfigs/birch.nix");
    const r = importPlans({ ...FIXTURE, nixConfigs: new Map([["elm", "{ ... }: { b = 2; }\n"], ["Birch.nix", birch], ["larch", fixture("nixConfigs/larch.nix")], ["ghost", "y"]]) });
    expect([...r.extraFiles]).toEqual([
      ["nodes/birch.nix", birch],
      ["nodes/elm.nix", "{ ... }: { b = 2; }\n"],
      ["nodes/larch.nix", fixture("nixConfigs/larch.nix")],
    ]);
    expect(r.notes).toEqual(
      expect.arrayContaining([
        "nixConfigs/Birch.nix → nodes/birch.nix, copied as is: review it, it was written for the plans tool (k3s ran in containers there)",
        'nixConfigs/ghost.nix: no host "ghost" in hosts.csv, not copied',
      ]),
    );
    expect(r.yaml).toBe(result.yaml);
  });
});

describe("importPlans variants", () => {
  it("reads the fixture the same whichever spelling its init row uses", () => {
    expect(FIXTURE.k3sCsv).toContain(",Init_Server,");
    const result = importPlans(FIXTURE);
    for (const type of ["init", "init_server", "init-server", " INIT-Server "]) {
      expect(importPlans({ ...FIXTURE, k3sCsv: FIXTURE.k3sCsv.replace(",Init_Server,", `,${type},`) }).yaml).toBe(result.yaml);
    }
  });

  it("accepts the init type spellings init and init_server", () => {
    for (const type of ["init", "init_server", "INIT-SERVER"]) {
      const doc = parse(importPlans(input(`host,name,type,ip\na,s,${type},\nb,s,server,\nc,s,agent,\n`)).yaml) as Doc;
      expect(doc.nodes.a).toMatchObject({ role: "server", init: true });
      expect(doc.nodes.b).toEqual({ address: "10.0.0.3", role: "server", boot_device: "/dev/sda" });
      expect(doc.nodes.c!.role).toBe("agent");
    }
  });

  it("sets a shared interface once at the cluster level and converts a netmask", () => {
    const r = importPlans(input("host,name,type,ip\na,s,init-server,\n", { networkYaml: "gateway: 10.0.0.1\nnetmask: 255.255.255.0\nnameservers: 9.9.9.9\n" }));
    const doc = parse(r.yaml) as Doc;
    expect(doc.cluster.network).toEqual({ gateway: "10.0.0.1", prefix_length: 24, nameservers: ["9.9.9.9"], interface: "eth0" });
    expect(doc.nodes.a).toEqual({ address: "10.0.0.2", role: "server", init: true, boot_device: "/dev/sda" });
    expect(r.notes).toContain("network.yaml:2 netmask 255.255.255.0 → prefix_length 24");
    expect(r.notes).toContain("every node uses interface eth0: set once as cluster.network.interface");
  });

  it("picks the admin most hosts name and notes the disagreement", () => {
    const hostsCsv = "name,interface,ip,admin\na,eth0,10.0.0.2,root\nb,eth0,10.0.0.3,ops\nc,eth0,10.0.0.4,ops\n";
    const r = importPlans(input("host,name,type,ip\na,s,init-server,\nb,s,server,\nc,s,server,\n", { hostsCsv }));
    expect((parse(r.yaml) as Doc).cluster.admin!.user).toBe("ops");
    expect(r.notes).toContain('hosts disagree on the admin user (ops: b, c; root: a); nk has one admin user for every node: using "ops"');
  });

  it("takes name, channel, boot device and keys from the options", () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnkExampleKeyForDocsOnly0000000000000000 ops@laptop";
    const r = importPlans(FIXTURE, { clusterName: "lab", channel: "nixos-24.05", bootDevice: "/dev/nvme0n1", sshKeys: [key] });
    const doc = parse(r.yaml) as Doc;
    expect(doc.cluster.name).toBe("lab");
    expect(doc.cluster.nixpkgs).toEqual({ channel: "nixos-24.05" });
    expect(doc.cluster.admin!.ssh_keys).toEqual([key]);
    expect(Object.values(doc.nodes).map((n) => n.boot_device)).toEqual(["/dev/nvme0n1", "/dev/nvme0n1", "/dev/nvme0n1", "/dev/nvme0n1", "/dev/nvme0n1"]);
    expect(r.notes.some((n) => n.includes("has no boot device") || n.includes("has no cluster name"))).toBe(false);
  });

  it("warns about an even number of servers", () => {
    const r = importPlans(input("host,name,type,ip\na,s,init-server,\nb,s,server,\n"));
    expect(r.notes).toContain("2 servers: an even number of etcd members tolerates no more failures than 1; consider an odd number of servers");
  });
});

describe("importPlans errors", () => {
  it("needs exactly one init server", () => {
    expect(failure(input("host,name,type,ip\na,s,server,\n"))).toBe("k3s.csv:1 type: no init server: exactly one row must have type init-server");
    expect(failure(input("host,name,type,ip\na,s,init-server,\nb,s,init,\n"))).toBe(
      'k3s.csv:3 type: second init server (host "b"; the first is host "a" at line 2); exactly one is allowed',
    );
  });

  it("reports bad rows of hosts.csv and k3s.csv together, each with file, line and field", () => {
    const hostsCsv = "name,interface,ip,admin\na,eth0,10.0.0.2,ops\na,eth0,10.0.0.9,ops\nb,,10.0.0.2,ops\nC_1,eth0,10.0.0.300,ops\n";
    const k3sCsv = "host,name,type,ip\na,s,init-server,10.0.1.1\nz,s,server,\nb,s,master,\na,s2,server,not-an-ip\n";
    expect(failure(input(k3sCsv, { hostsCsv }))).toBe(
      [
        'hosts.csv:3 name: duplicate host "a" (first at line 2)',
        "hosts.csv:4 interface: is empty (the host's network interface, e.g. enp1s0)",
        'hosts.csv:4 ip: 10.0.0.2 is already the address of host "a" (line 2)',
        `hosts.csv:5 name: "c_1" is not a valid node name (a DNS label: letters, digits, '-')`,
        'hosts.csv:5 ip: "10.0.0.300" is not an IPv4 address',
        'k3s.csv:3 host: unknown host "z" (not in hosts.csv)',
        'k3s.csv:4 type: "master" is not a k3s type (init-server, server or agent; also init, init_server)',
        'k3s.csv:5 ip: "not-an-ip" is not an IPv4 address',
        'k3s.csv:5 type: host "a" already has a k3s server (line 2); at most one server and one agent per host',
      ].join("\n"),
    );
  });

  it("reports missing columns and ragged rows", () => {
    expect(failure(input("host,type\na,init-server\n"))).toBe(
      "k3s.csv:1 name: missing column (the header has: host,type; expected: host,name,type,ip)\nk3s.csv:1 ip: missing column (the header has: host,type; expected: host,name,type,ip)",
    );
    expect(failure(input("host,name,type,ip\na,s,init-server\n"))).toBe("k3s.csv:2 expected 4 fields (host,name,type,ip), got 3\nk3s.csv:1 type: no init server: exactly one row must have type init-server");
  });

  it("reports a bad network.yaml", () => {
    const net = (networkYaml: string): string => failure(input("host,name,type,ip\na,s,init-server,\n", { networkYaml }));
    expect(net("prefix_length: 24\n")).toBe("network.yaml:1 gateway: is required (the hosts' IPv4 gateway)");
    expect(net("gateway: 10.0.0.1\n")).toBe("network.yaml:1 prefix_length: is required (or netmask)");
    expect(net("gateway: 10.0.0.1\nnetmask: 255.0.255.0\n")).toBe('network.yaml:2 netmask: "255.0.255.0" is not a netmask (e.g. 255.255.255.0)');
    expect(net("gateway: 10.0.0.1\nprefix_length: 24\nnetmask: 255.255.0.0\n")).toBe("network.yaml:3 netmask: 255.255.0.0 is /16 but prefix_length is 24");
    expect(net("gateway: 10.0.0.1\nprefix_length: 33\nnameservers: [1.1.1.1, dns]\n")).toBe(
      'network.yaml:2 prefix_length: "33" is not a prefix length (1..32)\nnetwork.yaml:3 nameservers[1]: "dns" is not an IP address',
    );
    expect(net("gateway: 10.0.0.1\ngateway: 10.0.0.2\n")).toBe("network.yaml:2 YAML: duplicate key (each key may appear once)");
    expect(net("- gateway\n")).toBe("network.yaml:1 expected a mapping with gateway and prefix_length (or netmask)");
  });

  it("reports an empty hosts.csv and bad quoting in k3s.csv", () => {
    expect(failure(input("host,name,type,ip\na,s,init-server,\n", { hostsCsv: "" }))).toBe(
      'hosts.csv:1 is empty (expected a header: name,interface,ip,admin)',
    );
    expect(failure(input('host,name,type,ip\na,"s,init-server,\n'))).toBe('k3s.csv:2 unterminated quoted field (a " opened here is never closed)');
  });
});
