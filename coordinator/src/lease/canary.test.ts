// Canary then approval on a real FileStore and a manual clock: canaries first, soak, pause for approval, go on.
import { afterEach, describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import type { LeaseRecord } from "../store/index.js";
import { canaryConfirm, canaryPick } from "./canary-edits.js";
import { canaryGate } from "./canary-gate.js";
import { acquire, failNextWriteAfter, harness, heldNodes, settingsFor, tokenOf, type Harness } from "./test-lease-kit.js";

const NODES = { n1: "agent", n2: "agent", n3: "agent", n4: "agent" } as const;
let h: Harness;

/** Drains, reboots and verifies the holder; returns its token for the release. */
async function rebootBack(node: string): Promise<number> {
  const token = tokenOf(h, node);
  await h.manager.renew(node, token, "draining", "boot-a");
  await h.manager.settled();
  await h.manager.renew(node, token, "rebooting", "boot-a");
  await h.manager.renew(node, token, "verifying", "boot-b");
  return token;
}

async function cycle(node: string): Promise<void> {
  const token = await rebootBack(node);
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

  it("picks a granted node only while a count-mode slot is open, and confirms only canaries of the rollout's revision", () => {
    const count = { nodes: [], count: 2, then: "pause" as const, soakSeconds: 60 };
    const lease = (node: string, revision = "r2") => ({ node, revision }) as LeaseRecord;
    const pick = canaryPick(count, 5000);
    // A record of an older revision does not count: r2 starts over.
    const first = pick({ revision: "r2", canary: { revision: "r1", nodes: ["n9"], confirmed: ["n9"] } }, lease("n1"));
    expect(first).toEqual({ kind: "canary-picked", record: { revision: "r2", nodes: ["n1"], confirmed: [] }, message: "n1 is a canary of this revision" });
    expect(pick({ revision: "r2", canary: first!.record }, lease("n1"))).toBeUndefined();
    const both = { revision: "r2", nodes: ["n1", "n2"], confirmed: [] };
    expect(pick({ revision: "r2", canary: both }, lease("n3"))).toBeUndefined();
    expect(canaryPick({ ...spec, nodes: ["n1"] }, 0)({ revision: "r2" }, lease("n3"))).toBeUndefined();
    const confirm = canaryConfirm(count, 7000);
    expect(confirm({ revision: "r2", canary: both }, lease("n3"))).toBeUndefined();
    expect(confirm({ revision: "r2", canary: both }, lease("n1", "r1"))).toBeUndefined();
    const one = confirm({ revision: "r2", canary: both }, lease("n1"));
    expect(one).toMatchObject({ record: { confirmed: ["n1"] }, message: "canary n1 is back and healthy" });
    expect(one!.record.confirmedAtMs).toBeUndefined();
    expect(confirm({ revision: "r2", canary: one!.record }, lease("n2"))).toEqual({
      kind: "canary-confirmed",
      record: { ...both, confirmed: ["n1", "n2"], confirmedAtMs: 7000 },
      message: "every canary is back and healthy (n1, n2)",
    });
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

  it("keeps a count-mode pick when the store fails right after the grant commits", async () => {
    h = await harness(settingsFor(NODES, { maxUnavailable: 2, canary: { nodes: [], count: 1, then: "pause", soakSeconds: 0 } }));
    await h.store.setRolloutRevision("rev1");
    const blip = failNextWriteAfter(h, "grantLease");
    await expect(acquire(h, "n1")).rejects.toSatisfy((e) => isNkError(e, "UNAVAILABLE"));
    expect(blip.failed).toEqual(["appendEvent"]);
    // The pick committed with the grant: the next evaluation does not take n2 as a second canary.
    await acquire(h, "n2");
    expect(heldNodes(h)).toEqual(["n1"]);
    expect((await h.store.getRollout()).canary).toEqual({ revision: "rev1", nodes: ["n1"], confirmed: [] });
    expect(h.manager.queue().map((q) => q.waitingReason)).toEqual(["waiting for the canaries (n1) to be back and healthy"]);
    await h.restart();
    expect(heldNodes(h)).toEqual(["n1"]);
    expect(h.manager.stage()).toBe("canary");
  });

  it("keeps a canary's confirmation when the store fails right after the release commits", async () => {
    h = await harness(settingsFor(NODES, { maxUnavailable: 1, canary: { nodes: [], count: 1, then: "continue", soakSeconds: 0 } }));
    await h.store.setRolloutRevision("rev1");
    for (const n of ["n1", "n2"]) await acquire(h, n);
    expect(heldNodes(h)).toEqual(["n1"]);
    const token = await rebootBack("n1");
    const blip = failNextWriteAfter(h, "releaseLease");
    await expect(h.manager.release("n1", token, true, "confirmed")).rejects.toSatisfy((e) => isNkError(e, "UNAVAILABLE"));
    expect(blip.failed).toHaveLength(1);
    // The agent's retry finds its lease gone: nothing else would ever confirm n1.
    await expect(h.manager.release("n1", token, true, "confirmed")).rejects.toSatisfy((e) => isNkError(e, "LEASE_FENCED"));
    expect((await h.store.getRollout()).canary).toEqual({ revision: "rev1", nodes: ["n1"], confirmed: ["n1"], confirmedAtMs: h.time.ms });
    h.manager.reevaluate();
    await h.manager.settled();
    expect(h.manager.stage()).toBe("done");
    expect(heldNodes(h)).toEqual(["n2"]);
  });

  it("refuses approval without a canary in the inventory", async () => {
    h = await harness(settingsFor(NODES));
    await h.store.setRolloutRevision("rev1");
    await expect(h.manager.approve("ops")).rejects.toSatisfy((e) => isNkError(e) && /no rollout.canary/.test(e.message));
  });
});
