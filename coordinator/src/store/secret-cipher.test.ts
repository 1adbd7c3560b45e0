import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { SecretCipher, isSealed, parseKey } from "./secret-cipher.js";

const KEY = randomBytes(32);

describe("SecretCipher", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "nk-cipher-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads a key file as raw bytes, hex or base64, and refuses anything else saying what it needs", async () => {
    for (const [name, content] of [["raw", KEY], ["hex", Buffer.from(`${KEY.toString("hex")}\n`)], ["b64", Buffer.from(`${KEY.toString("base64")}\n`)]] as const) {
      await writeFile(join(dir, name), content, { mode: 0o600 });
      expect((await SecretCipher.fromKeyFile(join(dir, name))).keyId).toBe(new SecretCipher(KEY).keyId);
    }
    await writeFile(join(dir, "short"), "too-short\n");
    await expect(SecretCipher.fromKeyFile(join(dir, "short"))).rejects.toThrow(
      `secrets key file ${join(dir, "short")} does not hold a 256-bit key: 32 bytes, 64 hex digits or base64 of 32 bytes (e.g. \`head -c 32 /dev/urandom | base64 > FILE\`)`,
    );
    await expect(SecretCipher.fromKeyFile(join(dir, "missing"))).rejects.toThrow(`cannot read secrets key file ${join(dir, "missing")}: ENOENT`);
    expect(() => parseKey(Buffer.from(randomBytes(33).toString("base64")), "f")).toThrow(/does not hold a 256-bit key/);
  });

  it("seals with a fresh nonce, opens only under the same name and key", () => {
    const cipher = new SecretCipher(KEY);
    const a = cipher.seal("k3s-token", Buffer.from("s3cr3t-value"));
    const b = cipher.seal("k3s-token", Buffer.from("s3cr3t-value"));
    expect(isSealed(a)).toBe(true);
    expect(a.equals(b)).toBe(false);
    expect(a.includes("s3cr3t")).toBe(false);
    expect(cipher.open("k3s-token", a).toString()).toBe("s3cr3t-value");

    const swapped: unknown = (() => { try { return cipher.open("other", a); } catch (e) { return e; } })();
    expect(isNkError(swapped, "STATE_CORRUPT")).toBe(true);
    const tampered = Buffer.from(a);
    tampered[tampered.length - 20]! ^= 1;
    expect(() => cipher.open("k3s-token", tampered)).toThrow("secret k3s-token cannot be decrypted: its value was altered or stored under another name");

    const other = new SecretCipher(randomBytes(32));
    expect(() => other.open("k3s-token", a)).toThrow(
      `secret k3s-token was encrypted with another key (key id ${cipher.keyId}; this coordinator's secretsKeyFile has ${other.keyId}): give every coordinator the same key file`,
    );
    expect(() => cipher.open("k3s-token", Buffer.from("plain"))).toThrow("secret k3s-token is not encrypted (stored before store.secretsKeyFile was set)");
  });
});
