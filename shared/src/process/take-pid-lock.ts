// A pid lock file: one process at a time (nkctl writing into --out, a coordinator on its state dir). Created whole by
// link; a lock whose process is gone (killed outright) is taken over; a live holder, or one on another host, is refused.
import { stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { NkError, type NkErrorCode } from "../errors/index.js";
import { fsReason } from "../fs/index.js";
import { isProcessAlive } from "./is-process-alive.js";
import { linkIfAbsent } from "./link-if-absent.js";
import { fromEarlierBoot, readLockOwner, writeLockOwner, type LockOwner } from "./lock-owner.js";
import { takeOverStaleLock } from "./take-over-stale-lock.js";

/** How the refusals name the holder: "another nkctl (pid 12) is writing into out: wait for it to finish (…)". */
export interface PidLockWords {
  /** The program that takes the lock: "nkctl", "coordinator". */
  readonly who: string;
  /** What a holder is doing: "writing into out", "using the state dir /var/lib/nk-coordinator". */
  readonly doing: string;
  /** What to do about a live holder: "wait for it to finish", "stop it first". */
  readonly wait: string;
  /** The error code of a refusal. */
  readonly busy: NkErrorCode;
}

export interface PidLock {
  /** Removes the lock, if it is still this one. */
  release(): Promise<void>;
}

/** Paths this process holds or is taking: a lock naming this pid that is not among them is an earlier process's. */
const claimed = new Set<string>();
const ATTEMPTS = 40;

export async function takePidLock(path: string, words: PidLockWords): Promise<PidLock> {
  const full = resolve(path);
  if (claimed.has(full)) throw new NkError(words.busy, `this ${words.who} is already ${words.doing}`);
  claimed.add(full);
  try {
    const mine = await writeLockOwner(full);
    try {
      // The lock is this file, linked in: release tells it from a later holder's by its inode.
      const { ino } = await stat(mine);
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        if ((await linkIfAbsent(mine, full)) || (await takeOverStaleLock(full, mine, (owner) => refuseLive(owner, full, words), words.busy))) {
          let released: Promise<void> | undefined;
          return { release: () => (released ??= release(full, ino)) };
        }
        // Another process is taking a stale lock over: it holds the guard for milliseconds.
        await delay(25);
      }
      throw new NkError(words.busy, `cannot take the lock ${full}: other processes keep taking it; run again`);
    } finally {
      await unlink(mine).catch(() => undefined);
    }
  } catch (err) {
    claimed.delete(full);
    throw err;
  }
}

/** Throws for a holder that may still run; returns for a stale lock. */
function refuseLive(owner: LockOwner, path: string, { who, doing, wait, busy }: PidLockWords): void {
  if (owner.pid === undefined) throw new NkError(busy, `${path} is in the way and names no process: if no ${who} is ${doing}, remove it`);
  // Written before this host last booted (a power loss): its pid may belong to any process now.
  if (fromEarlierBoot(owner)) return;
  if (owner.host !== hostname()) throw new NkError(busy, `another ${who} (pid ${owner.pid} on ${owner.host}) is ${doing}: ${wait} (or, if no ${who} runs there, remove ${path})`);
  // This pid, not claimed here: a process before this one had the same pid (pid 1 in a container).
  if (owner.pid !== process.pid && isProcessAlive(owner.pid)) throw new NkError(busy, `another ${who} (pid ${owner.pid}) is ${doing}: ${wait} (or, if no ${who} runs, remove ${path})`);
}

async function release(path: string, ino: number): Promise<void> {
  try {
    // Only this process's own lock: one taken over meanwhile (its pid judged gone) is the new holder's. Both the
    // inode and the pid, as a file written after this one was removed may have its inode number.
    if ((await stat(path).catch(() => null))?.ino !== ino || (await readLockOwner(path))?.pid !== process.pid) return;
    await unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw new NkError("IO", `cannot remove the lock ${path}: ${fsReason(err)}`, { cause: err });
    });
  } finally {
    claimed.delete(path);
  }
}
