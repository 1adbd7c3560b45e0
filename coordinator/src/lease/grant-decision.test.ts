// The grant rule: every blocking condition with its words, both limits, strict FIFO, window and settle timing.
import { describe, expect, it } from "vitest";
import type { MaintenanceWindow } from "../../../shared/src/inventory/index.js";
import { decideGrants, isHealthy, type GrantInput, type NodeHealth, type RoleOf } from "./grant-decision.js";

const NOW = Date.UTC(2024, 5, 1, 12, 0); // Saturday noon
const ok: NodeHealth = { agentFresh: true, healthy: true, k8sReady: true };
const s = (node: string): RoleOf => ({ node, role: "server" });
const a = (node: string): RoleOf => ({ node, role: "agent" });

function input(over: Partial<GrantInput> = {}, nodes = ["s1", "s2", "s3", "a1", "a2", "a3"]): GrantInput {
  return {
    now: NOW,
    queue: [],
    holders: [],
    limits: { maxUnavailable: 1, maxUnavailableServers: 1, settleSeconds: 0 },
    rollout: {},
    health: new Map(nodes.map((n) => [n, ok])),
    clusterChecks: { ok: true, failing: [] },
    ...over,
  };
}

const names = (xs: readonly RoleOf[]): string[] => xs.map((x) => x.node);

