// A preview's per-node result (build-only, nothing applied), as the domain sees it and as the wire carries it.
import { PreviewOutcome } from "../proto/gen/nk/v1/common.js";

export const PREVIEW_OUTCOMES = ["pending", "building", "no-op", "switch", "restart", "reboot", "build-failed", "cancelled"] as const;
export type PreviewOutcomeName = (typeof PREVIEW_OUTCOMES)[number];

/** Outcomes after which the node does nothing more for this preview. */
export const FINAL_OUTCOMES: ReadonlySet<PreviewOutcomeName> = new Set(["no-op", "switch", "restart", "reboot", "build-failed", "cancelled"]);

/** One part of the boot closure that differs from the booted system (store paths as they show). */
export interface BootChange {
  readonly what: string;
  readonly from: string;
  readonly to: string;
}

/** What one node found building one preview bundle. */
export interface PreviewResult {
  readonly name: string;
  readonly sha256: string;
  readonly outcome: PreviewOutcomeName;
  readonly reason: string;
  readonly units: readonly string[];
  readonly changes: readonly BootChange[];
  readonly logTail: string;
  readonly systemPath: string;
}

const TO_WIRE: Record<PreviewOutcomeName, PreviewOutcome> = {
  pending: PreviewOutcome.PREVIEW_OUTCOME_PENDING,
  building: PreviewOutcome.PREVIEW_OUTCOME_BUILDING,
  "no-op": PreviewOutcome.PREVIEW_OUTCOME_NO_OP,
  switch: PreviewOutcome.PREVIEW_OUTCOME_SWITCH,
  restart: PreviewOutcome.PREVIEW_OUTCOME_RESTART,
  reboot: PreviewOutcome.PREVIEW_OUTCOME_REBOOT,
  "build-failed": PreviewOutcome.PREVIEW_OUTCOME_BUILD_FAILED,
  cancelled: PreviewOutcome.PREVIEW_OUTCOME_CANCELLED,
};

export function previewOutcomeToWire(o: PreviewOutcomeName): PreviewOutcome {
  return TO_WIRE[o];
}

/** An outcome this version does not know reads as pending (a newer agent's answer is not final to us). */
export function previewOutcomeFromWire(o: PreviewOutcome): PreviewOutcomeName {
  return (Object.entries(TO_WIRE).find(([, v]) => v === o)?.[0] as PreviewOutcomeName | undefined) ?? "pending";
}
