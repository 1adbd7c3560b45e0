// The grant rule's policy limits, alone and together: pools (count and percent), one per label value, k3s skew, and all conditions at once.
import { describe, expect, it } from "vitest";
import { parseCron, type Labels, type Role } from "../../../shared/src/inventory/index.js";
import { decideGrants, type GrantInput, type NodeFacts, type RoleOf } from "./grant-decision.js";
import { compareK3s, parseK3sVersion } from "./skew-rule.js";

const NOW = Date.UTC(2024, 5, 1, 12, 0);
const ok = { agentFresh: true, healthy: true, k8sReady: true };

/** node → [role, labels, k3s running, k3s next]. */
type Spec = Record<string, [Role, Labels, string?, string?]>;

const ZONES: Spec = {
  s1: ["server", { zone: "a" }],
  s2: ["server", { zone: "b" }],
  s3: ["server", { zone: "c" }],
  g1: ["agent", { zone: "a", gpu: "true" }],
  g2: ["agent", { zone: "b", gpu: "true" }],
  g3: ["agent", { zone: "c", gpu: "true" }],
  g4: ["agent", { zone: "a", gpu: "true" }],
  w1: ["agent", { zone: "a" }],
  w2: ["agent", { zone: "b" }],
  w3: ["agent", {}],
};

function facts(spec: Spec): Map<string, NodeFacts> {
  return new Map(Object.entries(spec).map(([n, [role, labels, running, next]]) => [n, { role, labels, ...(running || next ? { k3s: { ...(running ? { running } : {}), ...(next ? { next } : {}) } } : {}) }]));
}

function input(spec: Spec, queue: string[], holders: string[], limits: Partial<GrantInput["limits"]>): GrantInput {
  const role = (n: string): RoleOf => ({ node: n, role: spec[n]![0] });
  return {
    now: NOW,
    queue: queue.map(role),
    holders: holders.map(role),
    limits: { maxUnavailable: 10, maxUnavailableServers: 1, settleSeconds: 0, ...limits },
    rollout: {},
    health: new Map(Object.keys(spec).map((n) => [n, ok])),
    clusterChecks: { ok: true, failing: [] },
    nodes: facts(spec),
  };
}

const granted = (i: GrantInput): string[] => decideGrants(i).grants.map((g) => g.node);
const gpuPool = (maxUnavailable: { count: number } | { percent: number }) => ({ name: "gpu", selector: { gpu: "true" }, maxUnavailable });

describe("pools", () => {
  it("holds a pool to its count while nodes outside it go on", () => {
    const d = decideGrants(input(ZONES, ["g1", "g2", "w1"], [], { pools: [gpuPool({ count: 1 })] }));
    expect(d.grants.map((g) => g.node)).toEqual(["g1"]);
    // Strict FIFO: w1 is behind g2, which waits for the pool.
    expect(d.blocked).toEqual([
      { node: "g2", reason: "waiting: 1/1 node disrupted (g1) in pool gpu" },
      { node: "w1", reason: "behind g2 in the queue (waiting: 1/1 node disrupted (g1) in pool gpu)" },
    ]);
  });

  it("counts holders already in the pool", () => {
    expect(granted(input(ZONES, ["g2"], ["g1"], { pools: [gpuPool({ count: 1 })] }))).toEqual([]);
    expect(granted(input(ZONES, ["g2", "g3"], ["g1"], { pools: [gpuPool({ count: 2 })] }))).toEqual(["g2"]);
    expect(granted(input(ZONES, ["w1"], ["g1"], { pools: [gpuPool({ count: 1 })] }))).toEqual(["w1"]);
  });

  it("turns a percentage into nodes of the pool, rounding down but never below one", () => {
    // 4 gpu nodes: 50% = 2, 25% = 1, 10% = 0.4 → 1.
    expect(granted(input(ZONES, ["g1", "g2", "g3"], [], { pools: [gpuPool({ percent: 50 })] }))).toEqual(["g1", "g2"]);
    expect(granted(input(ZONES, ["g1", "g2"], [], { pools: [gpuPool({ percent: 25 })] }))).toEqual(["g1"]);
    const d = decideGrants(input(ZONES, ["g1", "g2"], [], { pools: [gpuPool({ percent: 10 })] }));
    expect(d.grants.map((g) => g.node)).toEqual(["g1"]);
    expect(d.headReason).toBe("waiting: 1/1 node disrupted (g1) in pool gpu (10% of 4)");
  });

  it("applies every pool a node is in", () => {
    const zoneA = { name: "zone-a", selector: { zone: "a" }, maxUnavailable: { count: 1 } };
    // w1 is not a gpu node but is in zone a with g1.
    expect(decideGrants(input(ZONES, ["g1", "w1"], [], { pools: [gpuPool({ count: 2 }), zoneA] })).headReason).toBe("waiting: 1/1 node disrupted (g1) in pool zone-a");
  });
});

