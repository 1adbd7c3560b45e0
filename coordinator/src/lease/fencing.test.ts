// The fencing rule, pure: a call counts for a lease only with that lease's own token; token 0 matches no lease.
import { describe, expect, it } from "vitest";
import type { LeaseRecord } from "../store/index.js";
import { checkPresented } from "./fencing.js";

const held = (fencingToken: number, state: LeaseRecord["state"] = "granted"): LeaseRecord => ({
  node: "n1",
  kind: "reboot",
  state,
  fencingToken,
  revision: "rev1",
  requestedAtMs: 0,
  grantedAtMs: 1,
  phase: "start",
  phaseDeadlineMs: 2,
  renewedAtMs: 1,
  cordonedByUs: false,
  nodeWasCordoned: false,
});

describe("checkPresented", () => {
  it("the held lease's own token is its holder", () => {
    const lease = held(7);
    expect(checkPresented("n1", 7, lease)).toEqual({ kind: "holder", lease });
  });

  it("token 0 is a new request only while nothing is held", () => {
    expect(checkPresented("n1", 0, undefined)).toEqual({ kind: "new-request" });
  });

  it("token 0 while a lease is held matches nothing: LEASE_HELD, naming the lease and the explicit way back", () => {
    for (const state of ["granted", "draining", "drained", "rebooting", "verifying"] as const) {
      const r = checkPresented("n1", 0, held(7, state));
      expect(r.kind).toBe("refused");
      if (r.kind !== "refused") continue;
      expect(r.error.code).toBe("LEASE_HELD");
      expect(r.error.message).toContain(`n1 holds lease #7 (${state})`);
      expect(r.error.message).toContain("ReattachLease");
      expect(r.error.message).toContain("nkctl lease release n1");
    }
  });

  it("any other token is fenced, held lease or not", () => {
    for (const [presented, lease] of [[6, held(7)], [8, held(7)], [7, undefined], [1, held(2)]] as const) {
      const r = checkPresented("n1", presented, lease);
      expect(r.kind, `#${presented} against ${lease ? `#${lease.fencingToken}` : "nothing"}`).toBe("refused");
      if (r.kind === "refused") expect(r.error.code).toBe("LEASE_FENCED");
    }
    const stale = checkPresented("n1", 6, held(7));
    if (stale.kind === "refused") expect(stale.error.message).toBe("lease #6 of n1 is fenced: the live lease is #7");
    const gone = checkPresented("n1", 7, undefined);
    if (gone.kind === "refused") expect(gone.error.message).toBe("lease #7 of n1 is no longer held; request a new lease");
  });

  it("is a function of (presented, held) alone: exhaustively over small tokens, only the equal non-zero token holds", () => {
    for (let lease = 1; lease <= 5; lease++) {
      for (let presented = 0; presented <= 6; presented++) {
        const r = checkPresented("n1", presented, held(lease));
        expect(r.kind === "holder", `#${presented} vs #${lease}`).toBe(presented === lease);
      }
    }
  });
});
