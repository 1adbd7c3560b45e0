// A folder a run created (`--out`, with the parents mkdir -p made for it) is removed again when the run fails, so a
// failure leaves nothing half-made behind.
import { rmdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fsReason } from "../../shared/src/fs/index.js";

/**
 * Removes `dir`, then each parent up to `top` (the first folder this run created), each only while empty: one
 * that something else was put in meanwhile stays, with what is in it. Resolves with why `dir` stays, or null.
 */
export async function removeCreatedDir(dir: string, top: string): Promise<string | null> {
  const first = resolve(dir);
  const last = resolve(top);
  for (let at = first; ; at = dirname(at)) {
    const err = await rmdir(at).then(() => null, (e: unknown) => e);
    if (err !== null) return at === first ? fsReason(err) : null;
    if (at === last || at === dirname(at)) return null;
  }
}
