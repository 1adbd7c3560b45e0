// Every rendered .nix file must parse with the real Nix parser, including bundles full of hostile values.
import { execFile } from "node:child_process";
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Inventory, RepoFiles } from "../inventory/model.js";
import { parseNixSources, type NixParseResult } from "../nix/index.js";
import type { Bundle } from "./bundle.js";
import { createRenderContext, guardDeadlineSeconds, k3sFlags, renderCluster } from "./index.js";
import { exampleInventory, exampleRepoFiles, lbInventory, lockFilesFor, makeNode, vipInventory, withCluster, withNode, withNodes } from "./test-inventory.js";

const run = promisify(execFile);
const EXAMPLE_DIR = join(import.meta.dirname, "../../../examples/homelab");

/** One batched nix-instantiate run for all files (a failing batch is re-parsed file by file, naming each). */
async function parseFiles(paths: readonly string[]): Promise<NixParseResult[]> {
  return parseNixSources(await Promise.all(paths.map(async (name) => ({ name, content: await readFile(name, "utf8") }))));
}

async function readRepo(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    out.set(relative(dir, full).split("\\").join("/"), await readFile(full, "utf8"));
  }
  return out;
}

const HOSTILE = 'x"y ${builtins.abort "pwned"} \\ $${z}\nnext line';

function hostileVariant(): { inventory: Inventory; files: RepoFiles } {
  let inv = exampleInventory();
  inv = withCluster(inv, {
    timezone: `Europe/${HOSTILE}`,
    admin: { user: "in", sshKeys: [`ssh-ed25519 AAAA ${HOSTILE}`] },
    network: { ...inv.cluster.network, nameservers: [HOSTILE] },
    k3s: { ...inv.cluster.k3s, extraFlags: [`--kubelet-arg=${HOSTILE}`], disable: [HOSTILE, "servicelb"], apiAddress: HOSTILE },
    nixpkgs: { flake: `github:NixOS/nixpkgs/${HOSTILE}` },
    agent: { flake: HOSTILE, version: HOSTILE },
  });
  inv = withNode(inv, "n2", {
    interface: "eth0.100",
    boot: { loader: "grub-bios", device: HOSTILE, efiMountPoint: HOSTILE },
    labels: { [HOSTILE]: HOSTILE, "topology.kubernetes.io/zone": "a" },
    taints: [HOSTILE],
    k3sExtraFlags: [HOSTILE],
    checks: [{ name: HOSTILE, command: [HOSTILE, "--flag"], expect: HOSTILE, timeoutSeconds: 5 }],
  });
  const files = new Map([...exampleRepoFiles(), ...lockFilesFor(inv)]);
  files.set("manifests/my app's ${x}.yaml", "kind: ConfigMap\n");
  // Bootstrap files go into the k3s auto-deploy attribute set by name, so the odd name must survive quoting.
  inv = { ...inv, manifests: { ...inv.manifests, bootstrap: ["hello.yaml", "my app's ${x}.yaml"] } };
  files.set("common/odd name+1.nix", "{ ... }: { }\n");
  files.set("nodes/n2.nix", "{ lib, ... }: { boot.kernelModules = lib.mkAfter [ \"rbd\" ]; }\n");
  return { inventory: inv, files };
}

/** Writes each bundle under root/<variant>/<node>/ and returns the paths of its .nix files. */
async function writeBundles(root: string, variant: string, bundles: Map<string, Bundle>): Promise<string[]> {
  const nixFiles: string[] = [];
  for (const [node, bundle] of bundles) {
    for (const f of bundle.files) {
      const path = join(root, variant, node, f.path);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, f.content);
      if (f.path.endsWith(".nix")) nixFiles.push(path);
    }
  }
  return nixFiles;
}

