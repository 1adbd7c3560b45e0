// renderInstaller: the stick's files, their Nix syntax and values (hostile ones too), the token's one place, input checks.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isNkError } from "../errors/index.js";
import { parseNixSources } from "../nix/index.js";
import type { BundleFile } from "../render/bundle.js";
import type { NodeSpec } from "../inventory/model.js";
import { renderNode } from "../render/index.js";
import { EXAMPLE_NK_SOURCE, exampleInventory, testInputs, withCluster, withNode, lockFilesFor } from "../render/test-inventory.js";
import { espUuid, filesystemIds, INSTALL_SCRIPT, renderInstaller, type InstallerOptions } from "./index.js";

const run = promisify(execFile);
const CA = "-----BEGIN CERTIFICATE-----\nMIIBkTCCATegAwIBAgIUExample\n-----END CERTIFICATE-----\n";
const TOKEN = "nk1.n1.2b7e151628aed2a6abf7158809cf4f3c";
const HOSTILE = 'x"y ${builtins.abort "pwned"} \\ $${z}\nnext line';
const OPTIONS: InstallerOptions = { coordinator: "coord.lan:7443", caPem: CA, enrollToken: TOKEN, inputs: testInputs() };

function file(files: readonly BundleFile[], path: string): string {
  const f = files.find((x) => x.path === path);
  if (!f) throw new Error(`no ${path} among ${files.map((x) => x.path).join(", ")}`);
  return f.content;
}

async function writeTree(root: string, files: readonly BundleFile[]): Promise<void> {
  for (const f of files) {
    await mkdir(dirname(join(root, f.path)), { recursive: true });
    await writeFile(join(root, f.path), f.content);
  }
}

async function evalJson(expr: string): Promise<unknown> {
  return JSON.parse((await run("nix-instantiate", ["--eval", "--strict", "--json", "--expr", expr])).stdout);
}

