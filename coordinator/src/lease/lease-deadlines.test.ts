// LeaseManager safety: phase deadlines halt without handing on, failures halt, drain/return hooks, operator release, restart.
import { afterEach, describe, expect, it } from "vitest";
import { acquire, harness, heldNodes, lastUpdate, settingsFor, tokenOf, type Harness } from "./test-lease-kit.js";

const NODES = { n1: "agent", n2: "agent", n3: "agent" } as const;
const GRACE = 60_000;
let h: Harness;

afterEach(async () => {
  await h.cleanup();
});

async function toRebooting(node: string): Promise<number> {
  const token = tokenOf(h, node);
  await h.manager.renew(node, token, "draining", "boot-a");
  await h.manager.settled();
  expect(h.manager.held().find((l) => l.node === node)?.state).toBe("drained");
  await h.manager.renew(node, token, "rebooting", "boot-a");
  return token;
}

async function rollout(): Promise<{ halted?: { reason: string }; paused?: { reason: string } }> {
  return h.store.getRollout();
}

describe("phase deadlines", () => {
  it("halts on a missed reboot deadline with a reason, keeps the lease and does not grant the next", async () => {
    h = await harness(settingsFor(NODES, { rebootTimeoutSeconds: 900 }));
    await acquire(h, "n1");
    await acquire(h, "n2");
    const token = await toRebooting("n1");
    expect(h.manager.held()[0]!.phaseDeadlineMs).toBe(h.time.now() + 900_000 + GRACE);
    await h.advance(900_000 + GRACE - 1);
    expect((await rollout()).halted).toBeUndefined();
    await h.advance(1);
    const halted = (await rollout()).halted;
    expect(halted?.reason).toMatch(/^node n1 missed its reboot-return deadline \(rebooting, due .*\); lease #\d+ stays held until the node returns or an operator force-releases it$/);
    expect(h.manager.blockedReason()).toBe(`rollout halted: ${halted?.reason}`);
    await h.advance(3_600_000);
    expect(heldNodes(h)).toEqual(["n1"]);
    expect((await h.store.readEvents()).filter((e) => e.kind === "rollout-halted")).toHaveLength(1);

    // The node comes back late: its release proceeds, the deadline halt lifts, the next is granted.
    await h.manager.renew("n1", token, "verifying", "boot-b");
    expect(await h.manager.release("n1", token, true, "confirmed")).toBe(true);
    expect((await rollout()).halted).toBeUndefined();
    expect(heldNodes(h)).toEqual(["n2"]);
  });

  it("lets an operator force-release an overdue lease, which lifts its halt and grants the next", async () => {
    h = await harness(settingsFor(NODES));
    await acquire(h, "n1");
    await acquire(h, "n2");
    await toRebooting("n1");
    await h.advance(900_000 + GRACE);
    expect((await rollout()).halted).toBeDefined();
    const refused = await h.manager.adminRelease("n1", false, "node is dead");
    expect(refused).toMatchObject({ released: false });
    expect(refused.message).toContain("--force");
    expect(heldNodes(h)).toEqual(["n1"]);
    const forced = await h.manager.adminRelease("n1", true, "node is dead");
    expect(forced).toEqual({ released: true, message: expect.stringContaining("may still be cordoned") as unknown as string });
    expect((await rollout()).halted).toBeUndefined();
    expect(heldNodes(h)).toEqual(["n2"]);
    expect(lastUpdate(h, "n1")).toMatchObject({ state: "revoked" });
    const forcedEvent = (await h.store.readEvents()).find((e) => e.kind === "lease-force-released");
    expect(forcedEvent?.message).toContain("node is dead");
  });

  it("halts when a granted holder never starts draining", async () => {
    h = await harness(settingsFor(NODES), { startTimeoutMs: 120_000 });
    await acquire(h, "n1");
    await acquire(h, "n2");
    await h.advance(120_000);
    expect((await rollout()).halted?.reason).toContain("node n1 missed its start deadline");
    expect(heldNodes(h)).toEqual(["n1"]);
  });

  it("a plain renewal does not move the deadline; a new phase does", async () => {
    h = await harness(settingsFor(NODES, { healthDeadlineSeconds: 100 }));
    await acquire(h, "n1");
    const token = await toRebooting("n1");
    await h.advance(10_000);
    await h.manager.renew("n1", token, "verifying", "boot-b");
    const deadline = h.manager.held()[0]!.phaseDeadlineMs;
    expect(deadline).toBe(h.time.now() + 100_000 + GRACE);
    await h.advance(50_000);
    const view = await h.manager.renew("n1", token, "verifying", "boot-b");
    expect(view.phaseDeadlineMs).toBe(deadline);
    // A rollback reboot is a new phase with a fresh deadline.
    expect((await h.manager.renew("n1", token, "rebooting", "boot-b")).phaseDeadlineMs).toBe(h.time.now() + 900_000 + GRACE);
  });

  it("reports a holder that stopped renewing outside a reboot, without halting", async () => {
    h = await harness(settingsFor(NODES), { holderSilenceMs: 30_000 });
    await acquire(h, "n1");
    const token = await toRebooting("n1");
    await h.manager.renew("n1", token, "verifying", "boot-b");
    await h.advance(30_000);
    expect(h.manager.held()[0]!.waitingReason).toBe("no renewal from the holder for 30s while verifying");
    expect((await rollout()).halted).toBeUndefined();
    await h.manager.renew("n1", token, "verifying", "boot-b");
    expect(h.manager.held()[0]!.waitingReason).toBe("");
  });
});

describe("failures, hooks and the operator", () => {
  it("halts on a failed release until an operator resumes", async () => {
    h = await harness(settingsFor(NODES));
    await acquire(h, "n1");
    await acquire(h, "n2");
    const token = await toRebooting("n1");
    expect(await h.manager.release("n1", token, false, "rolled back: k3s inactive")).toBe(true);
    expect((await rollout()).halted).toMatchObject({ reason: "node n1 failed: rolled back: k3s inactive", revision: "rev1" });
    expect(heldNodes(h)).toEqual([]);
    expect(h.manager.blockedReason()).toBe("rollout halted: node n1 failed: rolled back: k3s inactive");
    // A failed node is not checked as "back" (its agent verified the rollback), but the cordon we set goes with the lease.
    expect(h.hooks.calls.filter((c) => c.hook === "after")).toEqual([]);
    expect(h.hooks.calls.filter((c) => c.hook === "failure")).toEqual([{ hook: "failure", node: "n1", fencingToken: token }]);
    await h.manager.resume();
    expect(heldNodes(h)).toEqual(["n2"]);
  });

  it("halts at once on a failed release but keeps the lease while the failed node cannot be uncordoned", async () => {
    h = await harness(settingsFor(NODES));
    await acquire(h, "n1");
    await acquire(h, "n2");
    const token = await toRebooting("n1");
    h.hooks.failureOutcomes.push({ ok: false, reason: "kube-apiserver unreachable" });
    expect(await h.manager.release("n1", token, false, "rolled back: k3s inactive")).toBe(false);
    expect((await rollout()).halted).toMatchObject({ reason: "node n1 failed: rolled back: k3s inactive" });
    expect(heldNodes(h)).toEqual(["n1"]);
    expect(h.manager.held()[0]!.waitingReason).toBe("failed; cannot uncordon it yet: kube-apiserver unreachable");
    // The holder's retry lifts the cordon and gives the slot back; the rollout stays halted.
    expect(await h.manager.release("n1", token, false, "rolled back: k3s inactive")).toBe(true);
    expect(heldNodes(h)).toEqual([]);
    expect(h.manager.blockedReason()).toBe("rollout halted: node n1 failed: rolled back: k3s inactive");
  });

  it("does not call the failure hook for a lease that never drained", async () => {
    h = await harness(settingsFor(NODES));
    await acquire(h, "n1");
    expect(await h.manager.release("n1", tokenOf(h, "n1"), false, "build failed")).toBe(true);
    expect(h.hooks.calls).toEqual([]);
  });

  it("drains through the hook when the holder announces draining, and persists who cordoned", async () => {
    h = await harness(settingsFor(NODES));
    await acquire(h, "n1");
    const token = tokenOf(h, "n1");
    await h.manager.renew("n1", token, "draining", "boot-a");
    await h.manager.renew("n1", token, "draining", "boot-a");
    await h.manager.settled();
    expect(h.hooks.calls).toEqual([{ hook: "before", node: "n1", fencingToken: token }]);
    expect(await h.store.getLease("n1")).toMatchObject({ state: "drained", phase: "reboot-return", cordonedByUs: true, nodeWasCordoned: false });
    expect(lastUpdate(h, "n1")).toMatchObject({ state: "drained" });
  });

  it("fails safe on a failed drain: uncordons at once, halts naming the pods, never hands the slot on", async () => {
    h = await harness(settingsFor(NODES));
    h.hooks.beforeOutcomes.push({ ok: false, reason: "drain timed out after 20s: pod db/postgres-0 blocked by PodDisruptionBudget", cordonedByUs: true, nodeWasCordoned: false });
    await acquire(h, "n1");
    await acquire(h, "n2");
    const token = tokenOf(h, "n1");
    await h.manager.renew("n1", token, "draining", "boot-a");
    await h.manager.settled();
    // Uncordoned by the coordinator itself, before the holder says anything.
    expect(h.hooks.calls).toEqual([{ hook: "before", node: "n1", fencingToken: token }, { hook: "failure", node: "n1", fencingToken: token }]);
    expect((await rollout()).halted?.reason).toBe("drain of n1 failed: drain timed out after 20s: pod db/postgres-0 blocked by PodDisruptionBudget; n1 was not rebooted and is uncordoned");
    expect(await h.store.getLease("n1")).toMatchObject({ state: "draining", cordonedByUs: false });
    expect(lastUpdate(h, "n1")).toMatchObject({ state: "draining", waitingReason: "drain failed: drain timed out after 20s: pod db/postgres-0 blocked by PodDisruptionBudget" });
    expect(heldNodes(h)).toEqual(["n1"]);
    // The agent gives up (it never reboots) and releases: no second uncordon, and the halt keeps n2 waiting.
    expect(await h.manager.release("n1", token, false, "drain failed")).toBe(true);
    expect(h.hooks.calls).toHaveLength(2);
    expect(heldNodes(h)).toEqual([]);
    expect(h.manager.blockedReason()).toMatch(/^rollout halted: drain of n1 failed/);
  });

  it("keeps an operator's cordon when a drain fails", async () => {
    h = await harness(settingsFor(NODES));
    h.hooks.beforeOutcomes.push({ ok: false, reason: "eviction of pod x refused", cordonedByUs: false, nodeWasCordoned: true });
    h.hooks.failureOutcomes.push({ ok: true, reason: "not cordoned by nk" });
    await acquire(h, "n1");
    await h.manager.renew("n1", tokenOf(h, "n1"), "draining", "boot-a");
    await h.manager.settled();
    expect((await rollout()).halted?.reason).toBe("drain of n1 failed: eviction of pod x refused; n1 was not rebooted and stays cordoned (an operator cordoned it)");
  });

  it("keeps the lease while the node is not back, and releases on a later attempt", async () => {
    h = await harness(settingsFor(NODES));
    await acquire(h, "n1");
    await acquire(h, "n2");
    const token = await toRebooting("n1");
    await h.manager.renew("n1", token, "verifying", "boot-b");
    h.hooks.afterOutcomes.push({ ok: false, reason: "k8s node not Ready" });
    expect(await h.manager.release("n1", token, true, "confirmed")).toBe(false);
    expect(h.manager.held()[0]).toMatchObject({ node: "n1", waitingReason: "not back yet: k8s node not Ready" });
    expect(await h.manager.release("n1", token, true, "confirmed")).toBe(true);
    expect(heldNodes(h)).toEqual(["n2"]);
  });

  it("drops a queued request on an operator's word and releases an unstarted lease without force", async () => {
    h = await harness(settingsFor(NODES));
    await acquire(h, "n1");
    await acquire(h, "n2");
    await acquire(h, "n3");
    expect(await h.manager.adminRelease("n2", false, "skip")).toEqual({ released: true, message: "dropped the queued lease request of n2" });
    expect(lastUpdate(h, "n2")).toMatchObject({ state: "revoked", waitingReason: "dropped by an operator: skip" });
    expect(h.manager.queue().map((q) => [q.node, q.queuePosition])).toEqual([["n3", 1]]);
    expect((await h.manager.adminRelease("n1", false, "later")).released).toBe(true);
    expect(heldNodes(h)).toEqual(["n3"]);
    expect(await h.manager.adminRelease("n2", true, "x")).toEqual({ released: false, message: "n2 holds no lease and has no queued request" });
  });
});

describe("coordinator restart", () => {
  it("keeps the holder, its token and deadline, the queue, and grants nothing extra", async () => {
    h = await harness(settingsFor(NODES));
    await acquire(h, "n1");
    await acquire(h, "n2");
    const token = await toRebooting("n1");
    const before = h.manager.held()[0]!;
    await h.restart();
    expect(h.manager.held()).toEqual([before]);
    expect(h.manager.queue().map((q) => [q.node, q.waitingReason])).toEqual([["n2", "waiting: 1/1 node disrupted (n1)"]]);
    expect(h.grants).toHaveLength(1);
    // The agent comes back with its token: same lease; the old deadline still runs.
    await acquire(h, "n1", token);
    expect(lastUpdate(h, "n1")).toMatchObject({ fencingToken: token, state: "rebooting" });
    await h.advance(before.phaseDeadlineMs - h.time.now());
    expect((await rollout()).halted?.reason).toContain("node n1 missed its reboot-return deadline");
    expect(h.grants).toHaveLength(1);
  });

  it("records nothing for a drain the hook stopped because this coordinator was deposed: no failure, no undo, no halt", async () => {
    h = await harness(settingsFor(NODES));
    await acquire(h, "n1");
    const token = tokenOf(h, "n1");
    let undone = 0;
    h.hooks.beforeDisruption = () => Promise.resolve({ ok: false, reason: "this coordinator no longer leads", deposed: true });
    h.hooks.afterFailure = () => Promise.resolve({ ok: true, reason: `uncordoned (${++undone})` });
    await h.manager.renew("n1", token, "draining", "boot-a");
    await h.manager.settled();
    // The lease stays draining for the new leader, which re-runs the drain; a failure here would halt the rollout.
    expect(await h.store.getLease("n1")).toMatchObject({ state: "draining", fencingToken: token });
    expect(undone).toBe(0);
    expect((await rollout()).halted).toBeUndefined();
    expect((await h.store.readEvents()).filter((e) => e.kind === "lease-drain-failed")).toEqual([]);
  });

  it("resumes a drain that was in flight", async () => {
    h = await harness(settingsFor(NODES));
    await acquire(h, "n1");
    const token = tokenOf(h, "n1");
    // Hold the drain hook so the coordinator dies while the lease is still draining.
    let finish: () => void = () => undefined;
    h.hooks.beforeDisruption = () => new Promise((resolve) => (finish = () => resolve({ ok: true, reason: "drained" })));
    await h.manager.renew("n1", token, "draining", "boot-a");
    const dead = h.manager;
    h.hooks.beforeDisruption = (lease) => Promise.resolve({ ok: true, reason: `drained ${lease.node} again` });
    await h.crash();
    // The dead coordinator's drain finishing late must not matter (its store is closed).
    finish();
    await dead.settled();
    await h.manager.settled();
    const drained = (await h.store.readEvents()).filter((e) => e.kind === "lease-drained").map((e) => e.message);
    expect(drained).toEqual(["drained n1 again"]);
    expect(await h.store.getLease("n1")).toMatchObject({ state: "drained", fencingToken: token });
  });
});
