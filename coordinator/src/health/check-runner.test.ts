import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { CheckSpec, ClusterCheck } from "../../../shared/src/inventory/model.js";
import { CheckRunner, MAX_HTTP_CHECK_BODY_BYTES, MAX_PROMETHEUS_BODY_BYTES } from "./check-runner.js";

const servers: Server[] = [];

async function serve(handler: (path: string) => { status: number; body: string } | null): Promise<string> {
  const server = createServer((req, res) => {
    const answer = handler(req.url ?? "/");
    if (answer === null) return; // never answers
    res.writeHead(answer.status, { "content-type": "application/json" });
    res.end(answer.body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A URL on a port that was free a moment ago and has nothing listening now. */
async function closedPortUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}/`;
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

function check(spec: CheckSpec, timeoutSeconds = 5): ClusterCheck {
  return { name: "probe", spec, on: "any-server", timeoutSeconds };
}

const runner = new CheckRunner(() => 42);

function alerts(...list: [string, string][]): string {
  return JSON.stringify({ status: "success", data: { alerts: list.map(([name, state]) => ({ labels: { alertname: name, severity: "warning" }, state, value: "1" })) } });
}

describe("CheckRunner http", () => {
  it("passes on the expected status and body", async () => {
    const url = await serve(() => ({ status: 200, body: '{"status":"ok"}' }));
    expect(await runner.run(check({ kind: "http", url, expectStatus: 200, expectBody: '"ok"' }))).toEqual({ name: "probe", ok: true, message: "HTTP 200", observedAtMs: 42 });
  });

  it("fails on another status or a missing body substring", async () => {
    const url = await serve((path) => ({ status: path === "/down" ? 503 : 200, body: "degraded" }));
    expect(await runner.run(check({ kind: "http", url: `${url}/down`, expectStatus: 200 }))).toMatchObject({ ok: false, message: "expected HTTP 200, got 503" });
    expect(await runner.run(check({ kind: "http", url, expectStatus: 200, expectBody: "ok" }))).toMatchObject({
      ok: false,
      message: 'HTTP 200 but the body does not contain "ok"',
    });
  });

  it("fails with the error when nothing listens or nothing answers in time", async () => {
    const refused = await runner.run(check({ kind: "http", url: await closedPortUrl(), expectStatus: 200 }));
    expect(refused.ok).toBe(false);
    expect(refused.message).toMatch(/ECONNREFUSED/);

    const silent = await serve(() => null);
    const slow = await runner.run(check({ kind: "http", url: silent, expectStatus: 200 }, 0.1));
    expect(slow).toMatchObject({ ok: false, message: "no answer within 100ms" });
  });
});

/** Streams `total` bytes (a multiple of 64 KiB) as fast as the reader takes them; resolves how many went out when the connection ends. */
async function serveHuge(total: number, body: () => Buffer): Promise<{ url: string; sent: Promise<number> }> {
  let settle: (n: number) => void = () => undefined;
  const sent = new Promise<number>((resolve) => (settle = resolve));
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    let written = 0;
    const pump = (): void => {
      while (written < total) {
        written += 64 * 1024;
        if (!res.write(body())) return void res.once("drain", pump);
      }
      res.end();
    };
    res.on("close", () => settle(written));
    pump();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sent };
}

describe("CheckRunner bounded reads", () => {
  const HUGE = 512 * 1024 * 1024;

  it("reads only the first MiB of an HTTP check's body and drops the connection", async () => {
    const { url, sent } = await serveHuge(HUGE, () => Buffer.alloc(64 * 1024, "x"));
    expect(await runner.run(check({ kind: "http", url, expectStatus: 200, expectBody: "ok" }))).toMatchObject({
      ok: false,
      message: `HTTP 200 but the body does not contain "ok" (only its first ${MAX_HTTP_CHECK_BODY_BYTES} bytes are read)`,
    });
    // Socket buffers hold a few MB at most: nowhere near the half GiB on offer.
    expect(await sent).toBeLessThan(64 * 1024 * 1024);
  });

  it("refuses a Prometheus answer over its limit", async () => {
    const { url, sent } = await serveHuge(HUGE, () => Buffer.alloc(64 * 1024, " "));
    expect(await runner.run(check({ kind: "prometheus", url, include: [], exclude: [] }))).toMatchObject({
      ok: false,
      message: `Prometheus answered with more than ${MAX_PROMETHEUS_BODY_BYTES} bytes of alerts; nk reads no more`,
    });
    expect(await sent).toBeLessThan(MAX_PROMETHEUS_BODY_BYTES + 64 * 1024 * 1024);
  });
});

describe("CheckRunner prometheus", () => {
  it("passes when nothing fires and lists ignored alerts", async () => {
    const url = await serve((path) => (path === "/api/v1/alerts" ? { status: 200, body: alerts(["Watchdog", "firing"], ["CephWarn", "pending"]) } : { status: 404, body: "" }));
    expect(await runner.run(check({ kind: "prometheus", url: `${url}/`, include: [], exclude: ["Watchdog"] }))).toMatchObject({
      ok: true,
      message: "no blocking alerts firing (ignored: Watchdog)",
    });
  });

  it("blocks on firing alerts, honouring include and exclude", async () => {
    const url = await serve(() => ({ status: 200, body: alerts(["KubeNodeNotReady", "firing"], ["KubeNodeNotReady", "firing"], ["CephHealthWarning", "firing"], ["Watchdog", "firing"]) }));
    expect(await runner.run(check({ kind: "prometheus", url, include: [], exclude: ["Watchdog"] }))).toMatchObject({
      ok: false,
      message: "alerts firing: CephHealthWarning, KubeNodeNotReady x2",
    });
    expect(await runner.run(check({ kind: "prometheus", url, include: ["CephHealthWarning", "CephHealthError"], exclude: [] }))).toMatchObject({
      ok: false,
      message: "alerts firing: CephHealthWarning",
    });
    expect(await runner.run(check({ kind: "prometheus", url, include: ["CephHealthError"], exclude: [] }))).toMatchObject({ ok: true });
  });

  it("fails on bad JSON, an error status or an unexpected shape", async () => {
    const url = await serve((path) => (path.startsWith("/bad") ? { status: 200, body: "<html>" } : path.startsWith("/err") ? { status: 503, body: "" } : { status: 200, body: '{"status":"error"}' }));
    const bad = await runner.run(check({ kind: "prometheus", url: `${url}/bad`, include: [], exclude: [] }));
    expect(bad.ok).toBe(false);
    expect(bad.message).toMatch(/^Prometheus answered with invalid JSON/);
    expect(await runner.run(check({ kind: "prometheus", url: `${url}/err`, include: [], exclude: [] }))).toMatchObject({ ok: false, message: "Prometheus answered HTTP 503" });
    expect(await runner.run(check({ kind: "prometheus", url, include: [], exclude: [] }))).toMatchObject({
      ok: false,
      message: "Prometheus answered without a successful data.alerts list",
    });
  });

  it("refuses to run a command check itself", async () => {
    expect(await runner.run(check({ kind: "command", command: ["ceph", "health"], expect: "HEALTH_OK" }))).toMatchObject({ ok: false });
  });
});
