// AES-256-GCM for secret values at rest in etcd: one key file shared by every coordinator, bound to each secret's name.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { NkError } from "../../../shared/src/errors/index.js";

/** Starts every sealed value; a value without it was stored in clear (before a key was configured). */
const MAGIC = Buffer.from("nk-aes256gcm-v1:");
const KEY_ID_BYTES = 8;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Said at start and on every status view of an etcd-backed coordinator without store.secretsKeyFile. */
export const CLEAR_SECRETS_WARNING = "secrets are stored in etcd in clear: set store.secretsKeyFile (AES-256-GCM, the same key file on every coordinator)";

export const KEY_HELP = "a 256-bit key: 32 bytes, 64 hex digits or base64 of 32 bytes (e.g. `head -c 32 /dev/urandom | base64 > FILE`)";

/** The key in a key file: raw 32 bytes, or its hex or base64 text (trailing newline allowed). */
export function parseKey(content: Buffer, path: string): Buffer {
  if (content.length === 32) return content;
  const text = content.toString("utf8").trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, "hex");
  if (/^[A-Za-z0-9+/]{43}=?$/.test(text)) {
    const key = Buffer.from(text, "base64");
    if (key.length === 32) return key;
  }
  throw new NkError("CONFIG_INVALID", `secrets key file ${path} does not hold ${KEY_HELP}`);
}

export function isSealed(value: Buffer): boolean {
  return value.length >= MAGIC.length && value.subarray(0, MAGIC.length).equals(MAGIC);
}

export class SecretCipher {
  /** First bytes of the key's SHA-256: tells "another key" apart from "corrupted" without revealing the key. */
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new NkError("CONFIG_INVALID", `secrets key must be 32 bytes, got ${key.length}`);
    this.keyId = createHash("sha256").update(key).digest().subarray(0, KEY_ID_BYTES).toString("hex");
  }

  static async fromKeyFile(path: string): Promise<SecretCipher> {
    let content: Buffer;
    try {
      content = await readFile(path);
    } catch (err) {
      throw new NkError("CONFIG_INVALID", `cannot read secrets key file ${path}: ${(err as Error).message}`, { cause: err });
    }
    return new SecretCipher(parseKey(content, path));
  }

  /** magic · key id · nonce · ciphertext · tag; the secret's name is authenticated too, so values cannot be swapped. */
  seal(name: string, plaintext: Buffer): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
    cipher.setAAD(Buffer.from(name, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([MAGIC, Buffer.from(this.keyId, "hex"), nonce, body, cipher.getAuthTag()]);
  }

  open(name: string, sealed: Buffer): Buffer {
    if (!isSealed(sealed)) throw new NkError("STATE_CORRUPT", `secret ${name} is not encrypted (stored before store.secretsKeyFile was set)`);
    const at = MAGIC.length;
    if (sealed.length < at + KEY_ID_BYTES + NONCE_BYTES + TAG_BYTES) throw new NkError("STATE_CORRUPT", `secret ${name}: encrypted value is truncated`);
    const keyId = sealed.subarray(at, at + KEY_ID_BYTES).toString("hex");
    if (keyId !== this.keyId) {
      throw new NkError("CONFIG_INVALID", `secret ${name} was encrypted with another key (key id ${keyId}; this coordinator's secretsKeyFile has ${this.keyId}): give every coordinator the same key file`);
    }
    const nonce = sealed.subarray(at + KEY_ID_BYTES, at + KEY_ID_BYTES + NONCE_BYTES);
    const decipher = createDecipheriv("aes-256-gcm", this.key, nonce);
    decipher.setAAD(Buffer.from(name, "utf8"));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(at + KEY_ID_BYTES + NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch (err) {
      throw new NkError("STATE_CORRUPT", `secret ${name} cannot be decrypted: its value was altered or stored under another name`, { cause: err });
    }
  }
}
