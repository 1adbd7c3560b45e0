// The simulated binary cache: a directory of signed system records that SimBuilder pushes and SimSystem fetches.
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { NkError } from "../../../shared/src/errors/index.js";
import { writeFileAtomic } from "../../../shared/src/fs/index.js";
import { storeHashOf } from "./system.js";
import type { SimSystemMeta } from "./sim-derive.js";
import { linkResult } from "./bundle-dir.js";
import type { CacheSource } from "./nix-fetch.js";
import type { SimMachineDir } from "./sim-machine-dir.js";
import type { BuildResult } from "./system.js";

/** What a narinfo says in the simulation: the system and the public key whose secret half signed it. */
export interface SimCacheEntry {
  readonly meta: SimSystemMeta;
  readonly signedBy: string;
}

/** Only file:// caches are simulated (a directory shared by the simulated machines). */
export function simCacheDir(url: string): string {
  if (!url.startsWith("file:///")) throw new NkError("INVALID_ARGUMENT", `the simulator only has file:// caches, not ${url}`);
  return fileURLToPath(url);
}

const entryFile = (url: string, systemPath: string): string => join(simCacheDir(url), `${storeHashOf(systemPath)}.json`);

export async function pushSimCache(url: string, entry: SimCacheEntry): Promise<void> {
  await mkdir(simCacheDir(url), { recursive: true });
  await writeFileAtomic(entryFile(url, entry.meta.systemPath), JSON.stringify(entry, null, 2));
}

/** The entry for `systemPath`, or null when the cache does not have it. */
export async function readSimCache(url: string, systemPath: string): Promise<SimCacheEntry | null> {
  const text = await readFile(entryFile(url, systemPath), "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return null;
    throw e;
  });
  const entry = text === null ? null : (JSON.parse(text) as SimCacheEntry);
  return entry?.meta.systemPath === systemPath ? entry : null;
}

/** The simulated `nix copy --from`: a record the trusted key did not sign is refused with Nix's words, nothing stored. */
export async function fetchFromSimCache(disk: SimMachineDir, bundleDir: string, systemPath: string, cache: CacheSource): Promise<BuildResult> {
  const entry = await readSimCache(cache.url, systemPath);
  if (entry === null) return { ok: false, error: `cannot fetch ${systemPath} from ${cache.url}: error: path '${systemPath}' is not available in the cache`, log: "" };
  if (entry.signedBy !== cache.publicKey) {
    const log = `error: cannot add path '${systemPath}' because it lacks a valid signature`;
    return { ok: false, error: `refused ${systemPath} from ${cache.url}: not signed by the trusted key ${cache.publicKey.split(":")[0]}`, log };
  }
  await disk.saveMeta(entry.meta);
  await linkResult(bundleDir, systemPath);
  return { ok: true, systemPath, log: `copying path '${systemPath}' from '${cache.url}'...` };
}