describe("renderInstaller", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "nk-installer-"));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("renders the stick's files, sorted and byte-identical on every call", () => {
    const files = renderInstaller(exampleInventory(), "n4", OPTIONS);
    expect(files.map((f) => f.path)).toEqual([
      "README.md",
      "ca.pem",
      "enroll-token",
      "flake.lock",
      "flake.nix",
      "install.json",
      "install.sh",
      "installer.nix",
      "nk/boot.nix",
      "nk/network.nix",
      "nk/users.nix",
      "node.nix",
    ]);
    expect(renderInstaller(exampleInventory(), "n4", OPTIONS)).toEqual(files);
    expect(file(files, "install.sh")).toBe(INSTALL_SCRIPT);
    expect(file(files, "ca.pem")).toBe(CA);
    const flake = file(files, "flake.nix");
    expect(flake).toContain('nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11"');
    expect(flake).toContain(`nk.url = "${EXAMPLE_NK_SOURCE}"`);
    // The first system builds on the same locked inputs as every bundle.
    expect(JSON.parse(file(files, "flake.lock")).nodes.nk.locked).toEqual(testInputs().nk.locked);
    expect(flake).toContain("modules = [ nk.nixosModules.agent ./node.nix ]");
  });

  it("writes install.json with the disk, filesystem ids and coordinators the script reads", () => {
    const files = renderInstaller(exampleInventory(), "n4", { ...OPTIONS, coordinator: ["a.lan:7443", "[fd00::1]:7443"] });
    expect(JSON.parse(file(files, "install.json"))).toEqual({
      cluster: "homelab",
      node: "n4",
      disk: "/dev/sda",
      loader: "grub-bios",
      efiMountPoint: "/boot/efi",
      ...filesystemIds("homelab", "n4"),
      coordinators: ["a.lan:7443", "[fd00::1]:7443"],
    });
  });

  it("derives stable, well-formed filesystem ids that differ between nodes and clusters", () => {
    const a = filesystemIds("homelab", "n1");
    expect(a).toEqual(filesystemIds("homelab", "n1"));
    expect(a.rootUuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.espSerial).toMatch(/^[0-9A-F]{8}$/);
    expect(espUuid("ABCD1234")).toBe("ABCD-1234");
    expect(filesystemIds("homelab", "n2").rootUuid).not.toBe(a.rootUuid);
    expect(filesystemIds("lab2", "n1").espSerial).not.toBe(a.espSerial);
  });

  it("keeps the token out of every file but enroll-token", () => {
    const files = renderInstaller(exampleInventory(), "n1", OPTIONS);
    expect(file(files, "enroll-token")).toBe(TOKEN);
    for (const f of files.filter((x) => x.path !== "enroll-token")) expect(f.content, f.path).not.toContain(TOKEN);
    // installer.nix only points at the file; install.sh installs it as /etc/nk/token with mode 0600.
    expect(file(files, "installer.nix")).toContain("builtins.pathExists ./enroll-token");
    expect(INSTALL_SCRIPT).toContain('install -m 0600 -- "$media/enroll-token" "$target/etc/nk/token"');
  });

  it("leaves the token file out when none is given, and says how to provide it", () => {
    const files = renderInstaller(exampleInventory(), "n1", { coordinator: "coord.lan:7443", caPem: CA, inputs: testInputs() });
    expect(files.some((f) => f.path === "enroll-token")).toBe(false);
    expect(file(files, "README.md")).toContain("nkctl node enroll n1");
  });

  it("puts nk.autoinstall on the kernel command line only when asked", () => {
    expect(file(renderInstaller(exampleInventory(), "n1", OPTIONS), "installer.nix")).toContain("boot.kernelParams = [ ];");
    const auto = file(renderInstaller(exampleInventory(), "n1", { ...OPTIONS, autoInstall: true }), "installer.nix");
    expect(auto).toContain('boot.kernelParams = [ "nk.autoinstall" ];');
    expect(auto).toContain('ConditionKernelCommandLine = "nk.autoinstall"');
  });

  it("produces .nix files that parse, and node.nix evaluates hostile values back exactly", async () => {
    let inv = withCluster(exampleInventory(), {
      timezone: `Europe/${HOSTILE}`,
      admin: { user: "ops", sshKeys: [`ssh-ed25519 AAAA ${HOSTILE}`] },
      network: { ...exampleInventory().cluster.network, nameservers: [HOSTILE] },
      nixpkgs: { flake: `github:NixOS/nixpkgs/${HOSTILE}` },
      agent: { flake: HOSTILE, version: "0.1.0" },
    });
    inv = withNode(inv, "n2", { boot: { loader: "grub-bios", device: `/dev/${HOSTILE}`, efiMountPoint: "/boot/efi" }, interface: "eth0.100" });
    const files = renderInstaller(inv, "n2", { ...OPTIONS, inputs: testInputs(`github:NixOS/nixpkgs/${HOSTILE}`, HOSTILE) });
    const nix = files.filter((f) => f.path.endsWith(".nix"));
    expect(nix.map((f) => f.path)).toEqual(["flake.nix", "installer.nix", "nk/boot.nix", "nk/network.nix", "nk/users.nix", "node.nix"]);
    const results = await parseNixSources(nix.map((f) => ({ name: f.path, content: f.content })));
    expect(results.filter((r) => !r.ok)).toEqual([]);

    const root = join(dir, "hostile");
    await writeTree(root, files);
    const node = `(import ${join(root, "node.nix")} { modulesPath = "/stub"; })`;
    const boot = `(import ${join(root, "nk/boot.nix")} { }).boot.loader`;
    await expect(evalJson(`${boot}.grub.devices`)).resolves.toEqual([`/dev/${HOSTILE}`]);
    await expect(evalJson(`${boot}.grub.efiInstallAsRemovable`)).resolves.toBe(true);
    await expect(evalJson(`map toString (builtins.filter builtins.isPath ${node}.imports)`)).resolves.toContain(join(root, "nk/boot.nix"));
    await expect(evalJson(`${node}.time.timeZone`)).resolves.toBe(`Europe/${HOSTILE}`);
    await expect(evalJson(`${node}.services.nk-agent`)).resolves.toEqual({ enable: true, nodeName: "n2" });
    const ids = filesystemIds("homelab", "n2");
    await expect(evalJson(`${node}.fileSystems`)).resolves.toEqual({
      "/": { device: `/dev/disk/by-uuid/${ids.rootUuid}`, fsType: "ext4" },
      "/boot/efi": { device: `/dev/disk/by-uuid/${espUuid(ids.espSerial)}`, fsType: "vfat", options: ["umask=0077"] },
    });
    const flake = `(import ${join(root, "flake.nix")})`;
    await expect(evalJson(`${flake}.inputs.nixpkgs.url`)).resolves.toBe(`github:NixOS/nixpkgs/${HOSTILE}`);
    await expect(evalJson(`${flake}.inputs.nk.url`)).resolves.toBe(HOSTILE);
    expect(JSON.parse(file(files, "install.json")).disk).toBe(`/dev/${HOSTILE}`);
  });

  it.each([
    ["an unknown node", "n9", OPTIONS, "NODE_UNKNOWN"],
    ["a coordinator without a port", "n1", { ...OPTIONS, coordinator: "coord.lan" }, "INVALID_ARGUMENT"],
    ["a coordinator port out of range", "n1", { ...OPTIONS, coordinator: "coord.lan:70000" }, "INVALID_ARGUMENT"],
    ["no coordinator at all", "n1", { ...OPTIONS, coordinator: [] }, "INVALID_ARGUMENT"],
    ["a CA that is not PEM", "n1", { ...OPTIONS, caPem: "not a certificate" }, "INVALID_ARGUMENT"],
    ["a token with spaces", "n1", { ...OPTIONS, enrollToken: "two words" }, "INVALID_ARGUMENT"],
    ["an empty token", "n1", { ...OPTIONS, enrollToken: "  " }, "INVALID_ARGUMENT"],
  ] as const)("rejects %s", (_what, node, options, code) => {
    const err: unknown = (() => {
      try {
        renderInstaller(exampleInventory(), node, options);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(isNkError(err, code)).toBe(true);
  });

  it("rejects a boot device outside /dev, naming the field", () => {
    const inv = withNode(exampleInventory(), "n1", { boot: { loader: "grub-bios", device: "sda" } });
    expect(() => renderInstaller(inv, "n1", OPTIONS)).toThrow('nodes.n1.boot.device must be a device under /dev (e.g. /dev/nvme0n1), got "sda"');
  });

  it("renders the bundle's own nk/boot.nix, so the installed node and its bundles boot the same way", () => {
    const inv = withNode(exampleInventory(), "n2", { boot: { loader: "systemd-boot", efiMountPoint: "/boot" } });
    const files = renderInstaller(inv, "n2", { ...OPTIONS, disk: "/dev/nvme0n1" });
    const bundle = renderNode(inv, inv.nodes[1]!, lockFilesFor(inv));
    expect(file(files, "nk/boot.nix")).toBe(bundle.files.find((f) => f.path === "nk/boot.nix")!.content);
    expect(file(files, "node.nix")).toContain('  fileSystems."/boot" = {\n');
    expect(JSON.parse(file(files, "install.json"))).toMatchObject({ disk: "/dev/nvme0n1", loader: "systemd-boot", efiMountPoint: "/boot" });
    expect(file(files, "README.md")).toContain("The node boots with systemd-boot, a UEFI loader: start the stick in UEFI mode");
  });

  it("builds the node and the stick for an aarch64 node's system, without x86 KVM modules", () => {
    const inv = withNode(exampleInventory(), "n2", { system: "aarch64-linux", boot: { loader: "grub-efi", efiMountPoint: "/boot/efi" } });
    const files = renderInstaller(inv, "n2", { ...OPTIONS, disk: "/dev/nvme0n1" });
    const flake = file(files, "flake.nix");
    expect(flake.match(/system = "aarch64-linux";/g)).toHaveLength(2);
    expect(flake).toContain("packages.aarch64-linux = {");
    expect(flake).not.toContain("x86_64");
    expect(file(files, "node.nix")).not.toContain("kvm-intel");
    expect(file(renderInstaller(exampleInventory(), "n2", OPTIONS), "node.nix")).toContain('boot.kernelModules = [ "kvm-intel" "kvm-amd" ];');
  });

  it.each([
    ["an EFI loader without --disk", { boot: { loader: "grub-efi", efiMountPoint: "/boot" } }, {}, "node n1 boots with grub-efi, whose settings name no disk: say which disk to erase with --disk (e.g. --disk /dev/nvme0n1)"],
    ["--disk other than the grub-bios device", {}, { disk: "/dev/sdb" }, "--disk /dev/sdb is not nodes.n1.boot.device /dev/nvme0n1: GRUB would go onto a disk the installer did not partition"],
    ["--disk outside /dev", { boot: { loader: "systemd-boot", efiMountPoint: "/boot" } }, { disk: "sda" }, '--disk must be a device under /dev (e.g. /dev/nvme0n1), got "sda"'],
    ["an extlinux board", { system: "aarch64-linux", boot: { loader: "extlinux" } }, { disk: "/dev/mmcblk0" }, "node n1 boots with extlinux (e.g. a Raspberry Pi): install it from the NixOS SD card image instead of an installer stick (docs/nixos.md)"],
  ] as const)("refuses %s with a clear message", (_what, patch, extra, message) => {
    const inv = withNode(exampleInventory(), "n1", patch as Partial<NodeSpec>);
    expect(() => renderInstaller(inv, "n1", { ...OPTIONS, ...extra })).toThrow(message);
  });
});
