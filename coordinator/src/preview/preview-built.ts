// Pure: a builder's build of a preview as the plan's per-node result (no node built or dry-activated anything).
import type { PreviewResult } from "../../../shared/src/wire/index.js";
import type { PreviewBuildOutcome } from "../build/build-farm.js";
import type { ExpectedDisruption } from "../build/expected-disruption.js";

export type BuildOutcomeForPlan = PreviewBuildOutcome;

/**
 * pushed: the outcome the paths tell (no-op, switch, reboot); when they cannot tell (the node never said what it
 * boots) the node stays pending with the reason, as nothing final is known. Units are never known here.
 */
export function previewResultOf(name: string, sha256: string, outcome: BuildOutcomeForPlan, expected: ExpectedDisruption | null): PreviewResult {
  const base = { name, sha256, units: [], changes: [], logTail: "", systemPath: "" };
  switch (outcome.kind) {
    case "failed":
      return { ...base, outcome: "build-failed", reason: outcome.error, logTail: outcome.log };
    case "cancelled":
      return { ...base, outcome: "cancelled", reason: outcome.reason };
    case "pushed": {
      const e = expected ?? { outcome: "unknown" as const, reason: "no builders to compare with", changes: [] };
      const systemPath = outcome.built.systemPath;
      if (e.outcome === "unknown") return { ...base, systemPath, outcome: "pending", reason: `built by a builder (${systemPath}); ${e.reason}` };
      return { ...base, systemPath, outcome: e.outcome, reason: e.reason, changes: e.changes };
    }
  }
}
