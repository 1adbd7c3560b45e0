// Trial boots on NixOS: which boot loader a system uses, and the commands that boot a generation once.
import type { CommandRunner } from "./command-runner.js";
import type { ActivationResult } from "./system.js";

/** Loaders with a one-shot entry; the others (extlinux) boot their default, so no trial there. */
export type TrialLoader = "systemd-boot" | "grub";

/** Written into the system by nk's rendered boot.nix: environment.etc."nk/boot-loader".text = "<loader>". */
export const BOOT_LOADER_FILE = "etc/nk/boot-loader";
export const GRUB_CFG = "/boot/grub/grub.cfg";

const LOADERS: Readonly<Record<string, TrialLoader | null>> = { "systemd-boot": "systemd-boot", "grub-efi": "grub", "grub-bios": "grub", extlinux: null };

function lastLine(text: string): string {
  return text.trim().split("\n").filter((l) => l.trim() !== "").at(-1) ?? "";
}

/** The loader the system says it uses; for systems without the file, what is installed on the machine. */
export async function trialLoader(runner: CommandRunner, systemPath: string): Promise<TrialLoader | null> {
  const file = await runner.run(["cat", `${systemPath}/${BOOT_LOADER_FILE}`]);
  if (file.exitCode === 0) return LOADERS[file.stdout.trim()] ?? null;
  if ((await runner.run(["bootctl", "is-installed"])).exitCode === 0) return "systemd-boot";
  if ((await runner.run(["test", "-f", GRUB_CFG])).exitCode === 0) return "grub";
  return null;
}

/** The generation a profile link names: nix-env points `/nix/var/nix/profiles/system` at `system-<N>-link`. */
export function generationOf(profile: string, target: string): number | null {
  const base = profile.slice(profile.lastIndexOf("/") + 1);
  const m = target.slice(target.lastIndexOf("/") + 1).match(/^(.+)-([0-9]+)-link$/);
  return m && m[1] === base ? Number(m[2]) : null;
}

/**
 * GRUB's path of generation `gen`'s entry: install-grub.pl writes `submenu "NixOS - All configurations"` with one
 * `menuentry "NixOS - Configuration <N> (<date> - <version>)"` per generation; grub-reboot takes "submenu>entry".
 */
export function grubEntryPath(grubCfg: string, gen: number): string | null {
  const submenu = grubCfg.match(/^\s*submenu "([^"]* - All configurations)"/m)?.[1];
  const entry = grubCfg.match(new RegExp(`^\\s*menuentry "([^"]* - Configuration ${gen} \\([^"]*\\))"`, "m"))?.[1];
  return submenu && entry ? `${submenu}>${entry}` : null;
}

/** Arms generation `gen` for the next boot only: systemd-boot's LoaderEntryOneShot, GRUB's next_entry. */
export async function armOneshot(runner: CommandRunner, loader: TrialLoader, gen: number): Promise<ActivationResult> {
  let argv: string[];
  if (loader === "systemd-boot") {
    argv = ["bootctl", "set-oneshot", `nixos-generation-${gen}.conf`];
  } else {
    const cfg = await runner.run(["cat", GRUB_CFG]);
    const path = cfg.exitCode === 0 ? grubEntryPath(cfg.stdout, gen) : null;
    if (path === null) return { ok: false, error: `no GRUB entry for generation ${gen} in ${GRUB_CFG}${cfg.exitCode === 0 ? "" : `: ${lastLine(cfg.stderr)}`}`, log: "" };
    argv = ["grub-reboot", path];
  }
  const r = await runner.run(argv);
  const log = [r.stdout, r.stderr].filter((x) => x.trim() !== "").join("\n");
  if (r.exitCode !== 0) return { ok: false, error: `${argv[0]} ${argv[1]} failed (${r.exitCode}): ${lastLine(r.stderr)}`, log };
  return { ok: true, log: `generation ${gen} armed for one boot (${argv.join(" ")})` };
}
