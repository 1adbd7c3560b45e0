// Writes a bundle's file tree to disk (replacing what was there) and reads one back.
import { mkdir, open, readdir, readFile, readlink, rename, rm, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { NkError } from "../../../shared/src/errors/index.js";
import type { BundleFile } from "../../../shared/src/render/index.js";
import { bundlesToRemove, type BundleKeep } from "./bundle-gc.js";

/** Build artifacts that live in a bundle directory but are not part of the bundle. */
const NOT_BUNDLE = new Set(["result"]);

function checkPath(path: string): void {
  const parts = path.split("/");
  if (path.startsWith("/") || parts.some((p) => p === "" || p === "." || p === "..")) {
    throw new NkError("INVALID_ARGUMENT", `bundle file path not allowed: ${JSON.stringify(path)}`);
  }
}

/** Writes into a sibling temp dir, then swaps it in, so a crash never leaves a half-new bundle behind. */
export async function writeBundleDir(dir: string, files: readonly BundleFile[]): Promise<void> {
  for (const f of files) checkPath(f.path);
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  for (const f of files) {
    const target = join(tmp, f.path);
    await mkdir(dirname(target), { recursive: true });
    const fh = await open(target, "w", 0o644);
    try {
      await fh.writeFile(f.content, "utf8");
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

/** Names of the directories under a bundle root (none if it does not exist yet). */
export async function bundleDirNames(root: string): Promise<string[]> {
  try {
    return (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new NkError("IO", `cannot list ${root}`, { cause: err });
  }
}

/** The bundle's files, sorted by path, build artifacts left out. */
export async function readBundleDir(dir: string): Promise<BundleFile[]> {
  const out: BundleFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (!rel && NOT_BUNDLE.has(entry.name)) continue;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out.push({ path, content: await readFile(join(dir, path), "utf8") });
    }
  };
  await walk("");
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Points `<bundleDir>/result` at `systemPath`, as nixos-rebuild build leaves it: the GC root that keeps the build alive until the bundle goes. */
export async function linkResult(bundleDir: string, systemPath: string): Promise<void> {
  await rm(join(bundleDir, "result"), { force: true });
  await mkdir(bundleDir, { recursive: true });
  await symlink(systemPath, join(bundleDir, "result"));
}

/** Removes the bundle directories `keep` does not protect, reading their `result` links directly; returns their names. */
export async function pruneBundleDirs(root: string, keep: BundleKeep): Promise<string[]> {
  const entries = [];
  for (const name of await bundleDirNames(root)) entries.push({ name, system: await readlink(join(root, name, "result")).catch(() => null) });
  const names = bundlesToRemove(entries, keep);
  for (const name of names) await rm(join(root, name), { recursive: true, force: true });
  return names;
}
