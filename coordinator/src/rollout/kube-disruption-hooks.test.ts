import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../../shared/src/log/index.js";
import { NodeRegistry } from "../fleet/index.js";
import { FakeKubeApiserver } from "../kube/fake-kube-apiserver.js";
import { InstantClock } from "../kube/instant-clock.js";
import { NoKube, type KubeDriver } from "../kube/index.js";
import { KubeClient } from "../kube/kube-client.js";
import { FileStore, type LeaseRecord, type NodeReport } from "../store/index.js";
import { SingleLeader } from "../leader/index.js";
import { KubeDisruptionHooks } from "./kube-disruption-hooks.js";
import { fakeKubeConfig } from "../kube/fake-kube-config.js";
import { acquire, harness, settingsFor, tokenOf } from "../lease/test-lease-kit.js";

const T = 1_000_000;
const lease: LeaseRecord = {
  node: "n1",
  kind: "reboot",
  state: "verifying",
  fencingToken: 7,
  revision: "r2",
  requestedAtMs: T,
  grantedAtMs: T,
  phase: "verify",
  phaseDeadlineMs: T + 600_000,
  renewedAtMs: T,
  cordonedByUs: false,
  nodeWasCordoned: false,
  bootIdAtGrant: "boot-before",
};
const report: NodeReport = {
  revision: "r2",
  sha256: "s2",
  phase: "confirmed",
  health: { healthy: true, checks: [], observedAtMs: T },
  error: "",
  agentVersion: "0.1.0",
  bootId: "boot-after",
  bootedSystem: "/nix/store/x",
  currentSystem: "/nix/store/x",
  atMs: T,
};

let dir: string;
let fake: FakeKubeApiserver;
let registry: NodeRegistry;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nk-hooks-"));
  const store = await FileStore.open({ dir, clock: () => T });
  await store.enrollNode("n1");
  registry = new NodeRegistry(store);
  await registry.load();
  await registry.report("n1", report);
  fake = await FakeKubeApiserver.start();
});

