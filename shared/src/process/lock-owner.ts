// A pid lock file's content: the process that holds it and its host, written whole before the lock exists.
import { randomBytes } from "node:crypto";
import { open, readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { NkError } from "../errors/index.js";
import { fsReason } from "../fs/index.js";
import { bootId } from "./boot-id.js";

/** Who holds a lock; no pid when the file names no process (written by something else: it is not guessed at). */
export interface LockOwner {
  readonly pid?: number;
  readonly host: string;
  /** The holder's boot (bootId()); absent in locks written before it was recorded, or where there is none. */
  readonly boot?: string;
}

/** A lock written on this host before its last reboot: whatever holds its pid now is not its writer. */
export function fromEarlierBoot(owner: LockOwner): boolean {
  const boot = bootId();
  return owner.host === hostname() && owner.boot !== undefined && boot !== null && owner.boot !== boot;
}

/**
 * Writes this process's owner file beside `path`, under a name of its own, synced: linked in as the lock, it is never
 * seen empty, not even after a power loss. Resolves with its path.
 */
export async function writeLockOwner(path: string): Promise<string> {
  const mine = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
  try {
    const fh = await open(mine, "wx", 0o600);
    try {
      const boot = bootId();
      await fh.writeFile(`${JSON.stringify({ pid: process.pid, host: hostname(), ...(boot ? { boot } : {}) })}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new NkError("IO", `cannot create the lock ${path}: ${fsReason(err)}`, { cause: err });
  }
  return mine;
}

/** The owner named in a lock file, or null once it is gone. */
export async function readLockOwner(path: string): Promise<LockOwner | null> {
  const text = await readFile(path, "utf8").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return null;
    throw new NkError("IO", `cannot read the lock ${path}: ${fsReason(err)}`, { cause: err });
  });
  return text === null ? null : parseOwner(text);
}

function parseOwner(text: string): LockOwner {
  // A pid alone: what nkctl's render lock held before it had a host.
  if (/^[1-9]\d*$/.test(text.trim())) return { pid: Number(text.trim()), host: hostname() };
  try {
    const raw = JSON.parse(text) as { pid?: unknown; host?: unknown; boot?: unknown };
    if (Number.isSafeInteger(raw.pid) && (raw.pid as number) > 0 && typeof raw.host === "string") return { pid: raw.pid as number, host: raw.host, ...(typeof raw.boot === "string" ? { boot: raw.boot } : {}) };
  } catch {
    // Not JSON: names no process.
  }
  return { host: hostname() };
}
