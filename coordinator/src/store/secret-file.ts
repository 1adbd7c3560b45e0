// Secrets kept apart from state.json: secrets.json, mode 0600, written atomically; values never logged.
import { chmod, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { NkError } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import { writeFileAtomic } from "../../../shared/src/fs/index.js";
import { GroupCommit } from "./group-commit.js";
import type { SecretInfo } from "./store.js";
import { ShapeError, int, map, obj, str } from "./validate.js";
import { assertSecretName } from "../../../shared/src/names/index.js";

export const SECRETS_FILE = "secrets.json";
const FORMAT = "nk-coordinator-secrets";
export const MAX_SECRET_BYTES = 1024 * 1024;

const secretsFile = obj({ format: str, version: int, secrets: map(obj({ valueBase64: str, updatedAtMs: int })) });

interface Entry {
  value: Buffer;
  updatedAtMs: number;
}

export class SecretFile {
  private readonly commit: GroupCommit;

  private constructor(
    private readonly path: string,
    private readonly clock: () => number,
    private readonly entries: Map<string, Entry>,
  ) {
    this.commit = new GroupCommit(() => this.write(), path);
  }

  static async open(dir: string, clock: () => number, logger: Logger): Promise<SecretFile> {
    const path = join(dir, SECRETS_FILE);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return new SecretFile(path, clock, new Map());
      throw new NkError("IO", `cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
    if (((await stat(path)).mode & 0o077) !== 0) {
      logger.warn({ file: path }, "secrets file was readable by others; setting mode 0600");
      await chmod(path, 0o600);
    }
    return new SecretFile(path, clock, decode(text, path));
  }

  async set(name: string, value: Buffer): Promise<void> {
    assertSecretName(name);
    if (value.length > MAX_SECRET_BYTES) throw new NkError("TOO_LARGE", `secret ${name} is ${value.length} bytes, the limit is ${MAX_SECRET_BYTES}`);
    this.failIfBroken();
    this.entries.set(name, { value: Buffer.from(value), updatedAtMs: Math.floor(this.clock()) });
    await this.commit.commit();
  }

  async get(name: string): Promise<Buffer | undefined> {
    const entry = this.entries.get(name);
    const copy = entry ? Buffer.from(entry.value) : undefined;
    await this.commit.settled();
    return copy;
  }

  async list(): Promise<SecretInfo[]> {
    const infos = [...this.entries].map(([name, e]) => ({ name, updatedAtMs: e.updatedAtMs, sizeBytes: e.value.length }));
    await this.commit.settled();
    return infos.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async delete(name: string): Promise<boolean> {
    this.failIfBroken();
    if (!this.entries.delete(name)) return false;
    await this.commit.commit();
    return true;
  }

  async close(): Promise<void> {
    await this.commit.settled().catch(() => undefined);
  }

  private failIfBroken(): void {
    if (this.commit.failed) throw this.commit.failed;
  }

  private write(): Promise<void> {
    const secrets: Record<string, { valueBase64: string; updatedAtMs: number }> = Object.create(null);
    for (const [name, e] of this.entries) secrets[name] = { valueBase64: e.value.toString("base64"), updatedAtMs: e.updatedAtMs };
    return writeFileAtomic(this.path, `${JSON.stringify({ format: FORMAT, version: 1, secrets })}\n`, 0o600);
  }
}

function decode(text: string, path: string): Map<string, Entry> {
  try {
    const f = secretsFile(JSON.parse(text), "");
    if (f.format !== FORMAT) throw new ShapeError("format", `expected "${FORMAT}"`);
    if (f.version !== 1) throw new ShapeError("version", `expected 1, found ${f.version}`);
    const out = new Map<string, Entry>();
    for (const [name, e] of f.secrets) out.set(name, { value: Buffer.from(e.valueBase64, "base64"), updatedAtMs: e.updatedAtMs });
    return out;
  } catch (err) {
    // Never echo the content: a JSON error message may quote part of a secret.
    const what = err instanceof ShapeError ? `${err.path || "(root)"} is malformed` : "not valid JSON";
    throw new NkError("STATE_CORRUPT", `${path}: ${what}; restore it from a backup`);
  }
}
