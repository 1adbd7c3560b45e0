// Which bundle a report built from the state (a heartbeat) is about, so that it says what the phase's own report said.
import type { AgentState, BadBundle } from "./agent-state.js";
import type { ApplyReport } from "./runner-ports.js";

export interface ReportSubject {
  readonly revision: string;
  readonly sha256: string;
}

/**
 * The bundle in flight; else the one the current phase's own report named; else, for a node resting rolled back
 * (after a restart, with that report gone), the bundle it last rolled back from; else the one it runs. A heartbeat that
 * named the running bundle for "rolled-back" read as a rollback from it (HA chaos seed 27300563: a push reverted the
 * node to the bundle it was rolling back onto, and the coordinator saw "rolled back" from the desired bundle it ran).
 */
export function reportSubject(s: AgentState, phaseReport: ApplyReport | null): ReportSubject {
  if (s.target) return s.target;
  if (phaseReport !== null && phaseReport.phase === s.phase) return { revision: phaseReport.revision, sha256: phaseReport.sha256 };
  if (s.phase === "rolled-back") {
    const latest = s.bad.reduce<BadBundle | null>((a, b) => (a === null || b.at >= a.at ? b : a), null);
    if (latest) return { revision: latest.revision, sha256: latest.sha256 };
  }
  return s.applied ?? { revision: "", sha256: "" };
}
