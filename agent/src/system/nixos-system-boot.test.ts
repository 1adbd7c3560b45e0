// NixosSystem's reboots run exactly the expected command lines: boot and reboot, one-shot trial entries per boot loader, blessing.
import { describe, expect, it } from "vitest";
import { RecordingRunner } from "./recording-runner.js";
import { NixosSystem } from "./nixos-system.js";
import { BOOT_NEW, OLD, RUN, SP, setup } from "./nixos-system-fixtures.js";

describe("NixosSystem reboots", () => {
  it("boots the new system and reboots", async () => {
    const { runner, sys } = setup();
    runner.on("systemctl is-active", { stdout: "inactive" });
    expect(await sys.bootAndReboot(SP, null)).toMatchObject({ ok: true });
    expect(runner.lines()).toEqual([
      ...BOOT_NEW,
      "systemctl reboot",
    ]);
  });

  it("boots a new generation once with systemd-boot, the last good one staying the default", async () => {
    const { runner, sys } = setup();
    runner.on("systemctl is-active", { stdout: "inactive" });
    runner.on(`cat ${SP}/etc/nk/boot-loader`, { stdout: "systemd-boot\n" });
    runner.on("readlink /nix/var/nix/profiles/system", { stdout: "system-42-link\n" });
    expect(await sys.bootAndReboot(SP, OLD)).toMatchObject({ ok: true });
    expect(runner.lines()).toEqual([
      `cat ${SP}/etc/nk/boot-loader`,
      ...BOOT_NEW,
      "readlink /nix/var/nix/profiles/system",
      "systemctl is-active nk-boot-zyxwvutsrqpo.service",
      `${RUN} --unit=nk-boot-zyxwvutsrqpo --wait ${OLD}/bin/switch-to-configuration boot`,
      "bootctl set-oneshot nixos-generation-42.conf",
      "systemctl reboot",
    ]);
  });

  it("boots a new generation once with GRUB: grub-reboot names its entry in the all-configurations submenu by index", async () => {
    const { runner, sys } = setup();
    runner.on("systemctl is-active", { stdout: "inactive" });
    runner.on(`cat ${SP}/etc/nk/boot-loader`, { exitCode: 1, stderr: "No such file or directory" });
    runner.on("bootctl is-installed", { exitCode: 1, stdout: "no\n" });
    runner.on("readlink /nix/var/nix/profiles/system", { stdout: "system-7-link\n" });
    runner.on("cat /boot/grub/grub.cfg", {
      stdout: [
        'menuentry "NixOS - Default" {',
        "}",
        'submenu "NixOS - All configurations" {',
        'menuentry "NixOS - Configuration 7 (2026-12-02 - 24.11.20241201.abcdef0)" {',
        "}",
        'menuentry "NixOS - Configuration 6 (2026-11-30 - 24.11.20241101.1234567)" {',
        "}",
        "}",
      ].join("\n"),
    });
    expect(await sys.bootAndReboot(SP, OLD)).toMatchObject({ ok: true });
    expect(runner.lines()).toEqual([
      `cat ${SP}/etc/nk/boot-loader`,
      "bootctl is-installed",
      "test -f /boot/grub/grub.cfg",
      ...BOOT_NEW,
      "readlink /nix/var/nix/profiles/system",
      "systemctl is-active nk-boot-zyxwvutsrqpo.service",
      `${RUN} --unit=nk-boot-zyxwvutsrqpo --wait ${OLD}/bin/switch-to-configuration boot`,
      "cat /boot/grub/grub.cfg",
      "grub-reboot 1>0",
      "systemctl reboot",
    ]);
    expect(runner.calls.at(-2)?.argv).toEqual(["grub-reboot", "1>0"]);
  });

  it("boots the new system as the default where the loader has no one-shot entry (extlinux)", async () => {
    const { runner, sys } = setup();
    runner.on("systemctl is-active", { stdout: "inactive" });
    runner.on(`cat ${SP}/etc/nk/boot-loader`, { stdout: "extlinux\n" });
    expect(await sys.bootAndReboot(SP, OLD)).toMatchObject({ ok: true });
    expect(runner.lines()).toEqual([
      `cat ${SP}/etc/nk/boot-loader`,
      ...BOOT_NEW,
      "systemctl reboot",
    ]);
  });

  it("does not reboot when the one-shot entry cannot be armed", async () => {
    const { runner, sys } = setup();
    runner.on("systemctl is-active", { stdout: "inactive" });
    runner.on(`cat ${SP}/etc/nk/boot-loader`, { stdout: "systemd-boot\n" });
    runner.on("readlink /nix/var/nix/profiles/system", { stdout: "system-42-link\n" });
    runner.on("bootctl set-oneshot", { exitCode: 1, stderr: "Failed to set EFI variable: Read-only file system\n" });
    expect(await sys.bootAndReboot(SP, OLD)).toMatchObject({ ok: false, error: "bootctl set-oneshot failed (1): Failed to set EFI variable: Read-only file system" });
    expect(runner.lines()).not.toContain("systemctl reboot");
  });

  it("blesses a trial-booted system by installing the boot loader with it as the default", async () => {
    const { runner, sys } = setup();
    runner.on("systemctl is-active", { stdout: "inactive" });
    expect(await sys.bless(SP)).toMatchObject({ ok: true });
    expect(runner.lines()).toEqual(["systemctl is-active nk-boot-abcdefghijkl.service", `${RUN} --unit=nk-boot-abcdefghijkl --wait ${SP}/bin/switch-to-configuration boot`]);
    runner.on("systemd-run", { exitCode: 1, stderr: "Failed to install bootloader\n" });
    expect(await sys.bless(SP)).toMatchObject({ ok: false, error: "switch-to-configuration boot exited with 1: Failed to install bootloader" });
  });

  it("says why an activation failed from its unit's journal, which holds its output", async () => {
    const runner = new RecordingRunner();
    const sys = new NixosSystem({ runner, pollMs: 500, sleep: async () => undefined, now: () => 1_764_900_000_500 });
    runner.on("systemctl is-active", { stdout: "inactive" });
    // systemd-run --wait --quiet prints nothing of the unit's own output; only its exit status comes back.
    runner.on("systemd-run", { exitCode: 1 });
    runner.on("journalctl", { stdout: "updating systemd-boot from 255 to 256\nFailed to install systemd-boot: No space left on device\n" });
    const r = await sys.bless(SP);
    expect(r).toMatchObject({ ok: false, error: "switch-to-configuration boot exited with 1: updating systemd-boot from 255 to 256; Failed to install systemd-boot: No space left on device" });
    expect(r.log).toContain("No space left on device");
    expect(runner.calls.at(-1)?.argv).toEqual(["journalctl", "--no-pager", "-o", "cat", "-n", "50", "--since=@1764900000", "-u", "nk-boot-abcdefghijkl.service"]);
  });

  it("does not reboot when the boot entry could not be installed", async () => {
    const { runner, sys } = setup();
    runner.on("systemctl is-active", { stdout: "inactive" });
    runner.on("systemd-run", { exitCode: 1, stderr: "grub-install: error" });
    expect(await sys.bootAndReboot(SP, null)).toMatchObject({ ok: false });
    expect(runner.lines()).not.toContain("systemctl reboot");
  });

  it("rolls back to an explicit earlier system, by switch or by boot and reboot", async () => {
    const { runner, sys } = setup();
    runner.on("systemctl is-active", { stdout: "inactive" });
    await sys.rollbackSwitch(OLD);
    await sys.rollbackBootAndReboot(OLD);
    expect(runner.lines()).toEqual([
      "systemctl is-active nk-switch-zyxwvutsrqpo.service",
      `nix-env -p /nix/var/nix/profiles/system --set ${OLD}`,
      `${RUN} --unit=nk-switch-zyxwvutsrqpo --wait ${OLD}/bin/switch-to-configuration switch`,
      "systemctl is-active nk-boot-zyxwvutsrqpo.service",
      `nix-env -p /nix/var/nix/profiles/system --set ${OLD}`,
      `${RUN} --unit=nk-boot-zyxwvutsrqpo --wait ${OLD}/bin/switch-to-configuration boot`,
      "systemctl reboot",
    ]);
  });
});
