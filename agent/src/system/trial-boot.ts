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

/** A menu item of grub.cfg: its title and its index path ("2>0>1"), the form `default` and `next_entry` take. */
interface GrubItem {
  readonly title: string;
  readonly path: string;
  /** The titles of the submenus it sits in, outermost first. */
  readonly within: readonly string[];
}

/** Every menuentry and submenu in grub.cfg, in order, with GRUB's index path; a `{` block of anything else is a level of its own. */
function grubItems(grubCfg: string): GrubItem[] {
  const items: GrubItem[] = [];
  // Each open block: its index path prefix (null inside an entry's body or a non-menu block), the submenus it sits in,
  // and its next child's index.
  const stack: Array<{ path: string | null; within: readonly string[]; next: number }> = [{ path: "", within: [], next: 0 }];
  for (const raw of grubCfg.split("\n")) {
    const line = raw.trim();
    const top = stack.at(-1)!;
    const item = line.match(/^(menuentry|submenu)\s+(?:"([^"]*)"|'([^']*)')/);
    if (item && top.path !== null) {
      const title = item[2] ?? item[3] ?? "";
      const path = top.path === "" ? String(top.next) : `${top.path}>${top.next}`;
      top.next++;
      items.push({ title, path, within: top.within });
      if (line.endsWith("{")) stack.push(item[1] === "submenu" ? { path, within: [...top.within, title], next: 0 } : { path: null, within: [], next: 0 });
    } else if (line.endsWith("{")) {
      stack.push({ path: null, within: [], next: 0 });
    } else if (line === "}" && stack.length > 1) {
      stack.pop();
    }
  }
  return items;
}

/**
 * GRUB's index path of generation `gen`'s entry, by index rather than title (a specialisation's submenu title starts
 * with "> ", which grub-reboot would read as a separator). install-grub.pl writes `submenu "NixOS - All configurations"`
 * with `menuentry "NixOS - Configuration <N> (<date> - <version>)"` per generation; a generation with specialisations
 * is a `submenu "> NixOS - Configuration <N> (…)"` whose `menuentry "NixOS - Configuration <N> - Default (…)"` is the
 * system itself.
 */
export function grubEntryPath(grubCfg: string, gen: number): { path: string; title: string } | null {
  // Directly in the system profile's submenu, or in a generation's own "> " submenu there.
  const inAll = ({ within }: GrubItem): boolean => /- All configurations$/.test(within[0] ?? "") && (within.length === 1 || (within.length === 2 && within[1]!.startsWith("> ")));
  const entry = new RegExp(`^[^>].* - Configuration ${gen}( - Default)? \\(`);
  const found = grubItems(grubCfg).find((i) => entry.test(i.title) && inAll(i));
  return found ? { path: found.path, title: found.title } : null;
}

/** Arms generation `gen` for the next boot only: systemd-boot's LoaderEntryOneShot, GRUB's next_entry. */
export async function armOneshot(runner: CommandRunner, loader: TrialLoader, gen: number): Promise<ActivationResult> {
  let argv: string[];
  let title = "";
  if (loader === "systemd-boot") {
    argv = ["bootctl", "set-oneshot", `nixos-generation-${gen}.conf`];
  } else {
    const cfg = await runner.run(["cat", GRUB_CFG]);
    const entry = cfg.exitCode === 0 ? grubEntryPath(cfg.stdout, gen) : null;
    if (entry === null) return { ok: false, error: `no GRUB entry for generation ${gen} in ${GRUB_CFG}${cfg.exitCode === 0 ? "" : `: ${lastLine(cfg.stderr)}`}`, log: "" };
    argv = ["grub-reboot", entry.path];
    title = ` "${entry.title}"`;
  }
  const r = await runner.run(argv);
  const log = [r.stdout, r.stderr].filter((x) => x.trim() !== "").join("\n");
  if (r.exitCode !== 0) return { ok: false, error: `${argv[0]} ${argv[1]} failed (${r.exitCode}): ${lastLine(r.stderr)}`, log };
  return { ok: true, log: `generation ${gen} armed for one boot (${argv.join(" ")}${title})` };
}
