// Apply phases as words in the domain and enum values on the wire.
import { ApplyPhase } from "../proto/gen/nk/v1/common.js";

export const APPLY_PHASES = [
  "idle",
  "fetched",
  "building",
  "built",
  "waiting-lease",
  "snapshotting",
  "draining",
  "activating",
  "rebooting",
  "verifying",
  "confirmed",
  "rolling-back",
  "rolled-back",
  "failed",
] as const;

export type ApplyPhaseName = (typeof APPLY_PHASES)[number];

const TO_WIRE: Record<ApplyPhaseName, ApplyPhase> = {
  idle: ApplyPhase.APPLY_PHASE_IDLE,
  fetched: ApplyPhase.APPLY_PHASE_FETCHED,
  building: ApplyPhase.APPLY_PHASE_BUILDING,
  built: ApplyPhase.APPLY_PHASE_BUILT,
  "waiting-lease": ApplyPhase.APPLY_PHASE_WAITING_LEASE,
  snapshotting: ApplyPhase.APPLY_PHASE_SNAPSHOTTING,
  draining: ApplyPhase.APPLY_PHASE_DRAINING,
  activating: ApplyPhase.APPLY_PHASE_ACTIVATING,
  rebooting: ApplyPhase.APPLY_PHASE_REBOOTING,
  verifying: ApplyPhase.APPLY_PHASE_VERIFYING,
  confirmed: ApplyPhase.APPLY_PHASE_CONFIRMED,
  "rolling-back": ApplyPhase.APPLY_PHASE_ROLLING_BACK,
  "rolled-back": ApplyPhase.APPLY_PHASE_ROLLED_BACK,
  failed: ApplyPhase.APPLY_PHASE_FAILED,
};

const FROM_WIRE = new Map<ApplyPhase, ApplyPhaseName>(Object.entries(TO_WIRE).map(([name, value]) => [value, name as ApplyPhaseName]));

export function applyPhaseToWire(phase: ApplyPhaseName): ApplyPhase {
  return TO_WIRE[phase];
}

/** Unknown or unspecified values (an older or newer agent) read as "idle" rather than failing the call. */
export function applyPhaseFromWire(phase: ApplyPhase): ApplyPhaseName {
  return FROM_WIRE.get(phase) ?? "idle";
}
