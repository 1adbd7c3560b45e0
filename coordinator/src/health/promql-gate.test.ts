// PromQL gates and Alertmanager silences against real HTTP servers on 127.0.0.1 speaking the Prometheus
// (GET /api/v1/query, /api/v1/alerts) and Alertmanager (GET /api/v2/silences) APIs.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { CheckSpec, ClusterCheck } from "../../../shared/src/inventory/model.js";
import { CheckRunner } from "./check-runner.js";

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** Answers GET <path>?<query> from `routes`, keyed by path and, for /api/v1/query, by the PromQL text. */
async function serve(routes: Record<string, { status?: number; body: unknown }>, seen: string[] = []): Promise<string> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const key = url.pathname === "/api/v1/query" ? `query:${url.searchParams.get("query")}` : url.pathname;
    seen.push(key);
    const answer = routes[key] ?? { status: 404, body: { status: "error", errorType: "not_found", error: `no route ${key}` } };
    res.writeHead(answer.status ?? 200, { "content-type": "application/json" });
    res.end(JSON.stringify(answer.body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const runner = new CheckRunner(() => 7);
const check = (spec: CheckSpec): ClusterCheck => ({ name: "gate", spec, on: "any-server", timeoutSeconds: 5 });
const vector = (...samples: Array<[Record<string, string>, string]>) => ({ status: "success", data: { resultType: "vector", result: samples.map(([metric, v]) => ({ metric, value: [1717243200, v] })) } });
const promql = (url: string, query: string, op: "==" | "<", value: number, onEmpty: "pass" | "fail" = "fail"): CheckSpec => ({ kind: "promql", url, query, op, value, onEmpty });

describe("PromQL gate", () => {
  it("passes when every sample satisfies the comparison and says which do not", async () => {
    const url = await serve({
      "query:sum(kube_pod_status_ready{condition=\"false\"})": { body: vector([{}, "0"]) },
      "query:node_load1 / count(node_cpu_seconds_total) by (instance)": { body: vector([{ instance: "n1" }, "0.4"], [{ instance: "n2" }, "0.93"]) },
      "query:scalar(42)": { body: { status: "success", data: { resultType: "scalar", result: [1717243200, "42"] } } },
    });
    expect(await runner.run(check(promql(url, 'sum(kube_pod_status_ready{condition="false"})', "==", 0)))).toEqual({ name: "gate", ok: true, message: "0 == 0", observedAtMs: 7 });
    expect(await runner.run(check(promql(url, "node_load1 / count(node_cpu_seconds_total) by (instance)", "<", 0.8)))).toMatchObject({
      ok: false,
      message: '1 of 2 sample(s) not < 0.8: {instance="n2"} 0.93',
    });
    expect(await runner.run(check(promql(url, "scalar(42)", "==", 42)))).toMatchObject({ ok: true, message: "42 == 42" });
  });

  it("counts no samples as failing unless on_empty: pass", async () => {
    const url = await serve({ "query:up{job=\"ceph\"} == 0": { body: vector() } });
    expect(await runner.run(check(promql(url, 'up{job="ceph"} == 0', "==", 0)))).toMatchObject({ ok: false, message: "the query returned no samples (on_empty: fail)" });
    expect(await runner.run(check(promql(url, 'up{job="ceph"} == 0', "==", 0, "pass")))).toMatchObject({ ok: true });
  });

  it("fails with the reason on a refused query, an unreachable server and a non-vector answer", async () => {
    const url = await serve({
      "query:rate(x[": { status: 400, body: { status: "error", errorType: "bad_data", error: "1:8: parse error: unexpected end of input" } },
      "query:x[5m]": { body: { status: "success", data: { resultType: "matrix", result: [] } } },
    });
    expect(await runner.run(check(promql(url, "rate(x[", "==", 0)))).toMatchObject({ ok: false, message: "HTTP 400: Prometheus refused the query: bad_data: 1:8: parse error: unexpected end of input" });
    expect(await runner.run(check(promql(url, "x[5m]", "==", 0)))).toMatchObject({ ok: false, message: "the query returned a matrix, not an instant vector or scalar" });
    expect((await runner.run(check(promql("http://127.0.0.1:9", "up", "==", 1)))).ok).toBe(false);
  });
});

describe("Alertmanager silences", () => {
  const alerts = {
    status: "success",
    data: {
      alerts: [
        { labels: { alertname: "KubeNodeNotReady", node: "n3", severity: "warning" }, state: "firing" },
        { labels: { alertname: "CephHealthWarning", severity: "critical" }, state: "firing" },
      ],
    },
  };
  const silences = [
    { id: "s1", status: { state: "active" }, createdBy: "ops", matchers: [{ name: "alertname", value: "KubeNode.*", isRegex: true, isEqual: true }, { name: "node", value: "n3", isRegex: false }] },
    { id: "s2", status: { state: "expired" }, createdBy: "ops", matchers: [{ name: "alertname", value: "CephHealthWarning", isRegex: false, isEqual: true }] },
  ];

  it("lets a silenced alert pass and blocks on the others", async () => {
    const seen: string[] = [];
    const prom = await serve({ "/api/v1/alerts": { body: alerts } });
    const am = await serve({ "/api/v2/silences": { body: silences } }, seen);
    const spec: CheckSpec = { kind: "prometheus", url: prom, include: [], exclude: [], alertmanager: am, silencedBlocks: false };
    expect(await runner.run(check(spec))).toMatchObject({ ok: false, message: "alerts firing: CephHealthWarning (silenced: KubeNodeNotReady)" });
    expect(seen).toEqual(["/api/v2/silences"]);
    // Only the silenced alert left: the check passes.
    expect(await runner.run(check({ ...spec, exclude: ["CephHealthWarning"] }))).toMatchObject({ ok: true, message: "no blocking alerts firing (ignored: CephHealthWarning; silenced: KubeNodeNotReady)" });
  });

  it("blocks on silenced alerts with silenced_block, and fails when the silences cannot be read", async () => {
    const prom = await serve({ "/api/v1/alerts": { body: alerts } });
    const am = await serve({ "/api/v2/silences": { status: 503, body: {} } });
    const spec: CheckSpec = { kind: "prometheus", url: prom, include: ["KubeNodeNotReady"], exclude: [], alertmanager: am, silencedBlocks: true };
    expect(await runner.run(check(spec))).toMatchObject({ ok: false, message: "alerts firing: KubeNodeNotReady" });
    expect(await runner.run(check({ ...spec, silencedBlocks: false }))).toMatchObject({ ok: false, message: "alerts firing (KubeNodeNotReady) and silences unknown: Alertmanager answered HTTP 503" });
  });
});
