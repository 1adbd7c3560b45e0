// The API VIP across simulated machines: each records its keepalived as the real one would behave, and the holder
// is what VRRP would elect among the carriers: the highest priority that is up, running keepalived, not handed over.
import { mkdir, readdir, readlink, symlink } from "node:fs/promises";
import { join } from "node:path";
import { readSmallFile } from "./read-small-file.js";

/** One simulated machine's part in the VRRP election (files in its directory, written by SimSystem). */
export interface SimVipView {
  /** VRRP priority of the running system's nk/keepalived.nix; null when it carries no VIP. */
  readonly priority: number | null;
  readonly keepalivedActive: boolean;
  /** The agent's hand-over flag (as /var/lib/nk-agent/vip-handed-over): the track script fails while it exists. */
  readonly handedOver: boolean;
  /** False from the start of a reboot until the machine is back. */
  readonly powered: boolean;
}

/** The file names SimSystem keeps them in. */
export const SIM_VIP_FILES = { handedOver: "vip-handed-over", keepalived: "keepalived", power: "power" } as const;

/** `priority = N;` of a rendered nk/keepalived.nix; null if there is none. */
export function vrrpPriorityOf(keepalivedNix: string | undefined): number | null {
  const m = keepalivedNix === undefined ? null : /^\s*priority = (\d+);$/m.exec(keepalivedNix);
  return m ? Number(m[1]) : null;
}

async function text(dir: string, rel: string): Promise<string | null> {
  try {
    return readSmallFile(join(dir, rel))?.trim() ?? null;
  } catch {
    return null;
  }
}

export async function readSimVip(dir: string): Promise<SimVipView> {
  const current = await text(dir, "current-system");
  const meta = current === null ? null : await text(dir, join("store", current.slice(current.lastIndexOf("/") + 1), "meta.json"));
  const priority = meta === null ? null : ((JSON.parse(meta) as { vrrpPriority?: number }).vrrpPriority ?? null);
  return {
    priority,
    keepalivedActive: (await text(dir, SIM_VIP_FILES.keepalived)) === "active",
    handedOver: (await text(dir, SIM_VIP_FILES.handedOver)) !== null,
    powered: (await text(dir, SIM_VIP_FILES.power)) !== "off",
  };
}

/** Who holds the VIP: the eligible carrier with the highest priority (priorities are distinct), or null. */
export function vipHolder(views: ReadonlyMap<string, SimVipView>): string | null {
  let best: { node: string; priority: number } | null = null;
  for (const [node, v] of views) {
    if (v.priority === null || !v.keepalivedActive || v.handedOver || !v.powered) continue;
    if (best === null || v.priority > best.priority) best = { node, priority: v.priority };
  }
  return best?.node ?? null;
}

/** Links a machine's directory into the LAN directory under its node name (once; a reopened machine keeps its link). */
export async function joinLan(lanDir: string, node: string, dir: string): Promise<void> {
  await mkdir(lanDir, { recursive: true });
  const link = join(lanDir, node);
  if ((await readlink(link).catch(() => null)) === null) await symlink(dir, link).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "EEXIST") throw err;
  });
}

/** Node → machine directory of every machine linked into the LAN directory. */
export async function lanMachines(lanDir: string): Promise<Map<string, string>> {
  const names = await readdir(lanDir).catch(() => [] as string[]);
  return new Map(names.map((n) => [n, join(lanDir, n)] as const));
}

/** Reads every machine (node → its SimSystem directory) and elects the holder. */
export async function simVipHolder(dirs: ReadonlyMap<string, string>): Promise<string | null> {
  const views = new Map(await Promise.all([...dirs].map(async ([node, dir]) => [node, await readSimVip(dir)] as const)));
  return vipHolder(views);
}
