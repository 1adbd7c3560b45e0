// FleetLock slots and nk leases under one set of limits: group limit, cluster limit both ways, health gates, recursion.
import { describe, expect, it } from "vitest";
import type { FleetLockSlot } from "../store/index.js";
import { decideGrants, type GrantInput, type NodeHealth, type RoleOf } from "./grant-decision.js";
import { decidePreReboot, fleetLockHolder, type PreRebootInput } from "./fleetlock-rule.js";

const NOW = Date.UTC(2024, 5, 1, 12, 0); // Saturday noon
const ok: NodeHealth = { agentFresh: true, healthy: true, k8sReady: true };
const slot = (group: string, id: string): FleetLockSlot => ({ group, id, acquiredAtMs: NOW - 1000, by: "zincati" });
const agent = (node: string): RoleOf => ({ node, role: "agent" });

function input(over: Partial<PreRebootInput> = {}): PreRebootInput {
  return {
    now: NOW,
    request: { group: "workers", id: "host-a" },
    groups: [{ name: "workers", maxUnavailable: 2 }, { name: "default", maxUnavailable: 1 }],
    slots: [],
    holders: [],
    limits: { maxUnavailable: 2, maxUnavailableServers: 1, settleSeconds: 0 },
    rollout: {},
    health: new Map(["s1", "a1", "a2"].map((n) => [n, ok])),
    clusterChecks: { ok: true, failing: [] },
    ...over,
  };
}

describe("decidePreReboot", () => {
  it("grants a free slot, and answers a held slot again whatever else changed (recursive lock)", () => {
    expect(decidePreReboot(input())).toEqual({ ok: true, held: false });
    const held = input({ slots: [slot("workers", "host-a")], rollout: { paused: { reason: "freeze" } }, holders: [agent("a1"), agent("a2")] });
    expect(decidePreReboot(held)).toEqual({ ok: true, held: true });
  });

  it("refuses a group that is not configured, naming the configured ones", () => {
    expect(decidePreReboot(input({ request: { group: "db", id: "x" } }))).toEqual({
      ok: false,
      kind: "unknown_group",
      reason: 'FleetLock group "db" is not in rollout.fleetlock.groups of the inventory (configured: workers, default)',
    });
  });

  it("holds a group to its own limit, even below the cluster's", () => {
    const d = decidePreReboot(input({ request: { group: "default", id: "host-b" }, slots: [slot("default", "host-a")], limits: { maxUnavailable: 5, maxUnavailableServers: 1, settleSeconds: 0 } }));
    expect(d).toEqual({ ok: false, kind: "failed_lock", reason: "waiting: 1/1 host disrupted (fleetlock/default/host-a) in FleetLock group default" });
  });

  it("counts nk holders and every group's slots against max_unavailable", () => {
    const full = decidePreReboot(input({ holders: [agent("a1")], slots: [slot("default", "host-z")] }));
    expect(full).toEqual({ ok: false, kind: "failed_lock", reason: "waiting: 2/2 nodes disrupted (a1, fleetlock/default/host-z)" });
    expect(decidePreReboot(input({ holders: [agent("a1")] }))).toEqual({ ok: true, held: false });
  });

  it("keeps nk's gates: pause, halt, window, an unhealthy node, failing checks, settle time", () => {
    const refused = (over: Partial<PreRebootInput>) => {
      const d = decidePreReboot(input(over));
      return d.ok ? "granted" : `${d.kind}: ${d.reason}`;
    };
    expect(refused({ rollout: { paused: { reason: "freeze" } } })).toBe("failed_lock: paused by operator: freeze");
    expect(refused({ rollout: { halted: { reason: "n2 rolled back" } } })).toBe("failed_lock: rollout halted: n2 rolled back");
    expect(refused({ limits: { maxUnavailable: 2, maxUnavailableServers: 1, settleSeconds: 0, windows: [{ days: ["mon"], startMinute: 60, endMinute: 120 }] } })).toMatch(/^failed_lock: outside/);
    expect(refused({ health: new Map([["a1", { ...ok, healthy: false, reason: "k3s inactive" }]]) })).toBe("failed_lock: node a1 unhealthy: k3s inactive");
    expect(refused({ clusterChecks: { ok: false, failing: [{ name: "ceph", message: "HEALTH_WARN" }] } })).toBe("failed_lock: check ceph failing: HEALTH_WARN");
    expect(refused({ rollout: { lastReleaseAtMs: NOW - 10_000 }, limits: { maxUnavailable: 2, maxUnavailableServers: 1, settleSeconds: 60 } })).toBe("failed_lock: settling: 50s left");
  });

  it("never counts a slot as a server, so the server limit stays nk's", () => {
    expect(fleetLockHolder({ group: "workers", id: "h" })).toEqual({ node: "fleetlock/workers/h", role: "none" });
    const d = decidePreReboot(input({ holders: [{ node: "s1", role: "server" }] }));
    expect(d).toEqual({ ok: true, held: false });
  });
});

describe("an nk lease under FleetLock slots", () => {
  const grantInput = (over: Partial<GrantInput>): GrantInput => ({
    now: NOW,
    queue: [agent("a1")],
    holders: [],
    limits: { maxUnavailable: 2, maxUnavailableServers: 1, settleSeconds: 0 },
    rollout: {},
    health: new Map(["s1", "a1", "a2"].map((n) => [n, ok])),
    clusterChecks: { ok: true, failing: [] },
    ...over,
  });

  it("waits while slots and leases fill max_unavailable, and is granted once a slot is given back", () => {
    const slots = [slot("workers", "host-a"), slot("default", "host-b")].map(fleetLockHolder);
    const blocked = decideGrants(grantInput({ holders: slots }));
    expect(blocked.grants).toEqual([]);
    expect(blocked.headReason).toBe("waiting: 2/2 nodes disrupted (fleetlock/workers/host-a, fleetlock/default/host-b)");
    expect(decideGrants(grantInput({ holders: [agent("a2"), slots[0]!] })).headReason).toBe("waiting: 2/2 nodes disrupted (a2, fleetlock/workers/host-a)");
    expect(decideGrants(grantInput({ holders: [slots[0]!] })).grants).toEqual([agent("a1")]);
  });
});