describe("max_unavailable_per", () => {
  it("allows one node per label value and leaves unlabelled nodes to the other limits", () => {
    const d = decideGrants(input(ZONES, ["w1", "w2", "g2", "w3"], ["s1"], { maxUnavailablePer: { label: "zone", max: 1 } }));
    expect(d.grants.map((g) => g.node)).toEqual([]);
    expect(d.headReason).toBe("waiting: 1/1 node disrupted (s1) with zone=a");
    const e = decideGrants(input(ZONES, ["w2", "g3", "w3", "g4"], ["s1"], { maxUnavailablePer: { label: "zone", max: 1 } }));
    expect(e.grants.map((g) => g.node)).toEqual(["w2", "g3", "w3"]);
    expect(e.blocked).toEqual([{ node: "g4", reason: "waiting: 1/1 node disrupted (s1) with zone=a" }]);
  });

  it("allows max nodes per value", () => {
    expect(granted(input(ZONES, ["g1", "g4", "w1"], [], { maxUnavailablePer: { label: "zone", max: 2 } }))).toEqual(["g1", "g4"]);
  });
});

describe("version skew", () => {
  const bump: Spec = {
    s1: ["server", {}, "v1.29.8+k3s1", "v1.30.4+k3s1"],
    s2: ["server", {}, "v1.29.8+k3s1", "v1.30.4+k3s1"],
    a1: ["agent", {}, "v1.29.8+k3s1", "v1.30.4+k3s1"],
    a2: ["agent", {}, "v1.29.8+k3s1", "v1.29.8+k3s1"],
  };

  it("parses and orders k3s versions", () => {
    expect(parseK3sVersion("v1.30.4+k3s1")).toEqual([1, 30, 4, 1]);
    expect(parseK3sVersion("1.31.0")).toEqual([1, 31, 0, 0]);
    expect(parseK3sVersion("latest")).toBeNull();
    expect(compareK3s("v1.30.4+k3s2", "v1.30.4+k3s1")).toBeGreaterThan(0);
    expect(compareK3s("v1.29.10+k3s1", "v1.30.0+k3s1")).toBeLessThan(0);
  });

  it("lets an agent queued first wait for the servers, and the servers pass it", () => {
    const d = decideGrants(input(bump, ["a1", "s1", "a2"], [], { maxUnavailable: 1 }));
    expect(d.grants.map((g) => g.node)).toEqual(["s1"]);
    expect(d.blocked[0]).toEqual({ node: "a1", reason: "waiting for the servers to upgrade first: its new k3s v1.30.4+k3s1 would be newer than v1.29.8+k3s1 on server s1 (a kubelet must not be newer than its API servers)" });
    expect(d.headReason).toBe(d.blocked[0]!.reason);
    expect(d.blocked[1]).toEqual({ node: "a2", reason: "waiting: 1/1 node disrupted (s1)" });
  });

  it("lets the agent go once every server runs the new version, and never blocks servers or unchanged agents", () => {
    const half = { ...bump, s1: ["server", {}, "v1.30.4+k3s1"] } as Spec;
    expect(decideGrants(input(half, ["a1"], [], {})).headReason).toContain("on server s2");
    const done = { ...half, s2: ["server", {}, "v1.30.4+k3s1"] } as Spec;
    expect(granted(input(done, ["a1"], [], {}))).toEqual(["a1"]);
    expect(granted(input(bump, ["a2", "s2"], [], {}))).toEqual(["a2", "s2"]);
  });

  it("does not block when versions are unknown", () => {
    const unknown: Spec = { s1: ["server", {}], a1: ["agent", {}, undefined, "v1.31.0+k3s1"] };
    expect(granted(input(unknown, ["a1"], [], {}))).toEqual(["a1"]);
  });
});