describe("decideGrants", () => {
  it("grants the head when nothing blocks, and nothing when nobody waits", () => {
    expect(decideGrants(input())).toEqual({ grants: [], blocked: [], headReason: "", wakeAtMs: null });
    const d = decideGrants(input({ queue: [a("a1"), a("a2")] }));
    expect(names(d.grants)).toEqual(["a1"]);
    expect(d.blocked).toEqual([{ node: "a2", reason: "waiting: 1/1 node disrupted (a1)" }]);
    expect(d.headReason).toBe("waiting: 1/1 node disrupted (a1)");
  });

  it("blocks everyone while paused, with the operator's reason", () => {
    const d = decideGrants(input({ queue: [a("a1"), a("a2")], rollout: { paused: { reason: "maintenance" } } }));
    expect(d.grants).toEqual([]);
    expect(d.headReason).toBe("paused by operator: maintenance");
    expect(d.blocked.map((b) => b.reason)).toEqual(["paused by operator: maintenance", "paused by operator: maintenance"]);
  });

  it("blocks while halted", () => {
    const d = decideGrants(input({ queue: [a("a1")], rollout: { halted: { reason: "node a3 failed: rollback" } } }));
    expect(d.grants).toEqual([]);
    expect(d.headReason).toBe("rollout halted: node a3 failed: rollback");
  });

  it("blocks while a revision is being adopted: its desired bundles may not all be written yet", () => {
    const d = decideGrants(input({ queue: [a("a1"), s("s1")], rollout: { adopting: { revision: "0123456789abcdef0123" } } }));
    expect(d.grants).toEqual([]);
    expect(d.headReason).toBe("revision 0123456789ab is being adopted: its desired bundles are not all written yet");
    expect(d.blocked.map((b) => b.node)).toEqual(["a1", "s1"]);
  });

  it("checks pause, halt, window, capacity, health, checks and settle in that order", () => {
    const all: Partial<GrantInput> = {
      queue: [a("a1")],
      holders: [a("a2")],
      rollout: { paused: { reason: "p" }, halted: { reason: "h" }, lastReleaseAtMs: NOW },
      limits: { maxUnavailable: 1, maxUnavailableServers: 1, windows: [{ days: ["mon"], startMinute: 0, endMinute: 60 }], settleSeconds: 60 },
      health: new Map([["s1", { ...ok, healthy: false, reason: "k3s inactive" }]]),
      clusterChecks: { ok: false, failing: [{ name: "ceph", message: "HEALTH_WARN" }] },
    };
    const seq: string[] = [];
    let cur = input(all);
    const peel: Array<(g: GrantInput) => GrantInput> = [
      (g) => ({ ...g, rollout: { ...g.rollout, paused: undefined } }),
      (g) => ({ ...g, rollout: { lastReleaseAtMs: NOW } }),
      (g) => ({ ...g, limits: { ...g.limits, windows: [] } }),
      (g) => ({ ...g, holders: [] }),
      (g) => ({ ...g, health: new Map() }),
      (g) => ({ ...g, clusterChecks: { ok: true, failing: [] } }),
      (g) => ({ ...g, rollout: {} }),
    ];
    for (const next of peel) {
      seq.push(decideGrants(cur).headReason);
      cur = next(cur);
    }
    expect(seq).toEqual([
      "paused by operator: p",
      "rollout halted: h",
      "outside maintenance window (mon 00:00-01:00 UTC); continues at 2024-06-03 00:00 UTC",
      "waiting: 1/1 node disrupted (a2)",
      "node s1 unhealthy: k3s inactive",
      "check ceph failing: HEALTH_WARN",
      "settling: 60s left",
    ]);
    expect(names(decideGrants(cur).grants)).toEqual(["a1"]);
  });

  describe("limits", () => {
    it("grants several at once while maxUnavailable allows", () => {
      const d = decideGrants(input({ queue: [a("a1"), a("a2"), a("a3")], limits: { ...input().limits, maxUnavailable: 2 } }));
      expect(names(d.grants)).toEqual(["a1", "a2"]);
      expect(d.blocked).toEqual([{ node: "a3", reason: "waiting: 2/2 nodes disrupted (a1, a2)" }]);
    });

    it("counts existing holders against maxUnavailable", () => {
      const d = decideGrants(input({ queue: [a("a1"), a("a2")], holders: [s("s1")], limits: { ...input().limits, maxUnavailable: 2 } }));
      expect(names(d.grants)).toEqual(["a1"]);
      expect(d.headReason).toBe("waiting: 2/2 nodes disrupted (s1, a1)");
    });

    it("limits servers separately, and a blocked server head keeps agents behind it waiting (strict FIFO)", () => {
      const limits = { ...input().limits, maxUnavailable: 3, maxUnavailableServers: 1 };
      const d = decideGrants(input({ queue: [s("s1"), s("s2"), a("a1")], limits }));
      expect(names(d.grants)).toEqual(["s1"]);
      expect(d.blocked).toEqual([
        { node: "s2", reason: "waiting: 1/1 server disrupted (s1)" },
        { node: "a1", reason: "behind s2 in the queue (waiting: 1/1 server disrupted (s1))" },
      ]);
    });

    it("grants a host without k3s (role none) beside a server holding the only server slot; it counts as a node, not a server", () => {
      const none = (node: string): RoleOf => ({ node, role: "none" });
      const limits = { ...input().limits, maxUnavailable: 2, maxUnavailableServers: 1 };
      const d = decideGrants(input({ queue: [none("nas"), s("s2")], holders: [s("s1")], limits }, ["s1", "s2", "s3", "nas"]));
      expect(names(d.grants)).toEqual(["nas"]);
      expect(d.blocked).toEqual([{ node: "s2", reason: "waiting: 2/2 nodes disrupted (s1, nas)" }]);
      // Without Kubernetes readiness (k8sReady null, as for every role-none host) it is healthy.
      expect(isHealthy({ agentFresh: true, healthy: true, k8sReady: null })).toBe(true);
    });

    it("lets agents through while a server holds the only server slot, if they come first", () => {
      const limits = { ...input().limits, maxUnavailable: 3, maxUnavailableServers: 1 };
      const d = decideGrants(input({ queue: [a("a1"), a("a2"), s("s2")], holders: [s("s1")], limits }));
      expect(names(d.grants)).toEqual(["a1", "a2"]);
      expect(d.blocked).toEqual([{ node: "s2", reason: "waiting: 3/3 nodes disrupted (s1, a1, a2)" }]);
    });

    it("grants two servers when maxUnavailableServers is 2", () => {
      const limits = { ...input().limits, maxUnavailable: 2, maxUnavailableServers: 2 };
      expect(names(decideGrants(input({ queue: [s("s1"), s("s2"), s("s3")], limits })).grants)).toEqual(["s1", "s2"]);
    });

    it("says how far over the limit the holders are after a limit was lowered", () => {
      const d = decideGrants(input({ queue: [a("a3")], holders: [a("a1"), a("a2")] }));
      expect(d.headReason).toBe("waiting: 2/1 nodes disrupted (a1, a2)");
    });
  });

  describe("health", () => {
    it("requires every other node to be healthy, naming the first and counting the rest", () => {
      const health = new Map([
        ["a1", ok],
        ["s3", { ...ok, healthy: false, reason: "k3s inactive" }],
        ["s2", { ...ok, agentFresh: false }],
        ["a2", { ...ok, k8sReady: false }],
      ]);
      const d = decideGrants(input({ queue: [a("a1")], health }));
      expect(d.grants).toEqual([]);
      expect(d.headReason).toBe("node a2 unhealthy: kubernetes node not Ready (and 2 more: s2, s3)");
    });

    it("words a missing report and a bare unhealthy flag", () => {
      const stale = decideGrants(input({ queue: [a("a1")], health: new Map([["s2", { ...ok, agentFresh: false }]]) }));
      expect(stale.headReason).toBe("node s2 unhealthy: no recent report from its agent");
      const sick = decideGrants(input({ queue: [a("a1")], health: new Map([["s2", { ...ok, healthy: false }]]) }));
      expect(sick.headReason).toBe("node s2 unhealthy: unhealthy");
    });

    it("ignores holders (they are being disrupted) but not queued nodes", () => {
      const limits = { ...input().limits, maxUnavailable: 2 };
      const holderDown = new Map([["a1", { ...ok, healthy: false }], ["a2", ok]]);
      expect(names(decideGrants(input({ queue: [a("a2")], holders: [a("a1")], health: holderDown, limits })).grants)).toEqual(["a2"]);
      const queuedDown = new Map([["a1", ok], ["a2", { ...ok, healthy: false, reason: "disk full" }]]);
      const d = decideGrants(input({ queue: [a("a1"), a("a2")], health: queuedDown, limits }));
      expect(d.grants).toEqual([]);
      expect(d.headReason).toBe("node a2 unhealthy: disk full");
    });

    it("treats unknown k8s readiness as no objection", () => {
      expect(isHealthy({ ...ok, k8sReady: null })).toBe(true);
      expect(isHealthy({ ...ok, k8sReady: false })).toBe(false);
      expect(names(decideGrants(input({ queue: [a("a1")], health: new Map([["a1", { ...ok, k8sReady: null }]]) })).grants)).toEqual(["a1"]);
    });
  });

  describe("cluster checks", () => {
    it("blocks on a failing check with its message and counts others", () => {
      const failing = [{ name: "ceph", message: "HEALTH_WARN" }, { name: "alerts", message: "" }];
      expect(decideGrants(input({ queue: [a("a1")], clusterChecks: { ok: false, failing } })).headReason).toBe("check ceph failing: HEALTH_WARN (and 1 more: alerts)");
    });

    it("blocks when not ok even without details (an errored check)", () => {
      expect(decideGrants(input({ queue: [a("a1")], clusterChecks: { ok: false, failing: [] } })).headReason).toBe("cluster checks failing");
    });
  });

  describe("time", () => {
    it("waits for the settle time since the last release and wakes when it ends", () => {
      const limits = { ...input().limits, settleSeconds: 30 };
      const d = decideGrants(input({ queue: [a("a1")], limits, rollout: { lastReleaseAtMs: NOW - 18_500 } }));
      expect(d.headReason).toBe("settling: 12s left");
      expect(d.wakeAtMs).toBe(NOW + 11_500);
      expect(names(decideGrants(input({ queue: [a("a1")], limits, rollout: { lastReleaseAtMs: NOW - 30_000 } })).grants)).toEqual(["a1"]);
    });

    const weekend: MaintenanceWindow = { days: ["sat", "sun"], startMinute: 22 * 60 + 30, endMinute: 4 * 60 };

    it("waits outside the window and wakes when it opens", () => {
      const d = decideGrants(input({ queue: [a("a1")], limits: { ...input().limits, windows: [weekend] } }));
      expect(d.headReason).toBe("outside maintenance window (sat,sun 22:30-04:00 UTC); continues at 2024-06-01 22:30 UTC");
      expect(d.wakeAtMs).toBe(Date.UTC(2024, 5, 1, 22, 30));
    });

    it("grants inside a window that wrapped past midnight and wakes when it closes", () => {
      const now = Date.UTC(2024, 5, 2, 1, 0); // Sunday 01:00, window opened Saturday
      const d = decideGrants(input({ now, queue: [a("a1")], limits: { ...input().limits, windows: [weekend] } }));
      expect(names(d.grants)).toEqual(["a1"]);
      expect(d.wakeAtMs).toBe(Date.UTC(2024, 5, 2, 4, 0));
    });

    it("does not grant in the early hours of a day whose window opened the evening before on an unlisted day", () => {
      const now = Date.UTC(2024, 5, 1, 1, 0); // Saturday 01:00: Friday is not listed
      expect(decideGrants(input({ now, queue: [a("a1")], limits: { ...input().limits, windows: [weekend] } })).grants).toEqual([]);
    });
  });
});
