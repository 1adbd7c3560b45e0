// A kill -9 in the middle of a ref update leaves git's lock files behind (HEAD.lock, refs/heads/main.lock, ...), and
// every later push then fails with "Unable to create '…/HEAD.lock': File exists": the repo is wedged for good.
// git holds these locks for milliseconds, so one older than a few seconds belongs to a git that died.
import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";

export const STALE_LOCK_MS = 3_000;
/** The log message for removed locks, wherever they were found. */
export const STALE_LOCKS_REMOVED = "removed stale git lock files (left by a git that died mid-update)";

/** Ref and config locks of a bare repo (pack and object files have their own temp names and never block a push). */
async function lockFiles(gitDir: string): Promise<string[]> {
  const top = ["HEAD.lock", "packed-refs.lock", "config.lock", "shallow.lock"];
  const refs = await readdir(join(gitDir, "refs"), { recursive: true }).catch(() => [] as string[]);
  return [...top, ...refs.filter((p) => p.endsWith(".lock")).map((p) => join("refs", p))];
}

/** Removes lock files not touched for `olderThanMs`; returns them, relative to `gitDir`. */
export async function removeStaleLocks(gitDir: string, olderThanMs = STALE_LOCK_MS, nowMs = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  for (const rel of await lockFiles(gitDir)) {
    const info = await stat(join(gitDir, rel)).catch(() => null);
    if (!info?.isFile() || nowMs - info.mtimeMs < olderThanMs) continue;
    await rm(join(gitDir, rel), { force: true });
    removed.push(rel);
  }
  return removed;
}
