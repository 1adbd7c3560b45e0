// Converts preview plans to AdminService wire messages.
import type { Plan } from "../../../shared/src/proto/gen/nk/v1/admin.js";
import { previewOutcomeToWire } from "../../../shared/src/wire/index.js";
import type { PlanView } from "../preview/index.js";

export function planToWire(p: PlanView): Plan {
  return {
    name: p.name,
    revision: p.revision,
    createdAtMs: p.createdAtMs,
    expiresAtMs: p.expiresAtMs,
    nodes: p.nodes.map((n) => ({
      node: n.node,
      outcome: previewOutcomeToWire(n.outcome),
      reason: n.reason,
      units: [...n.units],
      changes: n.changes.map((c) => ({ ...c })),
      logTail: n.logTail,
      bundleSha256: n.sha256,
      updatedAtMs: n.updatedAtMs,
    })),
    totals: { ...p.totals },
    rebootLeases: p.rebootLeases,
    restartLeases: p.restartLeases,
    estimateMs: p.estimate.ms,
    estimateBasis: p.estimate.basis,
    complete: p.complete,
    summary: p.summary,
  };
}
