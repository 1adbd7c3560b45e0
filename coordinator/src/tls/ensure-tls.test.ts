// ensureTls: files and modes, stability across runs, re-issue rules, and real TLS/gRPC handshakes pinned to the CA.
import * as grpc from "@grpc/grpc-js";
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm, stat, unlink } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { ensureTls, type TlsMaterial } from "./ensure-tls.js";

const DAY_MS = 24 * 3_600_000;
const T0 = Date.UTC(2030, 0, 1);
const dirs: string[] = [];

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "nk-tls-"));
  dirs.push(dir);
  return dir;
}

/** Handshake against a node:tls server using these credentials; resolves to the client's error code or "ok". */
async function handshake(server: TlsMaterial, clientCa: string, opts: { host: string; servername?: string }): Promise<string> {
  const srv = tls.createServer({ key: server.serverKeyPem, cert: server.serverCertPem }, (s) => s.end("hi"));
  await new Promise<void>((res) => srv.listen(0, "127.0.0.1", res));
  const { port } = srv.address() as AddressInfo;
  try {
    return await new Promise<string>((res) => {
      // An empty servername sends no SNI (not allowed for IPs); the identity check then uses the host.
      const c = tls.connect({ host: opts.host, port, ca: clientCa, servername: opts.servername ?? "" }, () => {
        res(c.authorized ? "ok" : String(c.authorizationError));
        c.end();
      });
      c.on("error", (err: NodeJS.ErrnoException) => res(err.code ?? err.message));
    });
  } finally {
    await new Promise((res) => srv.close(res));
  }
}

describe("ensureTls", () => {
  let dir: string;
  let first: TlsMaterial;
  /** Made on the real clock, since the peers below check validity against it. */
  let live: TlsMaterial;
  beforeAll(async () => {
    dir = await stateDir();
    first = await ensureTls(dir, { hosts: ["coord.example.org", "10.0.0.5"], clock: () => T0 });
    live = await ensureTls(await stateDir(), { hosts: [], clock: Date.now });
  });
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("creates an ECDSA P-256 CA and a server cert for the hosts plus the local names", async () => {
    const ca = new X509Certificate(first.caCertPem);
    const server = new X509Certificate(first.serverCertPem);
    expect(ca.ca).toBe(true);
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(server.ca).toBe(false);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.subjectAltName).toBe("DNS:coord.example.org, DNS:localhost, IP Address:10.0.0.5, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    expect(first.caFingerprintSha256).toBe(ca.fingerprint256.replaceAll(":", "").toLowerCase());
    expect(first.serverNotAfterMs).toBe(Math.floor((T0 + 365 * DAY_MS) / 1000) * 1000);
    expect(first.serverKeyPem).toContain("BEGIN PRIVATE KEY");
    expect((await stat(join(dir, "tls"))).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, "tls", "ca.key"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "tls", "server.key"))).mode & 0o777).toBe(0o600);
  });

  it("keeps the CA and the server cert when nothing changed", async () => {
    const again = await ensureTls(dir, { hosts: ["10.0.0.5", "COORD.example.org."], clock: () => T0 + DAY_MS });
    expect(again.caCertPem).toBe(first.caCertPem);
    expect(again.serverCertPem).toBe(first.serverCertPem);
    expect(again.serverIssued).toBe(false);
  });

  it("re-issues the server cert, under the same CA, when names change or expiry nears", async () => {
    const renamed = await ensureTls(dir, { hosts: ["10.0.0.6"], clock: () => T0 });
    expect(renamed.serverIssued).toBe(true);
    expect(renamed.caCertPem).toBe(first.caCertPem);
    expect(new X509Certificate(renamed.serverCertPem).subjectAltName).toContain("IP Address:10.0.0.6");
    expect(new X509Certificate(renamed.serverCertPem).subjectAltName).not.toContain("coord.example.org");
    const late = T0 + 340 * DAY_MS;
    const renewed = await ensureTls(dir, { hosts: ["10.0.0.6"], clock: () => late });
    expect(renewed.serverIssued).toBe(true);
    expect(renewed.caFingerprintSha256).toBe(first.caFingerprintSha256);
    expect(renewed.serverNotAfterMs).toBeGreaterThan(late + 300 * DAY_MS);
  });

  it("handshakes with a client that pins only the CA, by IP and by name", async () => {
    const m = live;
    expect(await handshake(m, m.caCertPem, { host: "127.0.0.1" })).toBe("ok");
    expect(await handshake(m, m.caCertPem, { host: "127.0.0.1", servername: "localhost" })).toBe("ok");
    expect(await handshake(m, m.caCertPem, { host: "127.0.0.1", servername: "evil.example" })).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
  });

  it("fails the handshake for a client that trusts a different CA", async () => {
    const m = live;
    const other = await ensureTls(await stateDir(), { hosts: [], clock: Date.now });
    expect(other.caFingerprintSha256).not.toBe(m.caFingerprintSha256);
    expect(await handshake(m, other.caCertPem, { host: "127.0.0.1" })).toMatch(/UNABLE_TO_VERIFY|SELF_SIGNED|CERT_SIGNATURE_FAILURE/);
  });

  it("serves gRPC with these credentials to a client pinned to the CA", async () => {
    const m = live;
    const echo = {
      path: "/nk.test.Echo/Echo",
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    };
    const server = new grpc.Server();
    server.addService({ echo }, { echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request) });
    const creds = grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(m.serverKeyPem), cert_chain: Buffer.from(m.serverCertPem) }]);
    const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", creds, (err, p) => (err ? rej(err) : res(p))));
    const Client = grpc.makeGenericClientConstructor({ echo }, "Echo");
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createSsl(Buffer.from(m.caCertPem)));
    try {
      const reply = await new Promise<Buffer>((res, rej) =>
        (client as unknown as { echo: (b: Buffer, cb: (e: Error | null, r: Buffer) => void) => void }).echo(Buffer.from("ping"), (e, r) => (e ? rej(e) : res(r))),
      );
      expect(reply.toString()).toBe("ping");
    } finally {
      client.close();
      server.forceShutdown();
    }
  });

  it("refuses to replace a CA whose key is gone, and rejects bad host names", async () => {
    const d = await stateDir();
    await ensureTls(d, { hosts: [], clock: () => T0 });
    await unlink(join(d, "tls", "ca.key"));
    await expect(ensureTls(d, { hosts: [], clock: () => T0 })).rejects.toSatisfy((e) => isNkError(e, "STATE_CORRUPT") && e.message.includes("ca.key"));
    await expect(ensureTls(await stateDir(), { hosts: ["not a host"], clock: () => T0 })).rejects.toSatisfy((e) => isNkError(e, "CONFIG_INVALID"));
  });
});
