// LeaseManager on a real FileStore: FIFO grants, both limits, fencing, health- and release-driven grants, streams.
import { afterEach, describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { parseCron } from "../../../shared/src/inventory/index.js";
import { acquire, harness, heldNodes, lastUpdate, settingsFor, tokenOf, type Harness } from "./test-lease-kit.js";

const AGENTS = { n1: "agent", n2: "agent", n3: "agent" } as const;
let h: Harness;

afterEach(async () => {
  await h.cleanup();
});

/** Walks a holder through a whole reboot as its agent would, then releases. */
async function cycle(node: string): Promise<void> {
  const token = tokenOf(h, node);
  await h.manager.renew(node, token, "draining", "boot-a");
  await h.manager.settled();
  await h.manager.renew(node, token, "rebooting", "boot-a");
  await h.manager.renew(node, token, "verifying", "boot-b");
  expect(await h.manager.release(node, token, true, "confirmed")).toBe(true);
}

describe("LeaseManager grants", () => {
  it("grants FIFO one at a time with maxUnavailable 1, the next one on release at once", async () => {
    h = await harness(settingsFor(AGENTS));
    await acquire(h, "n1");
    await acquire(h, "n2");
    await acquire(h, "n3");
    expect(heldNodes(h)).toEqual(["n1"]);
    expect(h.manager.queue().map((q) => [q.node, q.queuePosition, q.waitingReason])).toEqual([
      ["n2", 1, "waiting: 1/1 node disrupted (n1)"],
      ["n3", 2, "waiting: 1/1 node disrupted (n1)"],
    ]);
    expect(h.manager.blockedReason()).toBe("waiting: 1/1 node disrupted (n1)");
    expect(lastUpdate(h, "n2")).toMatchObject({ state: "queued", queuePosition: 1, waitingReason: "waiting: 1/1 node disrupted (n1)" });

    const before = h.time.now();
    await cycle("n1");
    // Time did not move and no timer fired: the release itself granted the next request.
    expect(h.time.now()).toBe(before);
    expect(heldNodes(h)).toEqual(["n2"]);
    expect(lastUpdate(h, "n1")).toMatchObject({ state: "released" });
    expect(lastUpdate(h, "n2")).toMatchObject({ state: "granted", queuePosition: 0 });
    expect(h.grants.at(-1)).toMatchObject({ trigger: "release", latencyMs: 0 });
    await cycle("n2");
    await cycle("n3");
    expect(heldNodes(h)).toEqual([]);
    expect(h.manager.blockedReason()).toBe("");
    const tokens = h.grants.map((g) => g.lease.fencingToken);
    expect(tokens).toEqual([...tokens].sort((a, b) => a - b));
    expect(new Set(tokens).size).toBe(3);
    expect(h.grants.map((g) => g.lease.node)).toEqual(["n1", "n2", "n3"]);
  });

  it("grants two at a time with maxUnavailable 2 while servers stay within maxUnavailableServers", async () => {
    h = await harness(settingsFor({ a1: "agent", s1: "server", s2: "server", a2: "agent" }, { maxUnavailable: 2, maxUnavailableServers: 1 }));
    for (const n of ["a1", "s1", "s2", "a2"]) await acquire(h, n);
    expect(heldNodes(h)).toEqual(["a1", "s1"]);
    expect(h.manager.queue().map((q) => q.waitingReason)).toEqual(["waiting: 2/2 nodes disrupted (a1, s1)", "waiting: 2/2 nodes disrupted (a1, s1)"]);
    await cycle("a1");
    // s2 is blocked by the server limit and a2 may not overtake it.
    expect(heldNodes(h)).toEqual(["s1"]);
    expect(h.manager.queue().map((q) => q.waitingReason)).toEqual(["waiting: 1/1 server disrupted (s1)", "behind s2 in the queue (waiting: 1/1 server disrupted (s1))"]);
    await cycle("s1");
    expect(heldNodes(h).sort()).toEqual(["a2", "s2"]);
  });

  it("records the agent's boot id and the role on the grant", async () => {
    h = await harness(settingsFor({ s1: "server" }));
    await h.store.enrollNode("s1");
    await h.store.recordHello("s1", { agentVersion: "1", bootId: "boot-0", bootedSystem: "/s", currentSystem: "/s", phase: "idle", heldFencingToken: 0, atMs: h.time.now() });
    await acquire(h, "s1");
    const lease = await h.store.getLease("s1");
    expect(lease).toMatchObject({ bootIdAtGrant: "boot-0", role: "server", state: "granted", phase: "start" });
    expect(h.manager.held()[0]).toMatchObject({ role: "server", kind: "reboot", phaseDeadlineMs: h.time.now() + 300_000 });
  });

  it("waits for an unhealthy node and grants the moment it recovers", async () => {
    h = await harness(settingsFor(AGENTS));
    h.health.set("n3", { healthy: false, reason: "k3s inactive" });
    await h.manager.settled();
    await acquire(h, "n1");
    expect(heldNodes(h)).toEqual([]);
    expect(h.manager.blockedReason()).toBe("node n3 unhealthy: k3s inactive");
    expect(lastUpdate(h, "n1")).toMatchObject({ state: "queued", waitingReason: "node n3 unhealthy: k3s inactive" });
    h.health.set("n3", {});
    await h.manager.settled();
    expect(heldNodes(h)).toEqual(["n1"]);
    expect(h.grants[0]).toMatchObject({ trigger: "health" });
    expect(h.grants[0]!.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("waits for failing cluster checks", async () => {
    h = await harness(settingsFor(AGENTS));
    h.checks.set({ ok: false, failing: [{ name: "ceph", message: "HEALTH_WARN" }] });
    await acquire(h, "n1");
    expect(h.manager.blockedReason()).toBe("check ceph failing: HEALTH_WARN");
    h.checks.set({ ok: true, failing: [] });
    await h.manager.settled();
    expect(heldNodes(h)).toEqual(["n1"]);
    expect(h.grants[0]!.trigger).toBe("checks");
  });

  it("asks the metric gates again at each grant: a gate failing now holds the grant although the periodic state passed", async () => {
    h = await harness(settingsFor(AGENTS));
    h.checks.gates = [{ name: "error-rate", message: "1 of 1 sample(s) not < 0.05: 0.2" }];
    await acquire(h, "n1");
    expect(h.checks.gateAsks).toBe(1);
    expect(heldNodes(h)).toEqual([]);
    expect(h.manager.blockedReason()).toBe("check error-rate failing: 1 of 1 sample(s) not < 0.05: 0.2");
    h.checks.gates = [];
    h.checks.set({ ok: true, failing: [] }); // the full evaluation the failing gate started comes back passing
    await h.manager.settled();
    expect(heldNodes(h)).toEqual(["n1"]);
    expect(h.checks.gateAsks).toBe(2);
  });

  it("waits out the settle time on a single timer", async () => {
    h = await harness(settingsFor(AGENTS, { settleSeconds: 30 }));
    await acquire(h, "n1");
    await acquire(h, "n2");
    await cycle("n1");
    expect(heldNodes(h)).toEqual([]);
    expect(h.manager.blockedReason()).toBe("settling: 30s left");
    await h.advance(29_000);
    expect(heldNodes(h)).toEqual([]);
    await h.advance(1_000);
    expect(heldNodes(h)).toEqual(["n2"]);
    expect(h.grants.at(-1)!.trigger).toBe("timer");
  });

  it("grants when the maintenance window opens", async () => {
    // Saturday noon; the window opens at 22:30.
    h = await harness(settingsFor(AGENTS, { windows: [{ days: ["sat"], startMinute: 22 * 60 + 30, endMinute: 60 }] }));
    await acquire(h, "n1");
    expect(h.manager.blockedReason()).toBe("outside maintenance window (sat 22:30-01:00 UTC); continues at 2024-06-01 22:30 UTC");
    await h.advance(10.5 * 3_600_000 - 1);
    expect(heldNodes(h)).toEqual([]);
    await h.advance(1);
    expect(heldNodes(h)).toEqual(["n1"]);
  });

  it("grants when a cron window opens, after saying when", async () => {
    // Saturday noon; "30 22 * * sat" for 2h opens at 22:30 and the 15-minute disruption fits at once.
    const parsed = parseCron("30 22 * * sat");
    if (!parsed.ok) throw new Error(parsed.message);
    h = await harness(settingsFor(AGENTS, { windows: [{ cron: parsed.schedule, durationMinutes: 120 }] }));
    await acquire(h, "n1");
    expect(h.manager.blockedReason()).toBe("outside maintenance window (cron 30 22 * * sat for 2h UTC); continues at 2024-06-01 22:30 UTC");
    await h.advance(10.5 * 3_600_000 - 1);
    expect(heldNodes(h)).toEqual([]);
    await h.advance(1);
    expect(heldNodes(h)).toEqual(["n1"]);
  });

  it("pauses and resumes", async () => {
    h = await harness(settingsFor(AGENTS));
    await h.manager.pause("maintenance");
    await acquire(h, "n1");
    expect(h.manager.blockedReason()).toBe("paused by operator: maintenance");
    await h.manager.resume();
    expect(heldNodes(h)).toEqual(["n1"]);
    expect(h.grants[0]!.trigger).toBe("resume");
  });

  it("leaves out a queued request for a bundle a newer push replaced, and grants it again once that bundle is desired again", async () => {
    h = await harness(settingsFor(AGENTS));
    for (const n of ["n1", "n2"]) await h.store.enrollNode(n);
    await h.manager.pause("hold the queue");
    // Both asked for bundle aaaa; then a push gave n1 bundle bbbb before its agent withdrew.
    await acquire(h, "n1");
    await acquire(h, "n2");
    await h.store.setDesired([{ node: "n1", revision: "rev2", sha256: "b".repeat(64) }, { node: "n2", revision: "rev1", sha256: "a".repeat(64) }]);
    await h.manager.resume();
    expect(heldNodes(h)).toEqual(["n2"]);
    expect(h.manager.queue()[0]).toMatchObject({ node: "n1", waitingReason: expect.stringContaining("the node is now meant to run bbbbbbbbbbbb") });
    // A revert makes aaaa desired again: the same request is good again.
    await h.store.setDesired([{ node: "n1", revision: "rev3", sha256: "a".repeat(64) }]);
    await cycle("n2");
    expect(heldNodes(h)).toEqual(["n1"]);
    expect(h.grants.map((g) => g.lease.node)).toEqual(["n2", "n1"]);
  });

  it("drops a superseded request once its node reports working on the newer bundle, so nothing shows as waiting", async () => {
    h = await harness(settingsFor(AGENTS));
    await h.store.enrollNode("n1");
    await h.manager.pause("hold the queue");
    await acquire(h, "n1");
    // A push gave n1 bundle bbbb; the withdrawal of its request for aaaa was lost, and n1 went on to apply bbbb.
    await h.store.setDesired([{ node: "n1", revision: "rev2", sha256: "b".repeat(64) }]);
    await h.advance(1_000);
    const at = h.time.now();
    await h.store.recordReport("n1", {
      revision: "rev2", sha256: "b".repeat(64), phase: "confirmed", health: { healthy: true, checks: [], observedAtMs: at },
      error: "", agentVersion: "0.1.0", bootId: "boot-1", bootedSystem: "/nix/store/x-sys", currentSystem: "/nix/store/x-sys", atMs: at,
    });
    await h.manager.resume();
    await h.manager.settled();
    expect(heldNodes(h)).toEqual([]);
    expect(h.manager.queue()).toEqual([]);
    expect(lastUpdate(h, "n1")).toMatchObject({ state: "revoked", waitingReason: expect.stringContaining("superseded") });
    expect((await h.store.readEvents()).filter((e) => e.kind === "lease-request-dropped").map((e) => e.node)).toEqual(["n1"]);
  });

  it("refuses unknown nodes and requests before an inventory is adopted", async () => {
    h = await harness(null);
    await expect(acquire(h, "n1")).rejects.toSatisfy((e) => isNkError(e, "UNAVAILABLE"));
    h.settings.set(settingsFor(AGENTS));
    await expect(acquire(h, "zz")).rejects.toSatisfy((e) => isNkError(e, "NODE_UNKNOWN"));
  });

  it("drops a queued request whose node left the inventory", async () => {
    h = await harness(settingsFor(AGENTS));
    await acquire(h, "n1");
    await acquire(h, "n2");
    h.settings.set(settingsFor({ n1: "agent", n3: "agent" }));
    await h.manager.settled();
    expect(h.manager.queue()).toEqual([]);
    expect(lastUpdate(h, "n2")).toMatchObject({ state: "revoked", waitingReason: "n2 is not in the adopted inventory" });
  });
});

describe("LeaseManager fencing", () => {
  it("re-attaches a restarted agent to its lease with its token only; token 0 matches nothing; stale tokens are fenced", async () => {
    h = await harness(settingsFor(AGENTS));
    await acquire(h, "n1");
    const token = tokenOf(h, "n1");
    await acquire(h, "n1", token);
    // An agent without its token (or one too old to know ReattachLease) is refused, clearly, not handed the lease.
    await expect(acquire(h, "n1", 0)).rejects.toSatisfy((e) => isNkError(e, "LEASE_HELD") && /n1 holds lease #\d+ \(granted\).*ReattachLease/.test(e.message));
    await expect(h.manager.withdraw("n1", "superseded")).rejects.toSatisfy((e) => isNkError(e, "LEASE_HELD"));
    // The explicit way back names the lease; it changes nothing on it.
    expect(await h.manager.reattach("n1")).toMatchObject({ node: "n1", state: "granted", fencingToken: token });
    expect(await h.manager.reattach("n2")).toBeNull();
    expect(h.grants).toHaveLength(1);
    expect(lastUpdate(h, "n1")).toMatchObject({ state: "granted", fencingToken: token });
    const fencedCode = (e: unknown): boolean => isNkError(e, "LEASE_FENCED");
    await expect(acquire(h, "n1", token + 7)).rejects.toSatisfy(fencedCode);
    await expect(h.manager.renew("n1", token + 1, "draining", "b")).rejects.toSatisfy(fencedCode);
    await expect(h.manager.release("n1", token - 1, true, "x")).rejects.toSatisfy(fencedCode);
    await expect(acquire(h, "n2", 99)).rejects.toSatisfy(fencedCode);
    expect(heldNodes(h)).toEqual(["n1"]);
  });

  it("an agent's withdrawal (token 0) drops its queued request only", async () => {
    h = await harness(settingsFor(AGENTS));
    await acquire(h, "n1");
    await acquire(h, "n2");
    expect(h.manager.queue().map((l) => l.node)).toEqual(["n2"]);
    expect(await h.manager.withdraw("n2", "superseded")).toBe(true);
    expect(h.manager.queue()).toEqual([]);
    expect(lastUpdate(h, "n2")).toMatchObject({ state: "revoked", waitingReason: "withdrawn by n2: superseded" });
    expect(await h.manager.withdraw("n2", "again")).toBe(false);
    expect(heldNodes(h)).toEqual(["n1"]);
  });

  it("raises a kept service-restart slot to a reboot that drains again, keeping the token", async () => {
    h = await harness(settingsFor(AGENTS));
    await acquire(h, "n1", 0, "rev1", "service-restart");
    const token = tokenOf(h, "n1");
    // Switched and restarting k3s: no drain for a service restart. Then stuck (the agent keeps the lease).
    await h.manager.renew("n1", token, "verifying", "boot-a");
    expect(h.hooks.calls).toEqual([]);
    // The fixing bundle needs a reboot: the same slot, presented again, must start over at the drain.
    await acquire(h, "n1", token, "rev2", "reboot");
    expect(h.grants).toHaveLength(1);
    expect(lastUpdate(h, "n1")).toMatchObject({ kind: "reboot", state: "granted", fencingToken: token });
    await h.manager.renew("n1", token, "draining", "boot-a");
    await h.manager.settled();
    expect(h.hooks.calls).toEqual([{ hook: "before", node: "n1", fencingToken: token }]);
    expect(lastUpdate(h, "n1")).toMatchObject({ kind: "reboot", state: "drained" });
    // And a reboot slot is never lowered back to a service restart.
    await acquire(h, "n1", token, "rev3", "service-restart");
    expect(lastUpdate(h, "n1")).toMatchObject({ kind: "reboot", state: "drained" });
    expect(heldNodes(h)).toEqual(["n1"]);
  });

  it("fences the old token after an operator release, and the next grant has a higher token", async () => {
    h = await harness(settingsFor(AGENTS));
    await acquire(h, "n1");
    const old = tokenOf(h, "n1");
    const r = await h.manager.adminRelease("n1", false, "not needed");
    expect(r.released).toBe(true);
    expect(lastUpdate(h, "n1")).toMatchObject({ state: "revoked", waitingReason: "released by an operator: not needed" });
    await expect(h.manager.renew("n1", old, "draining", "b")).rejects.toSatisfy((e) => isNkError(e, "LEASE_FENCED"));
    await acquire(h, "n1");
    expect(tokenOf(h, "n1")).toBeGreaterThan(old);
  });
});

describe("LeaseManager and failures without a lease", () => {
  it("a node that fails the current revision without a lease halts the others' disruptive steps of it", async () => {
    h = await harness(settingsFor(AGENTS));
    await h.store.setRolloutRevision("rev1");
    // A failure of an older revision, or the holder's own (its release reports it), halts nothing.
    await h.manager.noteFailure("n3", "rev0", "build failed");
    expect((await h.store.getRollout()).halted).toBeUndefined();
    await acquire(h, "n1");
    await h.manager.noteFailure("n1", "rev1", "activation failed");
    expect((await h.store.getRollout()).halted).toBeUndefined();

    await h.manager.noteFailure("n3", "rev1", "build failed: attribute missing");
    expect((await h.store.getRollout()).halted).toMatchObject({ reason: "node n3 failed: build failed: attribute missing", revision: "rev1" });
    await acquire(h, "n2");
    await cycle("n1");
    // n1's slot went back, and n2 still waits: the halt holds until a new push or an operator resume.
    expect(heldNodes(h)).toEqual([]);
    expect(h.manager.blockedReason()).toBe("rollout halted: node n3 failed: build failed: attribute missing");
    // A second failure keeps the first reason.
    await h.manager.noteFailure("n2", "rev1", "rolled back");
    expect((await h.store.getRollout()).halted?.reason).toBe("node n3 failed: build failed: attribute missing");
    await h.manager.resume();
    expect(heldNodes(h)).toEqual(["n2"]);
  });
});
