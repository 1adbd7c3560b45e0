// Secrets in etcd: the value under secrets/<name> (AES-256-GCM sealed when a key is configured), size and time under secret-meta/<name>.
import { NkError } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import { EtcdKeys } from "./etcd-keys.js";
import { decode, del, json, modIs, prefixEnd, put, type EtcdKv } from "./etcd-kv.js";
import { isSealed, type SecretCipher } from "./secret-cipher.js";
import { MAX_SECRET_BYTES } from "./secret-file.js";
import type { SecretInfo } from "./store.js";
import { int, obj } from "./validate.js";
import { assertSecretName } from "../../../shared/src/names/index.js";

const checkSecretMeta = obj({ updatedAtMs: int, sizeBytes: int });

export interface EtcdSecretsDeps {
  readonly kv: EtcdKv;
  readonly keys: EtcdKeys;
  readonly now: () => number;
  readonly logger: Logger;
  /** Without it values are stored in clear (the coordinator warns about that at start). */
  readonly cipher?: SecretCipher;
}

export class EtcdSecrets {
  constructor(private readonly deps: EtcdSecretsDeps) {}

  /**
   * Run once at open. With a key: every value must open with it (another key is a clear error now,
   * not at a node's next fetch), and values stored in clear are encrypted in place. Without one:
   * encrypted values mean a key is missing from this coordinator's config.
   */
  async checkAtOpen(): Promise<void> {
    const { kv, keys, cipher, logger } = this.deps;
    const base = keys.secret("");
    const { kvs } = await kv.rangeAll(base, prefixEnd(base));
    let encrypted = 0;
    for (const entry of kvs) {
      const name = EtcdKeys.tail(entry.key, base);
      const value = Buffer.from(entry.value);
      if (cipher === undefined) {
        if (isSealed(value)) throw new NkError("CONFIG_INVALID", `secret ${name} in etcd is encrypted: set store.secretsKeyFile to the key file the other coordinators use`);
        continue;
      }
      if (isSealed(value)) {
        cipher.open(name, value);
        continue;
      }
      // Compare-and-swap on the revision read: a concurrent set by another coordinator wins.
      await kv.txn([modIs(base + name, entry.mod_revision)], [put(base + name, cipher.seal(name, value))]);
      encrypted++;
    }
    if (encrypted > 0) logger.info({ count: encrypted }, "encrypted secrets that were stored in clear");
  }

  async set(name: string, value: Buffer): Promise<void> {
    assertSecretName(name);
    if (value.length > MAX_SECRET_BYTES) throw new NkError("TOO_LARGE", `secret ${name} is ${value.length} bytes, the limit is ${MAX_SECRET_BYTES}`);
    const { kv, keys, cipher } = this.deps;
    const meta = { updatedAtMs: this.deps.now(), sizeBytes: value.length };
    const stored = cipher ? cipher.seal(name, value) : Buffer.from(value);
    await kv.txn([], [put(keys.secret(name), stored), put(keys.secretMeta(name), json(meta))]);
  }

  async get(name: string): Promise<Buffer | undefined> {
    assertSecretName(name);
    const entry = await this.deps.kv.get(this.deps.keys.secret(name));
    if (!entry) return undefined;
    const value = Buffer.from(entry.value);
    if (this.deps.cipher) return this.deps.cipher.open(name, value);
    if (isSealed(value)) throw new NkError("CONFIG_INVALID", `secret ${name} in etcd is encrypted: set store.secretsKeyFile to the key file the other coordinators use`);
    return value;
  }

  async list(): Promise<SecretInfo[]> {
    const base = this.deps.keys.secretMetas();
    const { kvs } = await this.deps.kv.rangeAll(base, prefixEnd(base));
    return kvs.map((entry) => ({ name: EtcdKeys.tail(entry.key, base), ...decode(checkSecretMeta, entry) }));
  }

  async delete(name: string): Promise<boolean> {
    assertSecretName(name);
    const r = await this.deps.kv.txn([], [del(this.deps.keys.secret(name)), del(this.deps.keys.secretMeta(name))]);
    return r.responses[0]?.response_delete_range.deleted !== "0";
  }
}
