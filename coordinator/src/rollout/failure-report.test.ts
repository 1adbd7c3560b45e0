// A failure halts once, when the node steps into it; its heartbeats repeating it do not (an operator resume holds).
import { describe, expect, it } from "vitest";
import type { NodeReport } from "../store/index.js";
import { isNewFailure } from "./failure-report.js";

const report = (phase: string, revision = "rev2", sha256 = "b".repeat(64)): NodeReport => ({
  revision, sha256, phase, error: "", health: { healthy: true, checks: [], observedAtMs: 0 }, agentVersion: "0.1.0", bootId: "b", bootedSystem: "", currentSystem: "", atMs: 0,
});

describe("isNewFailure", () => {
  it("is the step into failed or rolled-back, for a known revision", () => {
    expect(isNewFailure(report("failed"), report("building"))).toBe(true);
    expect(isNewFailure(report("rolled-back"), report("verifying"))).toBe(true);
    expect(isNewFailure(report("failed"), undefined)).toBe(true);
    expect(isNewFailure(report("failed", ""), undefined), "no revision yet").toBe(false);
    expect(isNewFailure(report("confirmed"), report("verifying"))).toBe(false);
  });

  it("is not the same failure reported again, but is the same phase for another revision or bundle", () => {
    expect(isNewFailure(report("failed"), report("failed"))).toBe(false);
    expect(isNewFailure(report("rolled-back"), report("rolled-back"))).toBe(false);
    expect(isNewFailure(report("rolled-back", "rev3"), report("rolled-back", "rev2"))).toBe(true);
    expect(isNewFailure(report("failed", "rev2", "c".repeat(64)), report("failed"))).toBe(true);
    expect(isNewFailure(report("failed"), report("rolled-back"))).toBe(true);
  });
});
