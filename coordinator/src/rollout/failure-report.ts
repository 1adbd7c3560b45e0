// Which agent reports are a node's step into a failed apply, as opposed to the heartbeats that repeat it.
import type { NodeReport } from "../store/index.js";

const FAILED_PHASES: ReadonlySet<string> = new Set(["failed", "rolled-back"]);

/** A report of a failed or rolled-back apply that the node's previous report did not already make. */
export function isNewFailure(report: NodeReport, before: NodeReport | undefined): boolean {
  if (!FAILED_PHASES.has(report.phase) || report.revision === "") return false;
  return !before || before.phase !== report.phase || before.revision !== report.revision || before.sha256 !== report.sha256;
}