afterEach(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

const hooksWith = (kube: KubeDriver) =>
  new KubeDisruptionHooks({ kube, registry, clusterChecks: async () => ({ ok: true, failing: [] }), drainTimeoutMs: () => 60_000, log: silentLogger() });

describe("KubeDisruptionHooks.afterReturn", () => {
  it("with Kubernetes configured, a node missing from it is not back", async () => {
    const outcome = await hooksWith(new KubeClient(fakeKubeConfig(fake))).afterReturn(lease);
    expect(outcome).toEqual({ ok: false, reason: "n1 is not registered in Kubernetes: not back until its kubelet has joined and is Ready" });
  });

  it("with Kubernetes configured, the node is back once it is registered and Ready", async () => {
    const hooks = hooksWith(new KubeClient(fakeKubeConfig(fake)));
    fake.setNode({ name: "n1", ready: false });
    expect(await hooks.afterReturn(lease)).toMatchObject({ ok: false, reason: expect.stringContaining("Kubernetes node n1 is not Ready") });
    fake.setNode({ name: "n1", ready: true });
    expect(await hooks.afterReturn(lease)).toEqual({ ok: true, reason: "back and healthy" });
  });

  it("with kube: none the agent's word and the cluster checks decide", async () => {
    expect(await hooksWith(new NoKube()).afterReturn(lease)).toEqual({ ok: true, reason: "back and healthy" });
    expect(fake.calls("GET")).toHaveLength(0);
  });
});

describe("a drain a PodDisruptionBudget refuses", () => {
  it("fails naming the pod, never reboots, and the failure hook lifts nk's cordon", async () => {
    fake.setNode({ name: "n1", ready: true });
    fake.addPod({ namespace: "db", name: "postgres-0", nodeName: "n1", owner: "StatefulSet", pdbBlocks: Infinity });
    const kube = new KubeClient(fakeKubeConfig(fake), { clock: new InstantClock() });
    const hooks = new KubeDisruptionHooks({ kube, registry, clusterChecks: async () => ({ ok: true, failing: [] }), drainTimeoutMs: () => 20_000, log: silentLogger() });
    const draining: LeaseRecord = { ...lease, state: "draining" };
    const outcome = await hooks.beforeDisruption(draining);
    expect(outcome).toEqual({
      ok: false,
      reason: "drain timed out after 20s: pod db/postgres-0 blocked by PodDisruptionBudget (The disruption budget postgres-0-pdb needs 1 healthy pods and has 1 currently)",
      cordonedByUs: true,
      nodeWasCordoned: false,
    });
    expect(fake.node("n1")?.unschedulable).toBe(true);
    expect(await hooks.afterFailure({ ...draining, cordonedByUs: true, nodeWasCordoned: false })).toEqual({ ok: true, reason: "uncordoned" });
    expect(fake.node("n1")?.unschedulable).toBe(false);
    expect(fake.podKeys()).toEqual(["db/postgres-0"]);
  });
});

describe("a host without k3s (role none)", () => {
  const none: LeaseRecord = { ...lease, role: "none" };

  it("is not drained, cordoned or uncordoned, and is back without a Kubernetes node or Ready condition", async () => {
    const hooks = hooksWith(new KubeClient(fakeKubeConfig(fake)));
    expect(await hooks.beforeDisruption({ ...none, state: "granted" })).toEqual({ ok: true, reason: "n1 runs no k3s (role none): nothing to drain" });
    expect(await hooks.afterReturn(none)).toEqual({ ok: true, reason: "back and healthy" });
    expect(await hooks.afterFailure(none)).toEqual({ ok: true, reason: "not cordoned by nk" });
    for (const method of ["GET", "PATCH", "POST", "DELETE"]) expect(fake.calls(method), method).toHaveLength(0);
  });

  it("still needs a new boot id after a reboot and a healthy agent", async () => {
    const hooks = hooksWith(new KubeClient(fakeKubeConfig(fake)));
    await registry.report("n1", { ...report, bootId: "boot-before" });
    expect(await hooks.afterReturn(none)).toEqual({ ok: false, reason: "n1 has not rebooted yet (boot id unchanged)" });
    await registry.report("n1", { ...report, health: { healthy: false, checks: [{ name: "zfs", ok: false, message: "degraded", observedAtMs: T }], observedAtMs: T } });
    expect(await hooks.afterReturn(none)).toEqual({ ok: false, reason: "n1 is not healthy (zfs)" });
  });
});

// Found while writing the HA chaos invariant "no drain or uncordon from a deposed leader": Kubernetes does not fence
// a deposed leader's calls, so the hooks must stop acting once leadership is gone.
describe("a coordinator deposed while a hook runs (HA)", () => {
  const cordoned: LeaseRecord = { ...lease, cordonedByUs: true, nodeWasCordoned: false };

  it("does not uncordon after losing leadership during the cluster checks; the lease stays for the new leader", async () => {
    fake.setNode({ name: "n1", ready: true, unschedulable: true });
    const leadership = new SingleLeader("c0");
    const kube = new KubeClient(fakeKubeConfig(fake));
    const clusterChecks = async () => {
      await leadership.resign(); // its etcd lease expired while a server answered the checks
      return { ok: true, failing: [] };
    };
    const hooks = new KubeDisruptionHooks({ kube, registry, clusterChecks, drainTimeoutMs: () => 60_000, leadership, log: silentLogger() });
    expect(await hooks.afterReturn(cordoned)).toEqual({ ok: false, reason: "this coordinator no longer leads: the new leader drains and uncordons", deposed: true });
    expect(await hooks.afterFailure(cordoned)).toMatchObject({ ok: false, deposed: true });
    expect(fake.calls("PATCH")).toHaveLength(0);
    expect(fake.node("n1")?.unschedulable).toBe(true);
  });

  it("stops a drain between its evictions when leadership is lost, and evicts nothing after", async () => {
    fake.setNode({ name: "n1", ready: true });
    fake.addPod({ namespace: "db", name: "postgres-0", nodeName: "n1", owner: "StatefulSet", pdbBlocks: Infinity });
    const leadership = new SingleLeader("c0");
    const clock = new InstantClock();
    let evictionsAtLoss = -1;
    clock.onSleep = () => {
      // The second backoff after a PodDisruptionBudget refusal: deposed now.
      if (clock.sleeps.length === 2) {
        evictionsAtLoss = fake.calls("POST").filter((r) => r.path.endsWith("/eviction")).length;
        void leadership.resign();
      }
    };
    const kube = new KubeClient(fakeKubeConfig(fake), { clock });
    const hooks = new KubeDisruptionHooks({ kube, registry, clusterChecks: async () => ({ ok: true, failing: [] }), drainTimeoutMs: () => 600_000, leadership, log: silentLogger() });
    expect(await hooks.beforeDisruption({ ...lease, state: "draining" })).toMatchObject({ ok: false, deposed: true });
    expect(evictionsAtLoss).toBe(2);
    expect(fake.calls("POST").filter((r) => r.path.endsWith("/eviction"))).toHaveLength(evictionsAtLoss);
    // A deposed coordinator neither cordons nor drains at all.
    expect(await hooks.beforeDisruption({ ...lease, state: "draining" })).toMatchObject({ ok: false, deposed: true });
    expect(fake.calls("POST").filter((r) => r.path.endsWith("/eviction"))).toHaveLength(evictionsAtLoss);
  });
});

// Review finding: client-node sets no timeout, and only the pod listing was bounded. With the apiserver connection
// black-holed (the k3s server behind the kubeconfig rebooting under a lease), a return check hung, the agent's release
// retries joined it, and the slot stayed taken.
describe("a Kubernetes API that does not answer (a black-holed connection)", () => {
  const checksOk = async () => ({ ok: true, failing: [] });

  it("the return check gives up after the call timeout; the lease stays held with the reason, and a later release succeeds", async () => {
    fake.setNode({ name: "n1", ready: true });
    const kube = new KubeClient(fakeKubeConfig(fake), { clock: new InstantClock() });
    const hooks = new KubeDisruptionHooks({ kube, registry, clusterChecks: checksOk, drainTimeoutMs: () => 60_000, callTimeoutMs: 400, log: silentLogger() });
    const h = await harness(settingsFor({ n1: "agent" }), {}, { hooks });
    try {
      await acquire(h, "n1");
      const token = tokenOf(h, "n1");
      await h.manager.renew("n1", token, "draining", "boot-before");
      await h.manager.settled();
      expect(h.manager.held()[0]).toMatchObject({ state: "drained" });
      expect(fake.node("n1")?.unschedulable).toBe(true);
      await h.manager.renew("n1", token, "rebooting", "boot-before");
      await h.manager.renew("n1", token, "verifying", "boot-after");

      fake.blackHole("GET", "/api/v1/nodes/n1");
      expect(await h.manager.release("n1", token, true, "confirmed")).toBe(false);
      expect(h.manager.held()[0]).toMatchObject({ node: "n1", fencingToken: token, waitingReason: "not back yet: Kubernetes API: reading node n1: no answer within 400ms" });
      await fake.hungUp(1); // the timeout reached the client's connection, not only the hook's promise

      fake.fillBlackHoles();
      expect(await h.manager.release("n1", token, true, "confirmed")).toBe(true);
      expect(h.manager.held()).toEqual([]);
      expect(fake.node("n1")?.unschedulable).toBe(false);
    } finally {
      await h.cleanup();
    }
  });

  it("an uncordon that never answers fails the failure hook, naming the call, the node and the time waited", async () => {
    fake.setNode({ name: "n1", ready: true, unschedulable: true, annotations: { "nk.dev/cordoned-by": "lease-7" } });
    fake.blackHole("PATCH", "/api/v1/nodes/n1");
    const hooks = new KubeDisruptionHooks({ kube: new KubeClient(fakeKubeConfig(fake)), registry, clusterChecks: checksOk, drainTimeoutMs: () => 60_000, callTimeoutMs: 400, log: silentLogger() });
    await expect(hooks.afterFailure({ ...lease, cordonedByUs: true, nodeWasCordoned: false })).rejects.toThrow("Kubernetes API: uncordoning node n1: no answer within 400ms");
    await fake.hungUp(1);
    expect(fake.node("n1")?.unschedulable).toBe(true);
  });

  it("lifts only nk's own cordon: a lease that wrongly says nk cordoned (the cordon's read timed out) leaves an operator's", async () => {
    fake.setNode({ name: "n1", ready: true, unschedulable: true });
    const hooks = new KubeDisruptionHooks({ kube: new KubeClient(fakeKubeConfig(fake)), registry, clusterChecks: checksOk, drainTimeoutMs: () => 60_000, log: silentLogger() });
    expect(await hooks.afterFailure({ ...lease, cordonedByUs: true, nodeWasCordoned: false })).toEqual({ ok: true, reason: "left cordoned: its cordon does not carry this lease's marker (lease-7)", cordonedByUs: false, nodeWasCordoned: true });
    expect(await hooks.afterReturn({ ...lease, cordonedByUs: true, nodeWasCordoned: false })).toEqual({ ok: true, reason: "back and healthy; left cordoned: its cordon does not carry this lease's marker (lease-7)" });
    expect([fake.node("n1")?.unschedulable, fake.calls("PATCH")]).toEqual([true, []]);
  });

  it("sends no call once isLeader() says no, even before the loss is announced (a paused leader)", async () => {
    fake.setNode({ name: "n1", ready: true, unschedulable: true, annotations: { "nk.dev/cordoned-by": "lease-7" } });
    const leadership = { isLeader: () => false, onChange: () => () => undefined };
    const hooks = new KubeDisruptionHooks({ kube: new KubeClient(fakeKubeConfig(fake)), registry, clusterChecks: checksOk, drainTimeoutMs: () => 60_000, leadership, log: silentLogger() });
    expect(await hooks.afterFailure({ ...lease, cordonedByUs: true })).toEqual({ ok: false, reason: "this coordinator no longer leads: the new leader drains and uncordons", deposed: true });
    expect([fake.calls("GET"), fake.calls("PATCH"), fake.node("n1")?.unschedulable]).toEqual([[], [], true]);
  });

  it("losing leadership ends the status read before a drain at once, and nothing is cordoned", async () => {
    fake.setNode({ name: "n1", ready: true });
    const leadership = new SingleLeader("c0");
    fake.blackHole("GET", "/api/v1/nodes/n1", () => void leadership.resign());
    // A timeout far beyond the test's: only the leadership loss can end the call.
    const hooks = new KubeDisruptionHooks({ kube: new KubeClient(fakeKubeConfig(fake)), registry, clusterChecks: checksOk, drainTimeoutMs: () => 60_000, leadership, callTimeoutMs: 3_600_000, log: silentLogger() });
    expect(await hooks.beforeDisruption({ ...lease, state: "draining" })).toEqual({ ok: false, reason: "this coordinator no longer leads: the new leader drains and uncordons", deposed: true });
    await fake.hungUp(1);
    expect(fake.calls("PATCH")).toHaveLength(0);
  });
});
