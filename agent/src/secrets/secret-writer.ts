// Writes fetched secrets as 0600 files in a 0700 directory outside the Nix store (bundles refer to them by path).
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { NkError } from "../../../shared/src/errors/index.js";

const NAME = /^[a-z0-9]([a-z0-9._-]{0,62})$/;

export class SecretWriter {
  constructor(private readonly dir: string) {}

  path(name: string): string {
    if (!NAME.test(name) || name.includes("..")) throw new NkError("INVALID_ARGUMENT", `refusing to write secret with unsafe name "${name}"`);
    return join(this.dir, name);
  }

  /** Atomically replaces each secret file; the value is never logged. */
  async writeAll(secrets: ReadonlyMap<string, Buffer>): Promise<string[]> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    const written: string[] = [];
    for (const [name, value] of secrets) {
      const target = this.path(name);
      const temp = `${target}.${randomBytes(6).toString("hex")}.tmp`;
      const handle = await open(temp, "wx", 0o600);
      try {
        await handle.writeFile(value);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await rename(temp, target);
      } catch (err) {
        await rm(temp, { force: true });
        throw err;
      }
      written.push(target);
    }
    return written;
  }
}
