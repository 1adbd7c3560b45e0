// Renderer behaviour: determinism, k3s join rules, secrets, extra files, manifests, checks and scale.
import { describe, expect, it } from "vitest";
import type { Bundle } from "./bundle.js";
import { renderCluster, renderNode, renderNodeIn, createRenderContext, SECRETS_DIR, secretNamesFor } from "./index.js";
import {
  EXAMPLE_NK_SOURCE,
  exampleInventory,
  exampleRepoFiles,
  lockFilesFor,
  makeNode,
  scaledInventory,
  withCluster,
  withNode,
  withNodes,
} from "./test-inventory.js";

function file(bundle: Bundle | undefined, path: string): string {
  const f = bundle?.files.find((x) => x.path === path);
  if (!f) throw new Error(`no ${path} in bundle of ${bundle?.node}`);
  return f.content;
}

function paths(bundle: Bundle | undefined): string[] {
  return bundle?.files.map((f) => f.path) ?? [];
}

function shas(bundles: Map<string, Bundle>): Record<string, string> {
  return Object.fromEntries([...bundles].map(([name, b]) => [name, b.sha256]));
}

describe("determinism", () => {
  it("renders byte-identical bundles and hashes twice in a row", () => {
    const a = renderCluster(exampleInventory(), exampleRepoFiles());
    const b = renderCluster(exampleInventory(), exampleRepoFiles());
    expect([...a.keys()]).toEqual(["n1", "n2", "n3", "n4", "n5"]);
    expect([...b.entries()]).toEqual([...a.entries()]);
    for (const bundle of a.values()) expect(bundle.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("ignores the order of nodes, labels, taints, disables, ssh keys and repo files", () => {
    const base = withNode(exampleInventory(), "n4", { labels: { disk: "ssd", zone: "a" }, taints: ["a=1:NoSchedule", "b=2:NoExecute"] });
    const baseCluster = withCluster(base, {
      k3s: { ...base.cluster.k3s, disable: ["traefik", "servicelb"] },
      admin: { user: "ops", sshKeys: ["ssh-ed25519 AAAA one", "ssh-ed25519 BBBB two"] },
    });
    const shuffled = withCluster(
      withNodes(
        withNode(baseCluster, "n4", { labels: { zone: "a", disk: "ssd" }, taints: ["b=2:NoExecute", "a=1:NoSchedule"] }),
        [...baseCluster.nodes].reverse(),
      ),
      {
        k3s: { ...base.cluster.k3s, disable: ["servicelb", "traefik"] },
        admin: { user: "ops", sshKeys: ["ssh-ed25519 BBBB two", "ssh-ed25519 AAAA one"] },
      },
    );
    const files = exampleRepoFiles();
    const reversedFiles = new Map([...files].reverse());
    const a = renderCluster(baseCluster, files);
    const b = renderCluster(shuffled, reversedFiles);
    expect([...b.keys()]).toEqual([...a.keys()]);
    expect([...b.entries()]).toEqual([...a.entries()]);
  });

  it("renders the same bundle for a node alone as within the cluster", () => {
    const inv = exampleInventory();
    const all = renderCluster(inv, exampleRepoFiles());
    for (const node of inv.nodes) expect(renderNode(inv, node, exampleRepoFiles())).toEqual(all.get(node.name));
  });

  it("keeps the cluster name and rollout policy out of every node's hash", () => {
    const before = renderCluster(exampleInventory(), exampleRepoFiles());
    const inv = exampleInventory();
    const changed = withCluster(inv, { name: "renamed", rollout: { ...inv.cluster.rollout, maxUnavailable: 3, settleSeconds: 60 } });
    expect(shas(renderCluster(changed, exampleRepoFiles()))).toEqual(shas(before));
  });
});

describe("k3s", () => {
  const bundles = renderCluster(exampleInventory(), exampleRepoFiles());

  it("gives the init server clusterInit and no serverAddr, everyone else serverAddr and no clusterInit", () => {
    const init = file(bundles.get("n1"), "nk/k3s.nix");
    expect(init).toContain("clusterInit = true;");
    expect(init).not.toContain("serverAddr");
    for (const name of ["n2", "n3", "n4", "n5"]) {
      const k3s = file(bundles.get(name), "nk/k3s.nix");
      expect(k3s).toContain('serverAddr = "https://172.30.190.3:6443";');
      expect(k3s).not.toContain("clusterInit");
    }
    expect(file(bundles.get("n2"), "nk/k3s.nix")).toContain('role = "server";');
    expect(file(bundles.get("n4"), "nk/k3s.nix")).toContain('role = "agent";');
  });

  it("points tokenFile at a string path under /run/nk/secrets and never contains the token", () => {
    const token = "K10super-secret-token::server:abc";
    const inv = exampleInventory();
    for (const bundle of renderCluster(inv, exampleRepoFiles()).values()) {
      expect(file(bundle, "nk/k3s.nix")).toContain(`tokenFile = "${SECRETS_DIR}/k3s-token";`);
      for (const f of bundle.files) expect(f.content).not.toContain(token);
    }
    expect(SECRETS_DIR).toBe("/run/nk/secrets");
    expect(secretNamesFor(inv, inv.nodes[0]!)).toEqual(["k3s-token"]);
  });

  it("builds flags: identity, sorted labels and taints, disables and tls-san on servers, then extra flags as given", () => {
    let inv = withNode(exampleInventory(), "n2", {
      labels: { zone: "b", disk: "nvme" },
      taints: ["dedicated=db:NoSchedule"],
      k3sExtraFlags: ["--kubelet-arg=max-pods=200", "--kubelet-arg=a=b"],
    });
    inv = withCluster(inv, { k3s: { ...inv.cluster.k3s, extraFlags: ["--flannel-backend=vxlan"] } });
    const k3s = file(renderNode(inv, inv.nodes[1]!, lockFilesFor(inv)), "nk/k3s.nix");
    const flags = [...k3s.matchAll(/^ {6}"(--[^"]*)"$/gm)].map((m) => m[1]);
    expect(flags).toEqual([
      "--node-name=n2",
      "--node-ip=172.30.190.4",
      "--node-label=disk=nvme",
      "--node-label=zone=b",
      "--node-taint=dedicated=db:NoSchedule",
      "--tls-san=172.30.190.3",
      "--disable=traefik",
      "--flannel-backend=vxlan",
      "--kubelet-arg=max-pods=200",
      "--kubelet-arg=a=b",
    ]);
    const agentK3s = file(bundles.get("n4"), "nk/k3s.nix");
    expect(agentK3s).toContain('"--node-label=disk=ssd"');
    expect(agentK3s).not.toContain("--disable");
    expect(agentK3s).not.toContain("--tls-san");
  });

  it("ships bootstrap manifests to servers only, each linked from its copy in the bundle", () => {
    const inventory = exampleInventory();
    const bootstrapped = renderCluster({ ...inventory, manifests: { ...inventory.manifests, bootstrap: ["hello.yaml"] } }, exampleRepoFiles());
    for (const name of ["n1", "n2", "n3"]) {
      const b = bootstrapped.get(name);
      expect(file(b, "manifests/hello.yaml")).toBe(exampleRepoFiles().get("manifests/hello.yaml"));
      expect(file(b, "nk/k3s.nix")).toContain('"hello.yaml".source = ../manifests/hello.yaml;');
    }
    for (const name of ["n4", "n5"]) {
      expect(paths(bootstrapped.get(name)).some((p) => p.startsWith("manifests/"))).toBe(false);
      expect(file(bootstrapped.get(name), "nk/k3s.nix")).not.toContain("manifests");
    }
  });

  it("leaves manifests the coordinator applies out of every bundle", () => {
    for (const name of ["n1", "n4"]) {
      expect(paths(bundles.get(name)).some((p) => p.startsWith("manifests/"))).toBe(false);
      expect(file(bundles.get(name), "nk/k3s.nix")).not.toContain("manifests");
    }
  });

  it("changes every server's hash but no agent's when a bootstrap manifest changes, and no hash for another manifest", () => {
    const inventory = exampleInventory();
    const withBootstrap = { ...inventory, manifests: { ...inventory.manifests, bootstrap: ["hello.yaml"] } };
    const files = exampleRepoFiles();
    const before = shas(renderCluster(withBootstrap, files));
    files.set("manifests/hello.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: hello2\n");
    const after = shas(renderCluster(withBootstrap, files));
    expect(Object.keys(before).filter((n) => before[n] !== after[n])).toEqual(["n1", "n2", "n3"]);
    const applied = shas(renderCluster(inventory, files));
    expect(applied).toEqual(shas(bundles));
  });
});

describe("extra files", () => {
  it("copies nodes/<node>.nix as extra/node.nix and common/*.nix into extra/common, and imports them", () => {
    const files = exampleRepoFiles();
    files.set("common/zz-last.nix", "{ ... }: { }\n");
    files.set("common/nested/ignored.nix", "{ ... }: { }\n");
    files.set("common/readme.md", "not nix\n");
    const bundles = renderCluster(exampleInventory(), files);
    const n5 = bundles.get("n5");
    expect(file(n5, "extra/node.nix")).toBe(files.get("nodes/n5.nix"));
    expect(paths(n5).filter((p) => p.startsWith("extra/common/"))).toEqual(["extra/common/monitoring.nix", "extra/common/zz-last.nix"]);
    const conf = file(n5, "configuration.nix");
    const imports = conf.slice(conf.indexOf("imports"), conf.indexOf("++"));
    expect(imports.indexOf("./extra/common/monitoring.nix")).toBeLessThan(imports.indexOf("./extra/common/zz-last.nix"));
    expect(imports.indexOf("./extra/common/zz-last.nix")).toBeLessThan(imports.indexOf("./extra/node.nix"));
    const n4 = bundles.get("n4");
    expect(paths(n4)).not.toContain("extra/node.nix");
    expect(file(n4, "configuration.nix")).not.toContain("./extra/node.nix");
    expect(file(n4, "extra/common/monitoring.nix")).toBe(files.get("common/monitoring.nix"));
  });

  it("changes only that node's hash when one node's extra file changes", () => {
    const files = exampleRepoFiles();
    const before = shas(renderCluster(exampleInventory(), files));
    files.set("nodes/n5.nix", "{ ... }: { boot.kernelModules = [ \"rbd\" ]; }\n");
    const after = shas(renderCluster(exampleInventory(), files));
    expect(Object.keys(before).filter((n) => before[n] !== after[n])).toEqual(["n5"]);
    files.set("nodes/n2.nix", "{ ... }: { }\n");
    const added = shas(renderCluster(exampleInventory(), files));
    expect(Object.keys(after).filter((n) => after[n] !== added[n])).toEqual(["n2"]);
  });
});

describe("system files", () => {
  const bundles = renderCluster(exampleInventory(), exampleRepoFiles());

  it("pins nixpkgs by channel, channel+rev or flake, and nk by the inventory's agent flake or nk.lock's coordinator source", () => {
    const flake = file(bundles.get("n1"), "flake.nix");
    expect(flake).toContain('nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";');
    expect(flake).toContain(`nk.url = "${EXAMPLE_NK_SOURCE}";`);
    const ownNk = withCluster(exampleInventory(), { agent: { flake: "github:me/nk/v9.9.9", version: "9.9.9" } });
    expect(file(renderNode(ownNk, ownNk.nodes[0]!, lockFilesFor(ownNk)), "flake.nix")).toContain('nk.url = "github:me/nk/v9.9.9";');
    expect(flake).toContain("nixosConfigurations.n1 = nixpkgs.lib.nixosSystem");
    expect(flake).toContain("modules = [ nk.nixosModules.agent ./configuration.nix ];");
    const rev = "0123456789abcdef0123456789abcdef01234567";
    const pinned = withCluster(exampleInventory(), { nixpkgs: { channel: "nixos-24.11", rev } });
    expect(file(renderNode(pinned, pinned.nodes[0]!, lockFilesFor(pinned)), "flake.nix")).toContain(`"github:NixOS/nixpkgs/${rev}"`);
    const byFlake = withCluster(exampleInventory(), { nixpkgs: { flake: "github:me/nixpkgs/custom" } });
    expect(file(renderNode(byFlake, byFlake.nodes[0]!, lockFilesFor(byFlake)), "flake.nix")).toContain('nixpkgs.url = "github:me/nixpkgs/custom";');
  });

  it("sets host name, time zone, state version, the boot loader module and the optional hardware scan", () => {
    const conf = file(bundles.get("n4"), "configuration.nix");
    expect(conf).toContain('networking.hostName = "n4";');
    expect(conf).toContain('time.timeZone = "UTC";');
    expect(conf).toContain('system.stateVersion = "24.11";');
    expect(conf).toContain("    ./nk/boot.nix\n");
    expect(file(bundles.get("n4"), "nk/boot.nix")).toContain('devices = [ "/dev/sda" ];');
    expect(conf).toContain('nix.settings.experimental-features = [ "nix-command" "flakes" ];');
    expect(conf).toContain("lib.optional (builtins.pathExists ./hardware-configuration.nix) ./hardware-configuration.nix");
  });

  it("addresses the node's own interface and opens only the ports its role needs", () => {
    const n5 = file(bundles.get("n5"), "nk/network.nix");
    expect(n5).toContain('interfaces.eno1.ipv4.addresses = [\n      { address = "172.30.190.7"; prefixLength = 24; }');
    expect(n5).toContain('defaultGateway = { address = "172.30.190.1"; interface = "eno1"; };');
    expect(n5).toContain('nameservers = [ "1.1.1.1" "9.9.9.9" ];');
    expect(n5).toContain("allowedTCPPorts = [ 22 10250 ];");
    expect(file(bundles.get("n1"), "nk/network.nix")).toContain("allowedTCPPorts = [ 22 2379 2380 6443 10250 ];");
    expect(n5).toContain("allowedUDPPorts = [ 8472 ];");
  });

  it("declares the admin user with keys only and a locked-down sshd, identical on every node", () => {
    const users = file(bundles.get("n1"), "nk/users.nix");
    expect(users).toContain("users.users.ops = {");
    expect(users).toContain("users.mutableUsers = false;");
    expect(users).toContain("ops@laptop");
    expect(users).toContain('PermitRootLogin = "no";');
    expect(users).toContain("PasswordAuthentication = false;");
    expect(users).toContain("security.sudo.wheelNeedsPassword = false;");
    for (const b of bundles.values()) expect(file(b, "nk/users.nix")).toBe(users);
  });

  it("enables the agent with the node's name and node checks", () => {
    const agent = file(bundles.get("n5"), "nk/agent.nix");
    expect(agent).toContain('nodeName = "n5";');
    expect(agent).toContain('{ name = "nvme-present"; command = [ "test" "-e" "/dev/sda" ]; expect = ""; timeoutSeconds = 30; }');
    expect(file(bundles.get("n1"), "nk/agent.nix")).toContain("healthChecks = [ ];");
  });

  it("gives the self-update guard the cluster's activation timeout and health deadline plus 300 s, at least 900 s", () => {
    expect(file(bundles.get("n1"), "nk/agent.nix")).toContain("    guard.deadlineSeconds = lib.mkDefault 900;\n");
    const base = exampleInventory();
    const slow = withCluster(base, { rollout: { ...base.cluster.rollout, activationTimeoutSeconds: 600, healthDeadlineSeconds: 1200 } });
    expect(file(renderCluster(slow, exampleRepoFiles()).get("n1"), "nk/agent.nix")).toContain("    guard.deadlineSeconds = lib.mkDefault 2100;\n");
  });
});

describe("scale", () => {
  // Speed is measured in bench/render; this checks correctness at scale.
  it("renders 10,000 distinct bundles, sharing one context", () => {
    const inv = scaledInventory(10_000);
    const files = exampleRepoFiles();
    for (let i = 0; i < 10_000; i += 100) files.set(`nodes/node-${String(i).padStart(5, "0")}.nix`, `{ ... }: { } # ${i}\n`);
    const bundles = renderCluster(inv, files);
    expect(bundles.size).toBe(10_000);
    expect(new Set([...bundles.values()].map((b) => b.sha256)).size).toBe(10_000);
    const ctx = createRenderContext(inv, files);
    const one = inv.nodes[4_321]!;
    expect(renderNodeIn(ctx, one)).toEqual(bundles.get(one.name));
  });

  it("renders a node added to the cluster without touching the others", () => {
    const inv = exampleInventory();
    const before = shas(renderCluster(inv, exampleRepoFiles()));
    const grown = withNodes(inv, [...inv.nodes, makeNode("n6", "172.30.190.8", { role: "agent" })]);
    const after = shas(renderCluster(grown, exampleRepoFiles()));
    expect(Object.keys(after)).toEqual(["n1", "n2", "n3", "n4", "n5", "n6"]);
    for (const name of Object.keys(before)) expect(after[name]).toBe(before[name]);
  });
});

describe("a host without k3s (role none)", () => {
  const inv = withNodes(exampleInventory(), [...exampleInventory().nodes, makeNode("nas", "172.30.190.8", { role: "none" })]);
  const bundle = renderCluster(inv, exampleRepoFiles()).get("nas");

  it("gets the same bundle minus k3s: no nk/k3s.nix, no manifests, no token, only ssh open", () => {
    expect(paths(bundle)).toEqual(["configuration.nix", "extra/common/monitoring.nix", "flake.lock", "flake.nix", "nk/agent.nix", "nk/boot.nix", "nk/checks.json", "nk/network.nix", "nk/users.nix"]);
    expect(file(bundle, "configuration.nix")).toContain("  imports = [\n    ./nk/agent.nix\n    ./nk/boot.nix\n    ./nk/network.nix\n    ./nk/users.nix\n    ./extra/common/monitoring.nix\n  ]\n");
    expect(file(bundle, "nk/network.nix")).toContain("    firewall = {\n      enable = true;\n      # 22 ssh (no k3s runs here: role none)\n      allowedTCPPorts = [ 22 ];\n    };");
    expect(secretNamesFor(inv, inv.nodes.find((n) => n.name === "nas")!)).toEqual([]);
  });

  it("changes no other node's bundle", () => {
    const before = renderCluster(exampleInventory(), exampleRepoFiles());
    const after = renderCluster(inv, exampleRepoFiles());
    for (const [name, b] of before) expect(after.get(name)?.sha256, name).toBe(b.sha256);
  });
});
