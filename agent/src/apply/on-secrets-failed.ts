// secrets-failed: a desired bundle whose secrets could not be fetched waits; the node only says why.
import { isResting, isStuck, type AgentState } from "./agent-state.js";
import type { EventOf } from "./agent-event.js";
import { report, unchanged, type Result } from "./steps.js";

/**
 * Nothing is touched, rolled back or marked bad (the bundle is fine; the coordinator or its secret store is not): a
 * resting node only says why it is not applying the desired bundle yet. A busy one goes on with what it does.
 */
export function onSecretsFailed(s: AgentState, e: EventOf<"secrets-failed">): Result {
  if (!isResting(s.phase) || isStuck(s)) return unchanged(s);
  const error = `secrets for revision ${e.revision} (bundle ${e.sha256.slice(0, 12)}) could not be fetched: ${e.error}; not applied yet, retrying`;
  if (s.lastError === error) return unchanged(s);
  return { state: { ...s, lastError: error }, effects: [report(s.phase, s.applied, { error })] };
}
