import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeKubeApiserver } from "../kube/fake-kube-apiserver.js";
import { NoKube } from "../kube/index.js";
import { KubeClient } from "../kube/kube-client.js";
import { NodeHealth, type NodeHealthView } from "./node-health.js";
import { ManualTimers } from "./test-timers.js";
import { fakeKubeConfig } from "../kube/fake-kube-config.js";

const OK_CHECK = { name: "k3s", ok: true, message: "active", observedAtMs: 0 };

function track(health: NodeHealth): NodeHealthView[] {
  const changes: NodeHealthView[] = [];
  health.onChange((v) => changes.push(v));
  return changes;
}

describe("NodeHealth without Kubernetes", () => {
  it("is healthy when the agent is connected, reporting and healthy", () => {
    const timers = new ManualTimers();
    const health = new NodeHealth({ kube: new NoKube(), timers });
    const changes = track(health);
    health.setNodes(["n2", "n1"]);
    expect(health.all().map((v) => [v.name, v.healthy, v.reason])).toEqual([
      ["n1", false, "agent not connected; agent has not reported yet"],
      ["n2", false, "agent not connected; agent has not reported yet"],
    ]);
    health.noteConnected("n1", true);
    health.noteReport("n1", true, [OK_CHECK], timers.now());
    expect(health.view("n1")).toEqual({
      name: "n1",
      connected: true,
      agentFresh: true,
      agentHealthy: true,
      checks: [OK_CHECK],
      lastReportMs: timers.now(),
      k8sReady: null,
      cordoned: null,
      healthy: true,
      reason: "",
    });
    expect(health.isHealthy("n1")).toBe(true);
    expect(health.isHealthy("n9")).toBe(false);
    expect(changes.map((c) => [c.name, c.healthy])).toEqual([["n1", false], ["n2", false], ["n1", false], ["n1", true]]);
    health.noteReport("n1", true, [OK_CHECK], timers.now());
    expect(changes).toHaveLength(4);
  });

  it("re-evaluates only the node a connection or report concerns, so a fleet connects in linear time", () => {
    const timers = new ManualTimers();
    const kube = new NoKube();
    let evaluations = 0;
    // compute() reads kube.enabled once per node it evaluates.
    Object.defineProperty(kube, "enabled", { get: () => (evaluations++, false) });
    const health = new NodeHealth({ kube, timers });
    const names = Array.from({ length: 1_000 }, (_, i) => `w${i}`);
    health.setNodes(names);
    evaluations = 0;
    for (const name of names) health.noteConnected(name, true);
    health.noteReport("w7", true, [OK_CHECK], timers.now());
    health.noteConnected("not-in-inventory", true);
    expect(evaluations).toBe(1_001);
    expect(health.all().every((v) => v.connected)).toBe(true);
    expect(health.view("w7")?.healthy).toBe(true);
    expect(health.view("not-in-inventory")).toBeUndefined();
  });

  it("names the failing checks of an unhealthy agent and ignores reports that arrive out of order", () => {
    const timers = new ManualTimers();
    const health = new NodeHealth({ kube: new NoKube(), timers });
    health.setNodes(["n1"]);
    health.noteConnected("n1", true);
    health.noteReport("n1", false, [OK_CHECK, { name: "ceph-osd", ok: false, message: "osd.3 down", observedAtMs: 0 }], timers.now());
    expect(health.view("n1")).toMatchObject({ healthy: false, agentHealthy: false, reason: "agent reports unhealthy: ceph-osd (osd.3 down)" });
    health.noteReport("n1", true, [], timers.now() - 1);
    expect(health.view("n1")?.agentHealthy).toBe(false);
  });

  it("turns a silent agent stale after three heartbeats, found by its periodic tick", async () => {
    const timers = new ManualTimers();
    const health = new NodeHealth({ kube: new NoKube(), timers, heartbeatMs: 10_000, pollMs: 5_000 });
    const changes = track(health);
    health.setNodes(["n1"]);
    health.noteConnected("n1", true);
    health.noteReport("n1", true, [], timers.now());
    health.start();
    await timers.advance(30_000);
    expect(health.view("n1")?.agentFresh).toBe(true);
    await timers.advance(5_000);
    expect(health.view("n1")).toMatchObject({ agentFresh: false, healthy: false, reason: "no report for over 30s" });
    const count = changes.length;
    await timers.advance(20_000);
    expect(changes).toHaveLength(count);
    health.stop();
    expect(timers.pending()).toBe(0);
  });
});

describe("NodeHealth with Kubernetes", () => {
  let fake: FakeKubeApiserver;
  let timers: ManualTimers;
  let health: NodeHealth;

  beforeEach(async () => {
    fake = await FakeKubeApiserver.start();
    fake.setNode({ name: "n1", ready: true });
    fake.setNode({ name: "n2", ready: false, message: "PLEG is not healthy" });
    timers = new ManualTimers();
    health = new NodeHealth({ kube: new KubeClient(fakeKubeConfig(fake)), timers, pollMs: 5_000 });
    health.setNodes(["n1", "n2", "n3"]);
    for (const n of ["n1", "n2", "n3"]) {
      health.noteConnected(n, true);
      health.noteReport(n, true, [], timers.now());
    }
  });

  afterEach(async () => {
    health.stop();
    await fake.close();
  });

  it("waits for a first read, then gates on the Ready condition", async () => {
    expect(health.view("n1")).toMatchObject({ healthy: false, k8sReady: false, reason: "Kubernetes readiness not read yet" });
    await health.refreshKube();
    expect(health.all().map((v) => [v.name, v.k8sReady, v.healthy, v.reason])).toEqual([
      ["n1", true, true, ""],
      ["n2", false, false, "Kubernetes node NotReady: KubeletNotReady: PLEG is not healthy"],
      ["n3", false, false, "not registered in Kubernetes"],
    ]);
  });

  it("leaves readiness out for a host without k3s (role none): it is never a Kubernetes node", async () => {
    health.setNodes(["n1", "n2", "n3"], ["n3"]);
    await health.refreshKube();
    expect(health.view("n3")).toMatchObject({ k8sReady: null, cordoned: null, healthy: true, reason: "" });
    expect(health.isHealthy("n3")).toBe(true);
  });

  it("polls periodically and follows readiness and cordon changes", async () => {
    const changes = track(health);
    health.start();
    await vi.waitFor(() => expect(health.view("n1")?.k8sReady).toBe(true));
    fake.setNode({ name: "n2", ready: true, unschedulable: true });
    await timers.advance(5_000);
    await vi.waitFor(() => expect(health.view("n2")).toMatchObject({ k8sReady: true, cordoned: true, healthy: true }));
    expect(changes.filter((c) => c.name === "n2").map((c) => c.healthy)).toEqual([false, true]);
    expect(fake.calls("GET", "/api/v1/nodes").length).toBeGreaterThanOrEqual(2);
  });

  it("counts nodes as not ready while the API cannot be read", async () => {
    await health.refreshKube();
    await fake.close();
    await health.refreshKube();
    const n1 = health.view("n1");
    expect(n1).toMatchObject({ k8sReady: false, healthy: false });
    expect(n1?.reason).toMatch(/^Kubernetes API unreachable: /);
    fake = await FakeKubeApiserver.start();
  });
});
