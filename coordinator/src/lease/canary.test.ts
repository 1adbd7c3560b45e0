// Canary then approval on a real FileStore and a manual clock: canaries first, soak, pause for approval, go on.
import { afterEach, describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { canaryGate } from "./canary-gate.js";
import { acquire, harness, heldNodes, settingsFor, tokenOf, type Harness } from "./test-lease-kit.js";

const NODES = { n1: "agent", n2: "agent", n3: "agent", n4: "agent" } as const;
let h: Harness;

async function cycle(node: string): Promise<void> {
  const token = tokenOf(h, node);
  await h.manager.renew(node, token, "draining", "boot-a");
  await h.manager.settled();
  await h.manager.renew(node, token, "rebooting", "boot-a");
  await h.manager.renew(node, token, "verifying", "boot-b");
  expect(await h.manager.release(node, token, true, "confirmed")).toBe(true);
}

async function events(kind: string): Promise<string[]> {
  return (await h.store.readEvents({})).filter((e) => e.kind === kind).map((e) => e.message);
}

describe("canary gate (pure)", () => {
  const spec = { nodes: ["n3"], count: 0, then: "pause" as const, soakSeconds: 60 };
  it("walks canary → soaking → awaiting approval → done, and starts over for a new revision", () => {
    expect(canaryGate(spec, undefined, "r1", 0)).toEqual({ stage: "canary", canaries: ["n3"], openSlots: 0 });
    const confirmed = { revision: "r1", nodes: [], confirmed: ["n3"], confirmedAtMs: 1000 };
    expect(canaryGate(spec, confirmed, "r1", 2000)).toEqual({ stage: "soaking", canaries: ["n3"], openSlots: 0, soakEndsMs: 61_000 });
    expect(canaryGate(spec, confirmed, "r1", 61_000)?.stage).toBe("awaiting-approval");
    expect(canaryGate({ ...spec, then: "continue" }, confirmed, "r1", 61_000)?.stage).toBe("done");
    expect(canaryGate(spec, { ...confirmed, approvedAtMs: 70_000 }, "r1", 70_000)?.stage).toBe("done");
    expect(canaryGate(spec, confirmed, "r2", 70_000)?.stage).toBe("canary");
    expect(canaryGate(null, confirmed, "r1", 0)).toBeNull();
  });
});

describe("canary then approval", () => {
  afterEach(async () => {
    await h.cleanup();
  });

  it("sends listed canaries first, soaks, waits for nkctl rollout approve, then goes on", async () => {
    h = await harness(settingsFor(NODES, { maxUnavailable: 2, canary: { nodes: ["n3"], count: 0, then: "pause", soakSeconds: 60 } }));
    await h.store.setRolloutRevision("rev1");
    for (const n of ["n1", "n2", "n3"]) await acquire(h, n);
    // n1 and n2 asked first but step aside for the canary.
    expect(heldNodes(h)).toEqual(["n3"]);
    expect(h.manager.stage()).toBe("canary");
    expect(h.manager.queue().map((q) => q.waitingReason)).toEqual([
      "waiting for the canaries (n3) to be back and healthy",
      "waiting for the canaries (n3) to be back and healthy",
    ]);
    await cycle("n3");
    expect(await events("canary-confirmed")).toEqual(["every canary is back and healthy (n3)"]);
    expect(h.manager.stage()).toBe("soaking");
    expect(h.manager.blockedReason()).toBe("canaries (n3) confirmed; soaking for 60s more");
    await h.advance(59_999);
    expect(heldNodes(h)).toEqual([]);
    await h.advance(1);
    // The soak ended on the timer: now the rollout waits for an operator.
    expect(h.manager.stage()).toBe("awaiting-approval");
    expect(h.manager.blockedReason()).toBe("canaries (n3) confirmed: waiting for approval (nkctl rollout approve)");
    expect(await events("canary-awaiting-approval")).toHaveLength(1);
    // It survives a restart of the coordinator.
    await h.restart();
    expect(h.manager.stage()).toBe("awaiting-approval");
    expect(heldNodes(h)).toEqual([]);
    await h.manager.approve("ops");
    expect(h.manager.stage()).toBe("done");
    expect(heldNodes(h)).toEqual(["n1", "n2"]);
    expect(await events("rollout-approved")).toEqual(["approved by ops (stage was awaiting-approval)"]);
    await expect(h.manager.approve("ops")).rejects.toSatisfy((e) => isNkError(e) && /already past its canary stage/.test(e.message));
  });

  it("picks the first N nodes granted as canaries and continues after the soak with then: continue", async () => {
    h = await harness(settingsFor(NODES, { maxUnavailable: 1, canary: { nodes: [], count: 2, then: "continue", soakSeconds: 0 } }));
    await h.store.setRolloutRevision("rev1");
    for (const n of ["n2", "n4", "n1", "n3"]) await acquire(h, n);
    expect(heldNodes(h)).toEqual(["n2"]);
    await cycle("n2");
    expect(heldNodes(h)).toEqual(["n4"]);
    expect(h.manager.stage()).toBe("canary");
    await cycle("n4");
    expect(await events("canary-picked")).toEqual(["n2 is a canary of this revision", "n4 is a canary of this revision"]);
    // Both canaries confirmed, no soak, then: continue: the rest goes on by itself.
    expect(h.manager.stage()).toBe("done");
    expect(heldNodes(h)).toEqual(["n1"]);
  });

  it("refuses approval without a canary in the inventory", async () => {
    h = await harness(settingsFor(NODES));
    await h.store.setRolloutRevision("rev1");
    await expect(h.manager.approve("ops")).rejects.toSatisfy((e) => isNkError(e) && /no rollout.canary/.test(e.message));
  });
});
