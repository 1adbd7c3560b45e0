// Plan totals, leases, the rollout estimate from recent windows and limits, and the one-line summary.
import { describe, expect, it } from "vitest";
import { disruptionWindows, estimateRollout, viewPlan, type NodePlanRecord, type PlanRecord } from "./plan-summary.js";

function node(name: string, outcome: NodePlanRecord["outcome"], role = "agent"): NodePlanRecord {
  return { node: name, role, outcome, reason: "", units: [], changes: [], logTail: "", sha256: "a".repeat(64), updatedAtMs: 0 };
}

const LIMITS = { maxUnavailable: 1, maxUnavailableServers: 1, settleSeconds: 30, hasWindow: false };

describe("plan summary", () => {
  it("counts outcomes and leases, and says when it is complete", () => {
    const plan: PlanRecord = { name: "bump", revision: "0123456789abcdef", tree: "t", createdAtMs: 0, expiresAtMs: 1, nodes: [node("n1", "reboot", "server"), node("n2", "reboot"), node("n3", "switch"), node("n4", "build-failed"), node("n5", "no-op")] };
    const v = viewPlan(plan, LIMITS, [120_000, 60_000]);
    expect(v.totals).toEqual({ reboots: 2, restarts: 0, switches: 1, noOps: 1, failed: 1, pending: 0, cancelled: 0 });
    expect([v.rebootLeases, v.restartLeases, v.complete]).toEqual([2, 0, true]);
    // Two waves of one node at the mean window (90 s), one settle between.
    expect(v.estimate.ms).toBe(2 * 90_000 + 30_000);
    expect(v.estimate.basis).toBe("2 wave(s) of at most 1 node(s) (1 server(s)) × 1.5 min (mean of the last 2 disruption windows) + 30 s settle between waves");
    expect(v.summary).toBe("plan bump (0123456789ab): 2 reboots, 0 restarts, 1 switch, 1 failed, 1 unchanged; needs 2 reboot leases and 0 restart leases; rollout about 3.5 min");
  });

  it("is incomplete while nodes build, and assumes window lengths without history", () => {
    const plan: PlanRecord = { name: "p", revision: "r", tree: "t", createdAtMs: 0, expiresAtMs: 1, nodes: [node("n1", "building"), node("n2", "restart")] };
    const v = viewPlan(plan, { ...LIMITS, maxUnavailable: 2, hasWindow: true }, []);
    expect(v.complete).toBe(false);
    expect(v.summary).toContain("1 still building");
    expect(v.estimate).toEqual({ ms: 90_000, basis: "1 wave(s) of at most 2 node(s) (1 server(s)) × 1.5 min (assumed: no disruption window recorded yet) + 30 s settle between waves; grants wait for the maintenance window" });
  });

  it("server limits make more waves; no disruptive node needs no time", () => {
    const servers = [node("a", "reboot", "server"), node("b", "reboot", "server"), node("c", "reboot", "server")];
    expect(estimateRollout(servers, { ...LIMITS, maxUnavailable: 3 }, [60_000]).ms).toBe(3 * 60_000 + 2 * 30_000);
    expect(estimateRollout([node("a", "switch")], LIMITS, [])).toEqual({ ms: 0, basis: "no disruptive step: switches run on every node at once" });
  });

  it("pairs lease grants with releases per node from the journal", () => {
    const events = [
      { kind: "lease-granted", node: "n1", timeMs: 1_000 },
      { kind: "lease-granted", node: "n2", timeMs: 2_000 },
      { kind: "lease-released", node: "n1", timeMs: 61_000 },
      { kind: "lease-released-failed", node: "n2", timeMs: 32_000 },
      { kind: "lease-released", node: "n3", timeMs: 40_000 },
    ];
    expect(disruptionWindows(events)).toEqual([60_000, 30_000]);
  });
});
