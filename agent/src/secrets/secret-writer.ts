// Writes fetched secrets as 0600 files in a 0700 directory outside the Nix store (bundles refer to them by path).
import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { NkError } from "../../../shared/src/errors/index.js";
import { writeFileAtomic } from "../../../shared/src/fs/index.js";
import { isSecretName } from "../../../shared/src/names/index.js";


export class SecretWriter {
  constructor(private readonly dir: string) {}

  path(name: string): string {
    if (!isSecretName(name)) throw new NkError("INVALID_ARGUMENT", `refusing to write secret with unsafe name "${name}"`);
    return join(this.dir, name);
  }

  /** Atomically replaces each secret file; the value is never logged. */
  async writeAll(secrets: ReadonlyMap<string, Buffer>): Promise<string[]> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    const written: string[] = [];
    for (const [name, value] of secrets) {
      const target = this.path(name);
      await writeFileAtomic(target, value, 0o600);
      written.push(target);
    }
    return written;
  }
}
