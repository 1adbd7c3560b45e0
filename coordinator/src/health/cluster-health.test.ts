import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ClusterCheck } from "../../../shared/src/inventory/model.js";
import { AgentCheckDispatcher } from "./agent-check-dispatcher.js";
import { CheckRunner } from "./check-runner.js";
import { ClusterHealth, type ClusterHealthState } from "./cluster-health.js";
import { ManualTimers } from "./test-timers.js";

let server: Server;
let url: string;
let status: number;
let hits: number;
let cephAnswer: string;

beforeEach(async () => {
  status = 200;
  hits = 0;
  cephAnswer = "HEALTH_OK";
  server = createServer((_req, res) => {
    hits += 1;
    res.writeHead(status);
    res.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function setup(options: { checks?: ClusterCheck[]; passesToRecover?: number } = {}) {
  const checks = options.checks ?? [
    { name: "web", spec: { kind: "http", url, expectStatus: 200 }, on: "any-server", timeoutSeconds: 5 },
    { name: "ceph", spec: { kind: "command", command: ["ceph", "health"], expect: "HEALTH_OK" }, on: "any-server", timeoutSeconds: 30 },
  ];
  const timers = new ManualTimers();
  const dispatcher = new AgentCheckDispatcher({ checks: () => checks, nodes: () => [{ name: "n1", role: "server" }], timers });
  dispatcher.watch("n1", (r) => queueMicrotask(() => dispatcher.result("n1", r.requestId, { name: r.checkName, ok: cephAnswer === r.expect, message: cephAnswer, observedAtMs: 0 })));
  const health = new ClusterHealth({ checks: () => checks, runner: new CheckRunner(() => timers.now()), dispatcher, timers, passesToRecover: options.passesToRecover });
  const changes: ClusterHealthState[] = [];
  health.onChange((s) => changes.push(s));
  return { timers, health, changes };
}

describe("ClusterHealth", () => {
  it("is not ok before its first evaluation, and ok with no checks at all", async () => {
    const { health } = setup({ checks: [] });
    expect(health.current()).toMatchObject({ ok: false, failing: [{ name: "cluster-checks", message: "not evaluated yet" }], atMs: 0 });
    expect(await health.refresh()).toMatchObject({ ok: true, failing: [], results: [] });
  });

  it("runs http checks itself and command checks on agents, and reports failures by name", async () => {
    const { timers, health, changes } = setup();
    const state = await health.refresh();
    expect(state.ok).toBe(true);
    expect(state.atMs).toBe(timers.now());
    expect(state.results.map((r) => [r.name, r.ok, r.message])).toEqual([["web", true, "HTTP 200"], ["ceph", true, "n1: HEALTH_OK"]]);

    status = 503;
    cephAnswer = "HEALTH_WARN";
    expect(await health.refresh()).toMatchObject({
      ok: false,
      failing: [{ name: "web", message: "expected HTTP 200, got 503" }, { name: "ceph", message: "n1: HEALTH_WARN" }],
    });
    expect(changes.map((c) => c.ok)).toEqual([true, false]);
  });

  it("fires onChange only when the verdict or the failing list changes", async () => {
    const { health, changes } = setup();
    await health.refresh();
    await health.refresh();
    status = 500;
    await health.refresh();
    await health.refresh();
    expect(changes.map((c) => c.failing.map((f) => f.name))).toEqual([[], ["web"]]);
  });

  it("evaluates periodically once started, and stops", async () => {
    const { timers, health, changes } = setup();
    health.start();
    await vi.waitFor(() => expect(changes).toHaveLength(1));
    expect(hits).toBe(1);
    await timers.advance(14_999);
    expect(hits).toBe(1);
    status = 503;
    await timers.advance(1);
    await vi.waitFor(() => expect(health.current().ok).toBe(false));
    expect(hits).toBe(2);
    health.stop();
    expect(timers.pending()).toBe(0);
  });

  it("shares an evaluation between concurrent callers but never answers with one older than the call", async () => {
    const { health } = setup();
    const [a, b, c] = await Promise.all([health.refresh(), health.refresh(), health.refresh()]);
    expect(hits).toBe(2);
    expect(b).toBe(c);
    expect(a).not.toBe(b);
  });

  it("needs several passes in a row to recover when hysteresis is set", async () => {
    const { health } = setup({ passesToRecover: 3 });
    status = 503;
    expect((await health.refresh()).ok).toBe(false);
    status = 200;
    expect(await health.refresh()).toMatchObject({ ok: false, failing: [{ name: "recovering", message: "checks passed 1 of the 3 consecutive times needed after a failure" }] });
    status = 503;
    expect((await health.refresh()).failing.map((f) => f.name)).toEqual(["web"]);
    status = 200;
    expect((await health.refresh()).ok).toBe(false);
    expect((await health.refresh()).ok).toBe(false);
    expect((await health.refresh()).ok).toBe(true);
    status = 503;
    expect((await health.refresh()).ok).toBe(false);
  });
  it("runs only the metric gates again for a grant, and a failing one starts a full evaluation", async () => {
    const prometheus = createServer((req, res) => {
      const q = new URL(req.url ?? "/", "http://x").searchParams.get("query");
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: "success", data: { resultType: "vector", result: [{ metric: {}, value: [1, q === "bad" ? "1" : "0"] }] } }));
    });
    await new Promise<void>((resolve) => prometheus.listen(0, "127.0.0.1", resolve));
    try {
      const base = `http://127.0.0.1:${(prometheus.address() as AddressInfo).port}`;
      const gate = (query: string): ClusterCheck => ({ name: `gate-${query}`, spec: { kind: "promql", url: base, query, op: "==", value: 0, onEmpty: "fail" }, on: "any-server", timeoutSeconds: 5 });
      const ceph: ClusterCheck = { name: "ceph", spec: { kind: "command", command: ["ceph", "health"], expect: "HEALTH_OK" }, on: "any-server", timeoutSeconds: 30 };
      const { health } = setup({ checks: [gate("good"), ceph] });
      await health.refresh();
      cephAnswer = "HEALTH_WARN"; // a command check is not asked again at a grant
      expect(await health.gatesNow()).toEqual([]);
      expect(health.current().ok).toBe(true);
      const { health: failing } = setup({ checks: [gate("bad"), ceph] });
      expect(await failing.gatesNow()).toEqual([{ name: "gate-bad", message: "1 of 1 sample(s) not == 0: 1" }]);
      await vi.waitFor(() => expect(failing.current().failing.map((f) => f.name)).toContain("gate-bad"));
    } finally {
      prometheus.closeAllConnections();
      await new Promise((resolve) => prometheus.close(resolve));
    }
  });
});
