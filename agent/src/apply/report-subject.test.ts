// reportSubject: a heartbeat names what its phase's own report named, not the bundle the node happens to run.
import { describe, expect, it } from "vitest";
import { initialAgentState, type AgentState } from "./agent-state.js";
import { reportSubject } from "./report-subject.js";

const RUNS = { revision: "r-old", sha256: "good", systemPath: "/nix/store/good-system" };
const resting = (over: Partial<AgentState>): AgentState => ({ ...initialAgentState(0), phase: "rolled-back", applied: RUNS, ...over });

describe("reportSubject", () => {
  it("names the bundle a node rolled back from, as the rolled-back report did, not the one it now runs", () => {
    const s = resting({ bad: [{ sha256: "bad", revision: "r-bad", reason: "did not boot", at: 5 }] });
    expect(reportSubject(s, { phase: "rolled-back", revision: "r-bad", sha256: "bad", fencingToken: null })).toEqual({ revision: "r-bad", sha256: "bad" });
  });

  it("after a restart (no report of the phase), names the bundle it last rolled back from", () => {
    const s = resting({
      bad: [
        { sha256: "bad-newer", revision: "r2", reason: "health deadline passed", at: 9 },
        { sha256: "bad-older", revision: "r1", reason: "did not boot", at: 3 },
      ],
    });
    expect(reportSubject(s, null)).toEqual({ revision: "r2", sha256: "bad-newer" });
    // A report of another phase says nothing about this one.
    expect(reportSubject(s, { phase: "confirmed", revision: "r-old", sha256: "good", fencingToken: null })).toEqual({ revision: "r2", sha256: "bad-newer" });
  });

  it("names the bundle in flight while there is one, and the running one when resting confirmed", () => {
    const target = { revision: "r-new", sha256: "new", systemPath: "/nix/store/new-system", rollbackTo: null, activationTimeoutMs: 1, healthDeadlineMs: 1, rebootPolicy: "auto", checks: [], secretNames: [], etcdSnapshot: null, prebuilt: null, apiVip: null } as unknown as NonNullable<AgentState["target"]>;
    expect(reportSubject(resting({ phase: "building", target }), { phase: "building", revision: "x", sha256: "y", fencingToken: null })).toBe(target);
    expect(reportSubject(resting({ phase: "confirmed" }), null)).toBe(RUNS);
  });
});
