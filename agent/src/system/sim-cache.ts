// The simulated binary cache: a directory of signed system records that SimBuilder pushes and SimSystem fetches.
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { NkError } from "../../../shared/src/errors/index.js";
import { writeFileAtomic } from "../../../shared/src/fs/index.js";
import { storeHashOf } from "./system.js";
import type { SimSystemMeta } from "./sim-derive.js";

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
