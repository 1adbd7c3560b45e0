// Shared by the NixosSystem tests: store paths, the systemd-run prefix, and a driver over a recording runner.
import { NixosSystem } from "./nixos-system.js";
import { RecordingRunner } from "./recording-runner.js";

export const SP = "/nix/store/abcdefghijkl0123456789abcdefghij-nixos-system-n1-24.11";
export const OLD = "/nix/store/zyxwvutsrqpo0123456789abcdefghij-nixos-system-n1-24.11";
export const RUN = "systemd-run -E LOCALE_ARCHIVE -E NIXOS_INSTALL_BOOTLOADER --collect --no-ask-password --quiet --service-type=exec";
/** Profile set to SP and its boot loader installed (SP the default), in its transient unit. */
export const BOOT_NEW = [
  "systemctl is-active nk-boot-abcdefghijkl.service",
  `nix-env -p /nix/var/nix/profiles/system --set ${SP}`,
  `${RUN} --unit=nk-boot-abcdefghijkl --wait ${SP}/bin/switch-to-configuration boot`,
];

export function setup(): { runner: RecordingRunner; sys: NixosSystem; sleeps: number[] } {
  const runner = new RecordingRunner();
  const sleeps: number[] = [];
  const sys = new NixosSystem({ runner, pollMs: 500, sleep: async (ms) => void sleeps.push(ms) });
  return { runner, sys, sleeps };
}
