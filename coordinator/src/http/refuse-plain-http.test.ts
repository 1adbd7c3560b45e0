// refusePlainHttp: TLS clients are served as before, plain HTTP gets a readable 400, silent sockets do not block close().
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, get, type Server } from "node:https";
import { connect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTls, type TlsMaterial } from "../tls/index.js";
import { refusePlainHttp } from "./refuse-plain-http.js";

function rawExchange(port: number, send: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => socket.write(send));
    let text = "";
    socket.on("data", (c: Buffer) => (text += c.toString()));
    socket.on("end", () => resolve(text));
    socket.on("error", reject);
  });
}

describe("refusePlainHttp", () => {
  let dir: string;
  let tls: TlsMaterial;
  let server: Server;
  let port: number;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "nk-refuse-"));
    tls = await ensureTls(dir, { hosts: [], clock: Date.now });
    server = createServer({ key: tls.serverKeyPem, cert: tls.serverCertPem }, (req, res) => res.end(`hello ${req.url}`));
    refusePlainHttp(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("serves a TLS client that trusts the CA, byte for byte", async () => {
    const body = await new Promise<string>((resolve, reject) => {
      get(`https://127.0.0.1:${port}/x?y=1`, { ca: tls.caCertPem }, (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve(text));
      }).on("error", reject);
    });
    expect(body).toBe("hello /x?y=1");
  });

  it("answers plain HTTP with a 400 that names https:// and the CA", async () => {
    const answer = await rawExchange(port, "POST /api/v1/rollout/pause HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}");
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(answer).toContain("This port speaks HTTPS only: use https://");
    expect(answer).toContain("http.sslCAInfo");
  });

  it("lets close() finish while a client is connected but silent", async () => {
    const silent = connect({ host: "127.0.0.1", port });
    await new Promise((r) => silent.once("connect", r));
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeIdleConnections();
    await closed;
    await new Promise((r) => silent.once("close", r));
    expect(silent.destroyed).toBe(true);
  });
});
