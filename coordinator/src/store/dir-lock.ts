// Guards a state dir against a second coordinator: two writers would grant leases independently.
import { open, readFile, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { NkError } from "../../../shared/src/errors/index.js";
import { isProcessAlive } from "../../../shared/src/process/index.js";

export const LOCK_FILE = "coordinator.lock";
const heldHere = new Set<string>();

/**
 * A pid lock file. A lock left by a dead process on this host is taken over; one from another
 * host is refused (it may be live). Not a consensus mechanism: HA uses the etcd store.
 */
export class DirLock {
  private constructor(private readonly path: string) {}

  static async acquire(dir: string): Promise<DirLock> {
    const path = resolve(join(dir, LOCK_FILE));
    if (heldHere.has(path)) throw new NkError("UNAVAILABLE", `${dir} is already open in this process`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await open(path, "wx", 0o600);
        try {
          await fh.writeFile(JSON.stringify({ pid: process.pid, host: hostname() }));
          await fh.sync();
        } finally {
          await fh.close();
        }
        heldHere.add(path);
        return new DirLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new NkError("IO", `cannot create ${path}: ${(err as Error).message}`, { cause: err });
      }
      const owner = await readOwner(path);
      if (owner && owner.host !== hostname()) throw new NkError("UNAVAILABLE", `${path} is held by pid ${owner.pid} on ${owner.host}; remove it only if that coordinator is stopped`);
      if (owner && owner.pid !== process.pid && isProcessAlive(owner.pid)) throw new NkError("UNAVAILABLE", `${path} is held by running pid ${owner.pid}: another coordinator uses this state dir`);
      await unlink(path).catch(() => undefined);
    }
    throw new NkError("UNAVAILABLE", `cannot take ${path}: another process keeps creating it`);
  }

  async release(): Promise<void> {
    heldHere.delete(this.path);
    await unlink(this.path).catch(() => undefined);
  }
}

async function readOwner(path: string): Promise<{ pid: number; host: string } | undefined> {
  try {
    const raw = JSON.parse(await readFile(path, "utf8")) as { pid?: unknown; host?: unknown };
    if (typeof raw.pid === "number" && typeof raw.host === "string") return { pid: raw.pid, host: raw.host };
  } catch {
    // Empty or half-written by a crashed process: treat as stale.
  }
  return undefined;
}