describe("all limits together", () => {
  it("grants only what every limit allows, in FIFO order", () => {
    const spec: Spec = { ...ZONES, g1: ["agent", { zone: "a", gpu: "true" }, "v1.29.8+k3s1", "v1.30.4+k3s1"], s1: ["server", { zone: "a" }, "v1.29.8+k3s1"] };
    const limits = { maxUnavailable: 3, maxUnavailableServers: 1, pools: [gpuPool({ count: 1 })], maxUnavailablePer: { label: "zone", max: 1 } };
    const d = decideGrants(input(spec, ["g1", "s2", "g2", "s3", "w3", "w1"], [], limits));
    // g1 waits for the servers (skew) and steps aside; s2 takes zone b, g2 is in zone b too and stops the queue.
    expect(d.grants.map((g) => g.node)).toEqual(["s2"]);
    expect(d.blocked.map((b) => [b.node, b.reason.slice(0, 40)])).toEqual([
      ["g1", "waiting for the servers to upgrade first"],
      ["g2", "waiting: 1/1 node disrupted (s2) with zo"],
      ["s3", "behind g2 in the queue (waiting: 1/1 nod"],
      ["w3", "behind g2 in the queue (waiting: 1/1 nod"],
      ["w1", "behind g2 in the queue (waiting: 1/1 nod"],
    ]);
    // Once s2 is back: g2 takes zone b and the gpu pool, s3 zone c and the server slot, w3 (no zone) the last node slot.
    expect(granted(input(spec, ["g2", "s3", "w3", "w1"], [], limits))).toEqual(["g2", "s3", "w3"]);
  });
});

describe("every policy condition at once", () => {
  const window = parseCron("0 12 * * sat");
  if (!window.ok) throw new Error(window.message);
  // Saturday 12:00-14:00 UTC (NOW is Saturday noon); a 15-minute disruption fits.
  const limits = { maxUnavailable: 4, pools: [gpuPool({ count: 1 })], windows: [{ cron: window.schedule, durationMinutes: 120 }], expectedDisruptionSeconds: 900 };
  const spec: Spec = { ...ZONES, s1: ["server", { zone: "a" }, "v1.29.8+k3s1"], g1: ["agent", { zone: "a", gpu: "true" }, "v1.29.8+k3s1", "v1.30.4+k3s1"] };
  const backup = { rule: { selector: "app=backup", scope: "node" as const }, pods: [{ key: "ops/backup-1", node: "g2" }] };

  it("canaries first, a canary with a blocking pod waits, the window and the limits hold for the rest", () => {
    const canary = { stage: "canary" as const, canaries: ["w1", "g2"], openSlots: 0 };
    const d = decideGrants({ ...input(spec, ["g1", "w2", "g2", "w1", "s2"], [], limits), canary, blockingPods: backup });
    expect(d.grants.map((g) => g.node)).toEqual(["w1"]);
    expect(d.blocked).toEqual([
      { node: "g1", reason: "waiting for the canaries (w1, g2) to be back and healthy" },
      { node: "w2", reason: "waiting for the canaries (w1, g2) to be back and healthy" },
      { node: "g2", reason: expect.stringContaining("ops/backup-1") },
      { node: "s2", reason: "waiting for the canaries (w1, g2) to be back and healthy" },
    ]);
  });

  it("after the canaries: the agent queued first still waits for the servers (skew), the others go in FIFO order", () => {
    const done = { stage: "done" as const, canaries: ["w1", "g2"], openSlots: 0 };
    const d = decideGrants({ ...input(spec, ["g1", "w2", "g2", "g3", "s2"], [], limits), canary: done, blockingPods: { ...backup, pods: [] } });
    // g3 finds the gpu pool (count 1) full with g2 and, by FIFO, holds s2 behind it; g1 stepped aside.
    expect(d.grants.map((g) => g.node)).toEqual(["w2", "g2"]);
    expect(d.blocked.map((b) => [b.node, b.reason.slice(0, 40)])).toEqual([
      ["g1", "waiting for the servers to upgrade first"],
      ["g3", "waiting: 1/1 node disrupted (g2) in pool"],
      ["s2", "behind g3 in the queue (waiting: 1/1 nod"],
    ]);
  });

  it("grants nothing once the window is too short for the disruption, whatever else allows", () => {
    const late = { ...input(spec, ["w2", "s2"], [], limits), now: NOW + 110 * 60_000 };
    const d = decideGrants(late);
    expect(d.grants).toEqual([]);
    expect(d.headReason).toBe("maintenance window (cron 0 12 * * sat for 2h UTC) closes at 2024-06-01 14:00 UTC, too soon for a 15m disruption; continues at 2024-06-08 12:00 UTC");
  });
});