describe("rendered Nix parses", () => {
  let root = "";
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "nk-render-parse-"));
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("parses every .nix file of the example and its variants", async () => {
    const example = exampleInventory();
    const realFiles = await readRepo(EXAMPLE_DIR);
    expect(realFiles.has("nodes/n5.nix")).toBe(true);
    const rev = "0123456789abcdef0123456789abcdef01234567";
    const variants: Record<string, { inventory: Inventory; files: RepoFiles }> = {
      example: { inventory: example, files: realFiles },
      bare: { inventory: example, files: lockFilesFor(example) },
      pinned: { inventory: withCluster(example, { nixpkgs: { channel: "nixos-24.11", rev } }), files: lockFilesFor(withCluster(example, { nixpkgs: { channel: "nixos-24.11", rev } }), exampleRepoFiles()) },
      flagsAndChecks: {
        inventory: withNodes(withCluster(example, { k3s: { ...example.cluster.k3s, extraFlags: ["--flannel-backend=wireguard-native"] } }), [
          ...example.nodes,
          makeNode("db-1", "172.30.190.9", {
            labels: { role: "db", "node.kubernetes.io/pool": "fast" },
            taints: ["dedicated=db:NoSchedule"],
            k3sExtraFlags: ["--kubelet-arg=max-pods=250"],
            checks: [{ name: "zfs", command: ["zpool", "status", "-x"], expect: "all pools are healthy", timeoutSeconds: 30 }],
          }),
        ]),
        files: exampleRepoFiles(),
      },
      hostile: hostileVariant(),
      vip: { inventory: vipInventory({ on: ["n3", "n1", "n2"], interface: "br0" }), files: exampleRepoFiles() },
      vipOnLoadBalancers: { inventory: lbInventory(), files: exampleRepoFiles() },
      withoutK3s: { inventory: withNodes(example, [...example.nodes, makeNode("nas", "172.30.190.8", { role: "none" })]), files: exampleRepoFiles() },
    };
    const paths: string[] = [];
    for (const [name, v] of Object.entries(variants)) paths.push(...(await writeBundles(root, name, renderCluster(v.inventory, v.files))));
    expect(paths.length).toBeGreaterThan(40);
    const results = await parseFiles(paths);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.map((r) => r.path)).toEqual(paths);
  });

  it("parses boot.nix and flake.nix for every loader and both systems", async () => {
    const inventory = withNodes(exampleInventory(), [
      makeNode("n1", "172.30.190.3", { init: true, boot: { loader: "systemd-boot", efiMountPoint: "/boot" } }),
      makeNode("n2", "172.30.190.4", { boot: { loader: "grub-efi", efiMountPoint: "/boot/efi" } }),
      makeNode("n3", "172.30.190.5", { boot: { loader: "grub-bios", device: "/dev/sda", efiMountPoint: "/boot/efi" } }),
      makeNode("pi-1", "172.30.190.6", { role: "agent", system: "aarch64-linux", boot: { loader: "extlinux" } }),
      makeNode("arm-1", "172.30.190.7", { role: "agent", system: "aarch64-linux", boot: { loader: "systemd-boot", efiMountPoint: "/efi" } }),
    ]);
    const written = await writeBundles(root, "loaders", renderCluster(inventory, lockFilesFor(inventory)));
    const paths = written.filter((p) => p.endsWith("/nk/boot.nix") || p.endsWith("/flake.nix"));
    expect(paths).toHaveLength(10);
    const results = await parseFiles(paths);
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });

  it("evaluates the keepalived module to the VIP, peers and a store-path health check that honours the hand-over flag", async () => {
    await writeBundles(root, "vip-eval", renderCluster(vipInventory(), lockFilesFor(vipInventory())));
    // writeShellScript stubbed to give its text back, so the check itself can be read.
    const pkgs = `{ curl = "/nix/store/c-curl"; systemd = "/nix/store/s-systemd"; writeShellScript = name: text: "#!sh " + name + "\\n" + text; }`;
    const evalModule = async (path: string): Promise<{ secretFile: string; vrrpScripts: { nk_api_ready: { script: string } }; vrrpInstances: { nk_api: Record<string, unknown> } }> => {
      const out = await run("nix-instantiate", ["--eval", "--strict", "--json", "--expr", `(import ${path} { pkgs = ${pkgs}; }).services.keepalived`]);
      return JSON.parse(out.stdout);
    };
    const k = await evalModule(join(root, "vip-eval/n1/nk/keepalived.nix"));
    expect(k.secretFile).toBe("/run/nk/secrets/vrrp-password");
    expect(k.vrrpScripts.nk_api_ready.script).toBe(
      "#!sh nk-api-ready\ntest ! -e /var/lib/nk-agent/vip-handed-over || exit 1\nexec /nix/store/c-curl/bin/curl -sf -o /dev/null --max-time 2 --cacert /var/lib/rancher/k3s/server/tls/server-ca.crt --cert /var/lib/rancher/k3s/server/tls/client-admin.crt --key /var/lib/rancher/k3s/server/tls/client-admin.key https://127.0.0.1:6443/readyz\n",
    );
    expect(k.vrrpInstances.nk_api).toMatchObject({ priority: 150, virtualRouterId: 10, unicastPeers: ["172.30.190.4", "172.30.190.5"], virtualIps: [{ addr: "172.30.190.10/24" }], trackScripts: ["nk_api_ready"] });
    expect(k.vrrpInstances.nk_api.extraConfig).toContain('auth_pass "$NK_VRRP_PASSWORD"');

    await writeBundles(root, "lb-eval", renderCluster(lbInventory(), lockFilesFor(lbInventory())));
    const lb = await evalModule(join(root, "lb-eval/lb2/nk/keepalived.nix"));
    expect(lb.vrrpScripts.nk_api_ready.script).toBe("#!sh nk-api-ready\ntest ! -e /var/lib/nk-agent/vip-handed-over || exit 1\nexec /nix/store/s-systemd/bin/systemctl is-active --quiet haproxy.service\n");
    expect(lb.vrrpInstances.nk_api).toMatchObject({ priority: 149, unicastPeers: ["172.30.190.31"] });
    const out = await run("nix-instantiate", ["--eval", "--strict", "--json", "--expr", `import ${join(root, "lb-eval/lb2/nk/haproxy.nix")} { }`]);
    const h = JSON.parse(out.stdout) as { networking: { firewall: { allowedTCPPorts: number[] } }; services: { haproxy: { enable: boolean; config: string } } };
    expect(h.networking.firewall.allowedTCPPorts).toEqual([6443]);
    expect(h.services.haproxy.enable).toBe(true);
    // The indented string loses its common indentation: haproxy reads sections at the left margin.
    const expected = [
      "global", "  maxconn 4096",
      "defaults", "  mode tcp", "  timeout connect 5s", "  # kubectl watches and exec sessions stay open for long.", "  timeout client 1h", "  timeout server 1h",
      "frontend k8s_api", "  # Every address, the VIP among them once keepalived puts it here.", "  bind :6443", "  default_backend k8s_servers",
      "backend k8s_servers", "  balance roundrobin", "  # A server that stops accepting connections (rebooting, k3s down) is skipped after 2 failed checks.",
      "  default-server inter 2s fall 2 rise 2", "  server n1 172.30.190.3:6443 check", "  server n2 172.30.190.4:6443 check", "  server n3 172.30.190.5:6443 check",
    ];
    expect(h.services.haproxy.config).toBe(`${expected.join("\n")}\n`);
  });

  it("evaluates hostile values back to exactly what the inventory said", async () => {
    const { inventory, files } = hostileVariant();
    const dir = join(root, "eval");
    await writeBundles(root, "eval", renderCluster(inventory, files));
    const n2 = inventory.nodes.find((n) => n.name === "n2")!;
    const evalJson = async (expr: string): Promise<unknown> =>
      JSON.parse((await run("nix-instantiate", ["--eval", "--strict", "--json", "--expr", expr])).stdout);
    const k3s = `(import ${join(dir, "n2/nk/k3s.nix")} { }).services.k3s`;
    await expect(evalJson(`${k3s}.extraFlags`)).resolves.toEqual(k3sFlags(createRenderContext(inventory, files), n2));
    await expect(evalJson(`${k3s}.serverAddr`)).resolves.toBe(`https://${HOSTILE}:6443`);
    await expect(evalJson(`builtins.attrNames ${k3s}.manifests`)).resolves.toEqual(["hello.yaml", "my app's ${x}.yaml"]);
    const agent = `(import ${join(dir, "n2/nk/agent.nix")} { lib = { mkDefault = v: { _default = v; }; }; }).services.nk-agent`;
    await expect(evalJson(`${agent}.healthChecks`)).resolves.toEqual([{ name: HOSTILE, command: [HOSTILE, "--flag"], expect: HOSTILE, timeoutSeconds: 5 }]);
    await expect(evalJson(`${agent}.guard.deadlineSeconds`)).resolves.toEqual({ _default: guardDeadlineSeconds(inventory.cluster.rollout) });
    const net = `(import ${join(dir, "n2/nk/network.nix")} { }).networking`;
    await expect(evalJson(`builtins.attrNames ${net}.interfaces`)).resolves.toEqual(["eth0.100"]);
    await expect(evalJson(`${net}.nameservers`)).resolves.toEqual([HOSTILE]);
    const users = `(import ${join(dir, "n2/nk/users.nix")} { }).users.users`;
    await expect(evalJson(`${users}."in".openssh.authorizedKeys.keys`)).resolves.toEqual([`ssh-ed25519 AAAA ${HOSTILE}`]);
    const conf = `(import ${join(dir, "n2/configuration.nix")} { lib = { optional = c: x: if c then [ x ] else [ ]; }; })`;
    await expect(evalJson(`${conf}.time.timeZone`)).resolves.toBe(`Europe/${HOSTILE}`);
    const boot = `(import ${join(dir, "n2/nk/boot.nix")} { }).boot.loader`;
    await expect(evalJson(`${boot}.grub.devices`)).resolves.toEqual([HOSTILE]);
    await expect(evalJson(`${boot}.efi.efiSysMountPoint`)).resolves.toBe(HOSTILE);
    await expect(evalJson(`map toString (builtins.filter (p: !(builtins.isString p)) ${conf}.imports)`)).resolves.toContain(
      join(dir, "n2/extra/common/odd name+1.nix"),
    );
  });
});
