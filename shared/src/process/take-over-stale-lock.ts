// Replaces a pid lock whose holder is gone, with no race between judging it stale and replacing it.
import { unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { NkError, type NkErrorCode } from "../errors/index.js";
import { fsReason } from "../fs/index.js";
import { isProcessAlive } from "./is-process-alive.js";
import { linkIfAbsent } from "./link-if-absent.js";
import { fromEarlierBoot, readLockOwner, type LockOwner } from "./lock-owner.js";

/**
 * Takes `path` over with the owner file `mine` if what is there now is stale. Only the holder of `<path>.takeover`
 * (taken by link, held for a few milliseconds) removes a lock, and it judges the lock again under it with
 * `refuseLive` (which throws for a live holder): two processes that both found the lock stale cannot remove each
 * other's new lock. False when another process is taking it over (look again shortly).
 */
export async function takeOverStaleLock(path: string, mine: string, refuseLive: (owner: LockOwner) => void, busy: NkErrorCode): Promise<boolean> {
  const guard = `${path}.takeover`;
  if (!(await linkIfAbsent(mine, guard))) {
    const other = await readLockOwner(guard);
    // Left by a process that died in those milliseconds: removing it here could race another taker, so a person does.
    if (other?.pid !== undefined && other.host === hostname() && (fromEarlierBoot(other) || other.pid === process.pid || !isProcessAlive(other.pid))) {
      throw new NkError(busy, `${guard} was left by pid ${other.pid}, which stopped while taking over the stale lock ${path}: remove ${guard}`);
    }
    return false;
  }
  try {
    const owner = await readLockOwner(path);
    if (owner !== null) {
      refuseLive(owner);
      await unlink(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw new NkError("IO", `cannot remove the stale lock ${path}: ${fsReason(err)}`, { cause: err });
      });
    }
    return await linkIfAbsent(mine, path);
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}
