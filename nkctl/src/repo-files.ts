// Reads an inventory checkout from disk into RepoFiles: inventory.yaml plus nodes/, common/, manifests/.
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { NkError } from "../../shared/src/errors/index.js";
import type { RepoFiles } from "../../shared/src/inventory/index.js";
import { LOCK_FILE } from "../../shared/src/lock/index.js";
import { fsReason } from "../../shared/src/fs/index.js";

/** The parts of the tree nk reads; everything else (README, .git, CI files) is not the inventory. */
export const INVENTORY_DIRS = ["nodes", "common", "manifests"] as const;

export function isInventoryPath(path: string): boolean {
  return path === "inventory.yaml" || path === LOCK_FILE || INVENTORY_DIRS.some((d) => path.startsWith(`${d}/`));
}

async function walk(root: string, rel: string, out: Map<string, string>): Promise<void> {
  const entries = await readdir(join(root, rel), { withFileTypes: true });
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name === ".git") continue;
    const path = `${rel}/${e.name}`;
    // Symbolic links are followed on disk (a checkout may use them); git trees do not follow them.
    const isDir = e.isDirectory() || (e.isSymbolicLink() && (await stat(join(root, path))).isDirectory());
    if (isDir) await walk(root, path, out);
    else out.set(path, await readFile(join(root, path), "utf8"));
  }
}

/** Reads `dir`; a missing inventory.yaml or nk.lock is left for validateRepo to report. */
export async function readRepoDir(dir: string): Promise<RepoFiles> {
  const info = await stat(dir).catch(() => null);
  if (info === null) throw new NkError("INVALID_ARGUMENT", `${dir} does not exist`);
  if (!info.isDirectory()) throw new NkError("INVALID_ARGUMENT", `${dir} is a file, not a directory (name the inventory checkout)`);
  const files = new Map<string, string>();
  for (const name of ["inventory.yaml", LOCK_FILE]) {
    const text = await readFile(join(dir, name), "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw new NkError("IO", `cannot read ${join(dir, name)}: ${fsReason(err)}`, { cause: err });
    });
    if (text !== undefined) files.set(name, text);
  }
  for (const sub of INVENTORY_DIRS) {
    const subInfo = await stat(join(dir, sub)).catch(() => null);
    if (subInfo?.isDirectory()) await walk(dir, sub, files);
  }
  return files;
}
