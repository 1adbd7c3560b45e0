// install.sh run for real by bash against fake disk tools: what it refuses, what it runs, in which order, with which files.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { INSTALL_SCRIPT } from "./install-script.js";
import type { BootLoader } from "../inventory/model.js";
import { filesystemIds, renderInstallJson } from "./install-settings.js";

// One fake (fake-disk-tools.sh) for every tool the script must not really run.
const FAKE = readFileSync(join(import.meta.dirname, "fake-disk-tools.sh"), "utf8");
const FAKES = ["lsblk", "findmnt", "parted", "nixos-generate-config", "wipefs", "udevadm", "mkfs.vfat", "mkfs.ext4", "mount", "umount", "nixos-install", "systemctl", "sync", "sleep"];

const TOKEN = "nk_tok_0123456789abcdef";
const SYSTEM = "/nix/store/0000000000000000000000000000000-nixos-system-n1";

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly log: string[];
}

describe("install.sh", () => {
  let dir = "";
  let disk = "";
  let target = "";
  let media = "";
  const ids = filesystemIds("homelab", "n1");

  function setup(opts: { node?: string; bootDevice?: string; token?: boolean; cmdline?: string; loader?: BootLoader; efiMountPoint?: string } = {}): void {
    disk = opts.bootDevice ?? join(dir, "dev", "vdz");
    writeFileSync(disk, "");
    writeFileSync(join(media, "install.json"), renderInstallJson({
      cluster: "homelab",
      node: opts.node ?? "n1",
      disk,
      loader: opts.loader ?? "grub-bios",
      efiMountPoint: opts.efiMountPoint ?? "/boot/efi",
      ...ids,
      coordinators: ["coord.lan:7443", "[fd00::2]:7443"],
    }));
    writeFileSync(join(media, "ca.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    if (opts.token) writeFileSync(join(media, "enroll-token"), TOKEN);
    writeFileSync(join(dir, "cmdline"), `${opts.cmdline ?? "BOOT_IMAGE=/boot/bzImage init=/init quiet"}\n`);
  }

  function run(args: string[], input: string, env: Record<string, string> = {}): Run {
    const logFile = join(dir, "log");
    writeFileSync(logFile, "");
    const result = spawnSync("bash", [join(dir, "install.sh"), ...args], {
      cwd: dir,
      input,
      encoding: "utf8",
      timeout: 20_000,
      env: {
        PATH: `${join(dir, "bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`,
        FAKE_LOG: logFile,
        NK_MEDIA: media,
        NK_TARGET: target,
        NK_CMDLINE: join(dir, "cmdline"),
        NK_SYSTEM: SYSTEM,
        ...env,
      },
    });
    const log = readFileSync(logFile, "utf8").split("\n").filter((l) => l !== "");
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, log };
  }

  const destructive = (log: string[]): string[] => log.filter((l) => /^(wipefs|parted|mkfs\.|mount|nixos-install|systemctl)/.test(l));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "nk-install-sh-"));
    target = join(dir, "mnt");
    media = join(dir, "media");
    for (const d of ["bin", "dev", "media"]) mkdirSync(join(dir, d));
    writeFileSync(join(dir, "install.sh"), INSTALL_SCRIPT);
    writeFileSync(join(dir, "fake"), FAKE);
    chmodSync(join(dir, "fake"), 0o755);
    for (const name of FAKES) symlinkSync(join(dir, "fake"), join(dir, "bin", name));
  });
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("is valid bash (and clean under shellcheck when it is installed)", () => {
    expect(spawnSync("bash", ["-n", join(dir, "install.sh")]).status).toBe(0);
    if (spawnSync("shellcheck", ["--version"]).status === 0) {
      const r = spawnSync("shellcheck", ["-s", "bash", join(dir, "install.sh")], { encoding: "utf8" });
      expect(r.stdout).toBe("");
    }
  });

  it("changes nothing unless the operator types the node's name", () => {
    setup();
    const r = run([], "yes\n");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("not confirmed; nothing was changed");
    expect(destructive(r.log)).toEqual([]);
  });

  it("partitions, formats, mounts, writes /etc/nk and installs the carried system, in that order", () => {
    setup();
    const r = run([], `n1\n${TOKEN}\n\n`);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const esp = `${disk}2`;
    const root = `${disk}3`;
    expect(destructive(r.log)).toEqual([
      `wipefs [-a] [-f] [--] [${disk}]`,
      `parted [-s] [-a] [optimal] [--] [${disk}] [mklabel] [gpt] [mkpart] [nk-bios] [1MiB] [2MiB] [set] [1] [bios_grub] [on] [mkpart] [NK-ESP] [fat32] [2MiB] [1026MiB] [set] [2] [esp] [on] [mkpart] [nk-root] [ext4] [1026MiB] [100%]`,
      `wipefs [-a] [-f] [--] [${esp}] [${root}]`,
      `mkfs.vfat [-F] [32] [-n] [NK-ESP] [-i] [${ids.espSerial}] [--] [${esp}]`,
      `mkfs.ext4 [-q] [-F] [-L] [nk-root] [-U] [${ids.rootUuid}] [--] [${root}]`,
      `mount [--] [${root}] [${target}]`,
      `mount [-o] [umask=0077] [--] [${esp}] [${target}/boot/efi]`,
      `nixos-install [--root] [${target}] [--system] [${SYSTEM}] [--no-root-passwd] [--no-channel-copy]`,
      `systemctl [reboot]`,
    ]);
    expect(r.log).toContain(`nixos-generate-config [--root] [${target}]`);
    const tokenFile = join(target, "etc/nk/token");
    expect(readFileSync(tokenFile, "utf8")).toBe(TOKEN);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(target, "etc/nk/agent.local.json"), "utf8"))).toEqual({ coordinators: ["coord.lan:7443", "[fd00::2]:7443"] });
    expect(readFileSync(join(target, "etc/nk/ca.pem"), "utf8")).toContain("BEGIN CERTIFICATE");
    expect(readFileSync(join(target, "etc/nixos/configuration.nix"), "utf8")).toContain("throw");
    expect(r.stdout).not.toContain(TOKEN);
  });

  it("mounts the ESP where an EFI loader expects it, once the stick started in UEFI mode", () => {
    setup({ token: true, loader: "systemd-boot", efiMountPoint: "/boot" });
    mkdirSync(join(dir, "efi"));
    const r = run(["--yes"], "", { NK_EFI_FIRMWARE: join(dir, "efi") });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.log).toContain(`mount [-o] [umask=0077] [--] [${disk}2] [${target}/boot]`);
    expect(r.stdout).toContain("for systemd-boot");
  });

  it("refuses an EFI loader when the stick started in BIOS mode, before touching the disk", () => {
    setup({ token: true, loader: "grub-efi", efiMountPoint: "/boot/efi" });
    const r = run(["--yes"], "", { NK_EFI_FIRMWARE: join(dir, "no-efi") });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("nk-install: node n1 boots with grub-efi (UEFI), but this machine started the stick in BIOS mode: restart it and pick the stick's UEFI entry in the firmware's boot menu\n");
    expect(destructive(r.log)).toEqual([]);
  });

  it("with --yes asks nothing and installs the stick's token as 0600", () => {
    setup({ token: true });
    const r = run(["--yes"], "");
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain("Type the node name");
    const tokenFile = join(target, "etc/nk/token");
    expect(readFileSync(tokenFile, "utf8")).toBe(TOKEN);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
  });

  it("treats nk.autoinstall on the kernel command line as --yes, and warns when no token exists", () => {
    setup({ cmdline: "quiet nk.autoinstall console=ttyS0" });
    const r = run([], "");
    expect(r.status).toBe(0);
    expect(r.log.some((l) => l.startsWith("nixos-install"))).toBe(true);
    expect(r.stdout).toContain("warning: no token");
    expect(existsSync(join(target, "etc/nk/token"))).toBe(false);
  });

  it("does not take a lookalike word for nk.autoinstall", () => {
    setup({ cmdline: "nk.autoinstall=0 xnk.autoinstall" });
    const r = run([], "no\n");
    expect(r.status).toBe(1);
    expect(destructive(r.log)).toEqual([]);
  });

  it("never installs again without a person over a disk that already holds this node", () => {
    setup({ cmdline: "nk.autoinstall" });
    const r = run([], "", { FAKE_UUIDS: ids.rootUuid });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("already holds node n1");
    expect(destructive(r.log)).toEqual([]);
    // A person may, after confirming (the stick booted without nk.autoinstall).
    writeFileSync(join(dir, "cmdline"), "quiet\n");
    const again = run([], "n1\n\n\n", { FAKE_UUIDS: ids.rootUuid });
    expect(again.status).toBe(0);
    expect(again.stdout).toContain("installing again erases it");
  });

  it.each([
    ["a partition instead of a disk", { FAKE_TYPE: "part" }, "is not a whole disk"],
    ["a disk with something mounted", { FAKE_MOUNTS: "/home" }, "is in use"],
    ["the stick itself", { FAKE_MEDIUM: "__DISK__" }, "is the installer stick itself"],
  ])("refuses %s", (_what, env, message) => {
    setup({ cmdline: "nk.autoinstall" });
    const fixed = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace("__DISK__", disk)]));
    const r = run(["--yes"], "", fixed);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
    expect(destructive(r.log)).toEqual([]);
  });

  it("passes hostile settings as data, never as shell code", () => {
    const weird = join(dir, "dev", `d $(touch pwned) '"; touch pwned2; "x`);
    setup({ bootDevice: weird, node: "n1'; touch pwned3; '" });
    const r = run(["--yes"], "");
    expect(r.status).toBe(0);
    expect(r.log).toContain(`wipefs [-a] [-f] [--] [${weird}]`);
    expect(r.log).toContain(`mkfs.ext4 [-q] [-F] [-L] [nk-root] [-U] [${ids.rootUuid}] [--] [${weird}3]`);
    for (const f of ["pwned", "pwned2", "pwned3"]) expect(existsSync(join(dir, f))).toBe(false);
  });
});
