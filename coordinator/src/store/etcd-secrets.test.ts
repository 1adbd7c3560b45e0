// Secrets at rest in a real etcd: sealed values (no plaintext in any raw value), clear errors for a missing or wrong key, and migration of clear values.
import { randomBytes } from "node:crypto";
import type { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdSkipReason, startEtcd, type EtcdServer } from "../../../test/etcd/etcd-server.js";
import { createEtcdClient } from "./etcd-client.js";
import { EtcdStore } from "./etcd-store.js";
import { SecretCipher } from "./secret-cipher.js";

const PLAINTEXT = "k3s-cluster-secret-Vb93xQz";

describe.skipIf(etcdSkipReason !== undefined)(`secrets encrypted at rest in etcd${etcdSkipReason ? ` (${etcdSkipReason})` : ""}`, () => {
  let server: EtcdServer;
  let client: Etcd3;
  let n = 0;
  const clock = () => 1_700_000_000_000;
  const cipher = new SecretCipher(randomBytes(32));
  const open = (prefix: string, key?: SecretCipher) => EtcdStore.open({ client, prefix, clock, ...(key ? { cipher: key } : {}) });
  /** Every raw value under the prefix, as etcd holds it. */
  const rawValues = async (prefix: string) => Object.values(await client.getAll().prefix(prefix).buffers());

  beforeAll(async () => {
    server = await startEtcd();
    client = await createEtcdClient({ endpoints: [server.endpoint] });
  }, 30_000);
  afterAll(async () => {
    client?.close();
    await server?.dispose();
  });

  it("stores only ciphertext: no raw value in etcd contains the secret", async () => {
    const prefix = `/nk-secrets-${++n}/`;
    const store = await open(prefix, cipher);
    await store.setSecret("k3s-token", Buffer.from(PLAINTEXT));
    const raw = await client.get(`${prefix}secrets/k3s-token`).buffer();
    expect(raw!.subarray(0, 16).toString()).toBe("nk-aes256gcm-v1:");
    const values = await rawValues(prefix);
    expect(values.length).toBeGreaterThanOrEqual(2);
    for (const v of values) {
      expect(v.includes(PLAINTEXT)).toBe(false);
      expect(v.includes(Buffer.from(PLAINTEXT).toString("base64"))).toBe(false);
    }
    expect((await store.getSecret("k3s-token"))?.toString()).toBe(PLAINTEXT);
    expect(await store.listSecrets()).toEqual([{ name: "k3s-token", updatedAtMs: clock(), sizeBytes: PLAINTEXT.length }]);
    await store.close();

    // Another key, or none, is refused when the store opens, saying what to do.
    const wrong = new SecretCipher(randomBytes(32));
    await expect(open(prefix, wrong)).rejects.toThrow(`secret k3s-token was encrypted with another key (key id ${cipher.keyId}; this coordinator's secretsKeyFile has ${wrong.keyId}): give every coordinator the same key file`);
    await expect(open(prefix)).rejects.toThrow("secret k3s-token in etcd is encrypted: set store.secretsKeyFile to the key file the other coordinators use");
  });

  it("encrypts values stored in clear when a key is configured", async () => {
    const prefix = `/nk-secrets-${++n}/`;
    const clear = await open(prefix);
    await clear.setSecret("k3s-token", Buffer.from(PLAINTEXT));
    expect((await client.get(`${prefix}secrets/k3s-token`).string())).toBe(PLAINTEXT);
    await clear.close();
    const sealed = await open(prefix, cipher);
    for (const v of await rawValues(prefix)) expect(v.includes(PLAINTEXT)).toBe(false);
    expect((await sealed.getSecret("k3s-token"))?.toString()).toBe(PLAINTEXT);
    await sealed.close();
  });
});
