// Integration: five simulated nodes reboot through the real coordinator, KubeClient and agents; a checker that only
// sees the fake kube-apiserver's cordon/uncordon calls holds the rollout to max_unavailable at every instant.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Event } from "../../shared/src/proto/gen/nk/v1/common.js";
import type { DisruptionWindow } from "../support/disruption-windows.js";
import { startProcessCluster, type ProcessSimCluster } from "../support/sim-cluster-process.js";

const NODES = ["n1", "n2", "n3", "n4", "n5"];

/** Fencing tokens of the grants after `afterMs`, in event order. */
function grants(events: readonly Event[], afterMs: number): Array<{ node: string; token: number }> {
  return events.filter((e) => e.kind === "lease-granted" && e.timeMs >= afterMs).map((e) => ({ node: e.node, token: Number(e.fields["fencingToken"]) }));
}

/** Each node exactly once, every window closed (uncordoned). */
function expectOneClosedWindowEach(windows: readonly DisruptionWindow[]): void {
  expect(windows.map((w) => w.node).sort()).toEqual(NODES);
  for (const w of windows) expect(w.toMs, `${w.node} uncordoned`).toBeLessThan(Infinity);
}

describe("disruption limit seen from the kube-apiserver", () => {
  let c: ProcessSimCluster;

  beforeAll(async () => {
    c = await startProcessCluster({ nodes: NODES });
  }, 180_000);

  afterAll(async () => {
    await c?.close();
  });

  it("max_unavailable 1: never two nodes between cordon and uncordon", async () => {
    await c.converged(90_000);
    const windows = c.disruptions();
    expectOneClosedWindowEach(windows);
    expect(c.peaks(windows)).toEqual({ total: 1, servers: 1 });
    // One grant per node, tokens only growing.
    const granted = grants(await c.events(), 0);
    expect(granted.map((g) => g.node).sort()).toEqual(NODES);
    expect(granted.map((g) => g.token)).toEqual([...granted.map((g) => g.token)].sort((a, b) => a - b));
    expect(new Set(granted.map((g) => g.token)).size).toBe(NODES.length);
  }, 100_000);

  it("max_unavailable 2 with max_unavailable_servers 1: two at once at most, never two servers", async () => {
    const since = Date.now();
    await c.editAndPush("two nodes at a time, one server, new nixpkgs", (doc) => {
      doc.setIn(["cluster", "rollout", "max_unavailable"], 2);
      doc.setIn(["cluster", "rollout", "max_unavailable_servers"], 1);
      doc.setIn(["cluster", "nixpkgs", "channel"], "nixos-25.05");
    });
    await c.converged(90_000);
    const windows = c.disruptions().filter((w) => w.fromMs >= since);
    expectOneClosedWindowEach(windows);
    const peaks = c.peaks(windows);
    expect(peaks.servers).toBe(1);
    // Strict FIFO still pairs an agent with a neighbour in the queue, so the second slot is used.
    expect(peaks.total).toBe(2);
    const granted = grants(await c.events(), since);
    expect(granted.map((g) => g.node).sort()).toEqual(NODES);
  }, 100_000);
});
