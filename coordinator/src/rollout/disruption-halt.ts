// What agents are told in each report answer: hold back disruptive steps while the rollout is paused or halted.
import type { RolloutRecord } from "../store/index.js";

export interface DisruptionHalt {
  readonly halt: boolean;
  readonly reason: string;
}

/** A pause wins over a halt in the reason: the operator's word is what they will look for. */
export function disruptionHalt(rollout: RolloutRecord): DisruptionHalt {
  if (rollout.paused) return { halt: true, reason: `paused: ${rollout.paused.reason}` };
  if (rollout.halted) return { halt: true, reason: `halted: ${rollout.halted.reason}` };
  return { halt: false, reason: "" };
}
