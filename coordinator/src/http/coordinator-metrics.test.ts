// /metrics: scrape-time fleet gauges from the snapshot, counters fed through methods, default process metrics.
import { afterEach, describe, expect, it } from "vitest";
import { CoordinatorMetrics } from "./coordinator-metrics.js";
import { buildTestApp, type TestApp } from "./test-app.js";
import { makeLease, makeNode, makeRollout, makeSnapshot, TestStatusSource } from "./test-status-source.js";

let t: TestApp | undefined;
afterEach(async () => {
  await t?.app.close();
  t = undefined;
});

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

describe("CoordinatorMetrics", () => {
  it("computes fleet gauges from the current snapshot at every scrape", async () => {
    const status = new TestStatusSource(
      makeSnapshot({
        nodes: [
          makeNode("n1"),
          makeNode("n2", { phase: "waiting-lease", appliedRevision: "old", appliedSha256: "sha-old", healthy: false, connected: false }),
          makeNode("n3", { phase: "waiting-lease", healthy: null }),
        ],
        leases: [makeLease("n3")],
        queue: [makeLease("n2", { state: "queued", queuePosition: 1 })],
        rollout: makeRollout({ halted: true, haltReason: "n3 did not come back" }),
      }),
    );
    t = buildTestApp({ status });
    const res = await t.app.inject({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    const series = lines(res.body);
    for (const expected of [
      "nk_nodes_total 3",
      'nk_nodes{phase="confirmed"} 1',
      'nk_nodes{phase="waiting-lease"} 2',
      'nk_node_healthy{node="n1"} 1',
      'nk_node_healthy{node="n2"} 0',
      'nk_node_connected{node="n2"} 0',
      'nk_node_converged{node="n1"} 1',
      'nk_node_converged{node="n2"} 0',
      "nk_leases_held 1",
      'nk_lease_deadline_seconds{node="n3",state="granted"} 600',
      "nk_lease_queue_length 1",
      "nk_rollout_paused 0",
      "nk_rollout_halted 1",
      "nk_coordinator_leader 1",
    ]) {
      expect(series).toContain(expected);
    }
    // Health not reported yet is absent, not "unhealthy".
    expect(series.some((l) => l.startsWith('nk_node_healthy{node="n3"}'))).toBe(false);

    status.set((s) => ({ ...s, nodes: s.nodes.slice(0, 1), leases: [], rollout: makeRollout({ paused: true }) }));
    const after = lines((await t.app.inject({ method: "GET", url: "/metrics" })).body);
    expect(after).toContain("nk_nodes_total 1");
    expect(after).toContain("nk_rollout_paused 1");
    expect(after.some((l) => l.includes('node="n2"'))).toBe(false);
    expect(after.some((l) => l.startsWith("nk_lease_deadline_seconds"))).toBe(false);
  });

  it("counts pushes, renders, streams, deliveries, grants and reports", async () => {
    const m = new CoordinatorMetrics({ defaultMetrics: false });
    m.pushReceived("accepted");
    m.pushReceived("accepted");
    m.pushReceived("rejected");
    m.renderFinished(0.03);
    const closeWatch = m.grpcStreamOpened("watch_desired");
    m.grpcStreamOpened("watch_desired");
    closeWatch();
    closeWatch();
    m.desiredDelivered(0.2);
    m.leaseGranted("reboot", 42);
    m.reportReceived();
    m.notification("ops-chat", "retried");
    m.notification("ops-chat", "delivered");
    m.setBuildSource(() => ({ queued: 1, building: 2, pushed: 3, failed: 0 }));
    const series = lines((await m.scrape()).body);
    for (const expected of [
      'nk_git_pushes_total{result="accepted"} 2',
      'nk_git_pushes_total{result="rejected"} 1',
      "nk_renders_total 1",
      'nk_render_duration_seconds_bucket{le="0.05"} 1',
      'nk_grpc_streams_open{stream="watch_desired"} 1',
      "nk_desired_delivery_latency_seconds_count 1",
      'nk_lease_grants_total{kind="reboot"} 1',
      'nk_lease_grant_latency_seconds_bucket{le="60",kind="reboot"} 1',
      'nk_lease_grant_latency_seconds_bucket{le="30",kind="reboot"} 0',
      "nk_reports_received_total 1",
      'nk_notifications_total{target="ops-chat",outcome="retried"} 1',
      'nk_notifications_total{target="ops-chat",outcome="delivered"} 1',
      'nk_build_jobs{state="building"} 2',
      'nk_build_jobs{state="failed"} 0',
    ]) {
      expect(series).toContain(expected);
    }
    // Without an attached status source the per-node gauges stay empty rather than failing the scrape.
    expect(series.some((l) => l.startsWith("nk_node_healthy{"))).toBe(false);
  });

  it("exposes process metrics with the nk_ prefix on its own registry only", async () => {
    const a = new CoordinatorMetrics();
    const b = new CoordinatorMetrics();
    const text = (await a.scrape()).body;
    expect(text).toMatch(/^nk_process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nk_nodejs_eventloop_lag_seconds /m);
    expect(a.registry).not.toBe(b.registry);
  });
});
