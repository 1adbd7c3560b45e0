// The one atomic file writer: a temp file in the same dir, fsynced, renamed over the target, the dir fsynced.
import { randomBytes } from "node:crypto";
import { open, readdir, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { NkError } from "../errors/index.js";

const TEMP_MARK = ".tmp-";

export interface AtomicWriteOptions {
  /**
   * False skips both fsyncs: readers still never see half a file, but a power loss may lose the write.
   * Only for files nothing depends on after a crash (simulated machines, reports).
   */
  readonly durable?: boolean;
}

/** After resolve, readers see either the old file or exactly `data` (mode `mode`), and with `durable` it survives a power loss. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600, options: AtomicWriteOptions = {}): Promise<void> {
  const durable = options.durable ?? true;
  const temp = `${path}${TEMP_MARK}${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    const fh = await open(temp, "wx", mode);
    try {
      await fh.writeFile(data);
      // The mode given to open is filtered by the umask; set it exactly.
      await fh.chmod(mode);
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, path);
    if (durable) await fsyncDir(dirname(path));
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw new NkError("IO", `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Makes a rename or a newly created file in `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Removes temp files left by a crash in the middle of writeFileAtomic. */
export async function removeStaleTemps(dir: string, file: string): Promise<void> {
  const prefix = `${basename(file)}${TEMP_MARK}`;
  for (const entry of await readdir(dir)) {
    if (entry.startsWith(prefix)) await unlink(join(dir, entry)).catch(() => undefined);
  }
}
