// The lease rules both stores apply: grant preconditions and fencing, holder patches, releases, queue places.
import { describe, expect, it } from "vitest";
import { decideGrant, decideUpdate, fenced, issuedOne, queuedRequest } from "./lease-rules.js";
import type { LeaseGrant, LeaseRecord, RolloutRecord } from "./store.js";

const grant = (node: string, fencingToken?: number): LeaseGrant => ({
  node,
  kind: "service-restart",
  state: "granted",
  revision: "r1",
  requestedAtMs: 10,
  grantedAtMs: 20,
  phase: "start",
  phaseDeadlineMs: 100,
  renewedAtMs: 20,
  cordonedByUs: false,
  nodeWasCordoned: false,
  ...(fencingToken === undefined ? {} : { fencingToken }),
});
const lease = (node: string, fencingToken: number): LeaseRecord => ({ ...grant(node), fencingToken });

describe("decideGrant", () => {
  it("takes the next token and moves both counters", () => {
    const d = decideGrant({ holders: [], held: undefined, fencing: { issued: 4, lastGranted: 3 }, rollout: {} }, grant("n1"), { holders: [], revision: undefined });
    expect(d).toEqual({ ok: true, lease: lease("n1", 5), fencing: { issued: 5, lastGranted: 5 } });
  });

  it("grants a pre-issued token only when it was issued and is above the last granted one", () => {
    const fencing = { issued: 7, lastGranted: 5 };
    expect(decideGrant({ holders: [], held: undefined, fencing, rollout: {} }, grant("n1", 6), { holders: [], revision: undefined })).toMatchObject({ ok: true, fencing: { issued: 7, lastGranted: 6 } });
    expect(decideGrant({ holders: [], held: undefined, fencing, rollout: {} }, grant("n1", 5), { holders: [], revision: undefined })).toEqual({ ok: false, reason: "stale-token" });
    expect(decideGrant({ holders: [], held: undefined, fencing, rollout: {} }, grant("n1", 8), { holders: [], revision: undefined })).toEqual({ ok: false, reason: "stale-token" });
  });

  it("refuses when the holder set moved or the node already holds a lease", () => {
    const fencing = { issued: 2, lastGranted: 2 };
    expect(decideGrant({ holders: ["n2"], held: undefined, fencing, rollout: {} }, grant("n1"), { holders: [], revision: undefined })).toEqual({ ok: false, reason: "holders-changed", holders: ["n2"] });
    expect(decideGrant({ holders: ["n1"], held: lease("n1", 2), fencing, rollout: {} }, grant("n1"), { holders: ["n1"], revision: undefined })).toEqual({ ok: false, reason: "already-held", lease: lease("n1", 2) });
  });

  it("refuses once the rollout is no longer open on the revision decided for", () => {
    const fencing = { issued: 2, lastGranted: 2 };
    const view = (rollout: RolloutRecord) => ({ holders: [], held: undefined, fencing, rollout });
    const expected = { holders: [], revision: "r1" };
    expect(decideGrant(view({ revision: "r1" }), grant("n1"), expected)).toMatchObject({ ok: true });
    const closed: RolloutRecord[] = [
      { revision: "r2" },
      {},
      { revision: "r1", adopting: { revision: "r1", atMs: 1, id: "m1" } },
      { revision: "r1", paused: { reason: "by hand", atMs: 1 } },
      { revision: "r1", halted: { reason: "n1 failed", revision: "r1", atMs: 1 } },
    ];
    for (const rollout of closed) expect(decideGrant(view(rollout), grant("n1"), expected)).toEqual({ ok: false, reason: "rollout-changed", rollout });
    expect(decideGrant(view({}), grant("n1"), { holders: [], revision: undefined })).toMatchObject({ ok: true });
  });

  it("refuses a bad node name or record as INVALID_ARGUMENT", () => {
    expect(() => decideGrant({ holders: [], held: undefined, fencing: { issued: 0, lastGranted: 0 }, rollout: {} }, grant("N 1"), { holders: [], revision: undefined })).toThrow();
    expect(() => decideGrant({ holders: [], held: undefined, fencing: { issued: 0, lastGranted: 0 }, rollout: {} }, { ...grant("n1"), phaseDeadlineMs: 1.5 }, { holders: [], revision: undefined })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});

describe("holder calls", () => {
  it("fences a stale token and a missing lease; force passes", () => {
    expect(fenced(undefined, 3)).toEqual({ ok: false, reason: "not-held" });
    expect(fenced(lease("n1", 3), 2)).toEqual({ ok: false, reason: "fenced", current: lease("n1", 3) });
    expect(fenced(lease("n1", 3), "force")).toEqual({ ok: true, lease: lease("n1", 3) });
  });

  it("patches phase fields, keeps identity, raises the kind to reboot but never lowers it", () => {
    const patched = decideUpdate(lease("n1", 3), 3, { state: "draining", phase: "drain", kind: "reboot", phaseDeadlineMs: 500 });
    expect(patched).toEqual({ ok: true, lease: { ...lease("n1", 3), state: "draining", phase: "drain", kind: "reboot", phaseDeadlineMs: 500 } });
    const reboot = { ...lease("n1", 3), kind: "reboot" as const };
    expect(decideUpdate(reboot, 3, { kind: "service-restart" })).toEqual({ ok: true, lease: reboot });
    const smuggled = { fencingToken: 99, node: "n9", grantedAtMs: 0 } as unknown as Parameters<typeof decideUpdate>[2];
    expect(decideUpdate(lease("n1", 3), 3, smuggled)).toEqual({ ok: true, lease: lease("n1", 3) });
  });

  it("counts tokens up one at a time", () => {
    expect(issuedOne({ issued: 9, lastGranted: 4 })).toEqual({ issued: 10, lastGranted: 4 });
  });
});

describe("queuedRequest", () => {
  const input = { node: "n1", kind: "reboot" as const, revision: "r2", sha256: "s", reason: "kernel changed" };
  it("stamps a new request with now unless it brings its own time", () => {
    expect(queuedRequest(undefined, input, 50).requestedAtMs).toBe(50);
    expect(queuedRequest(undefined, { ...input, requestedAtMs: 40 }, 50).requestedAtMs).toBe(40);
  });

  it("keeps a queued node's first request time while the newer fields win", () => {
    const first = queuedRequest(undefined, { ...input, revision: "r1" }, 10);
    expect(queuedRequest(first, { ...input, requestedAtMs: 99 }, 50)).toEqual({ ...input, requestedAtMs: 10 });
  });
});
