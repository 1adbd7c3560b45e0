// desired-received: a new desired bundle starts an apply, waits its turn, replaces one not started, or is refused.
import { isBad, isResting, isStuck, type AgentState } from "./agent-state.js";
import type { EventOf } from "./agent-event.js";
import type { Effect } from "./effect.js";
import type { MachineConfig } from "./machine-config.js";
import { report, startApply, unchanged, type Result } from "./steps.js";

/**
 * A bundle that rolled back before, or whose build gave up, is refused until it changes; the same bundle under a
 * newer revision changes nothing on the machine; a newer bundle replaces one that touched nothing yet, else queues.
 */
export function onDesired(s: AgentState, e: EventOf<"desired-received">, cfg: MachineConfig): Result {
  const d = e.desired;
  if (s.target?.sha256 === d.sha256 && !isStuck(s)) return unchanged(s);
  const bad = isBad(s, d.sha256);
  const buildGaveUp = s.failedBuild?.sha256 === d.sha256 && s.failedBuild.attempts >= cfg.maxBuildAttempts;
  if (bad || buildGaveUp) {
    const error = bad
      ? `bundle ${d.sha256.slice(0, 12)} rolled back before (${bad.reason}); not retried until the node's bundle changes or an operator runs nk-agent retry --bundle ${d.sha256.slice(0, 12)} on it`
      : `build of ${d.sha256.slice(0, 12)} failed ${s.failedBuild?.attempts ?? 0} times; not retried until the node's bundle changes or an operator runs nk-agent retry --bundle ${d.sha256.slice(0, 12)} on it`;
    const phase = bad ? "rolled-back" : "failed";
    // Nothing touched yet and no lease held: the refusal supersedes the pending apply at once. Queued behind it, the
    // refusal waited for a lease the coordinator never grants, since it grants only for the bundle it names now (HA
    // chaos seed 28100565: a node waited on a stale request until the next push). An apply that carries a lease (the
    // fix of a node stuck after a failed rollback, built under the reboot lease it kept) goes on: ended here, it would
    // leave the node cordoned with the lease held and no apply to release it.
    if ((s.phase === "fetched" || s.phase === "building" || s.phase === "waiting-lease") && s.lease === null) {
      return { state: { ...s, phase, target: null, queued: null, lastError: error }, effects: [{ type: "abort-pending" }, report(phase, d, { error })] };
    }
    // A newer desired bundle supersedes anything queued, even when it is itself refused: while busy, it waits in
    // `queued` so that, once the apply in flight ends, the refusal is reported (else the node would rest
    // "confirmed" on an older bundle with no word about the desired one).
    if (!isResting(s.phase)) return { state: { ...s, queued: { revision: d.revision, sha256: d.sha256 } }, effects: [] };
    // A node stuck after a failed rollback keeps its failure, target and lease for an operator (as does any node
    // holding a lease it is not giving back): say no, change nothing.
    if (isStuck(s) || (s.lease !== null && !s.lease.releasing)) return { state: s.queued ? { ...s, queued: null } : s, effects: [report(phase, d, { error })] };
    // Otherwise the refusal is the resting state, not a one-off report: heartbeats rebuild reports from the state,
    // and a node that went on saying "confirmed" would look as if it had taken the desired bundle.
    if (s.phase === phase && s.lastError === error && s.queued === null) return unchanged(s);
    return { state: { ...s, phase, queued: null, lastError: error }, effects: [report(phase, d, { error })] };
  }
  if (isResting(s.phase)) {
    if (s.applied?.sha256 === d.sha256 && !isStuck(s)) {
      if (s.phase === "confirmed" && s.applied.revision === d.revision && s.queued === null) return unchanged(s);
      // Same bundle under a newer revision (or a revert to it): nothing to do on the machine.
      const applied = { ...s.applied, revision: d.revision };
      return { state: { ...s, phase: "confirmed", applied, queued: null, lastError: null }, effects: [report("confirmed", applied)] };
    }
    if (s.lease?.releasing) return { state: { ...s, queued: { revision: d.revision, sha256: d.sha256 } }, effects: [] };
    return startApply(s, d, e.now, cfg);
  }
  if (s.phase === "fetched" || s.phase === "building" || s.phase === "waiting-lease") {
    // Nothing touched yet: the newer bundle wins (a push is how a halted rollout moves on).
    const abort: Effect[] = [{ type: "abort-pending" }];
    // The last good bundle again: nothing to do on the machine, unless the node keeps a lease after a failed rollback,
    // where that bundle just failed its health check: it is booted and verified under the lease like any fix.
    if (s.applied?.sha256 === d.sha256 && s.lease === null) {
      const applied = { ...s.applied, revision: d.revision };
      return { state: { ...s, phase: "confirmed", applied, target: null, queued: null, lastError: null }, effects: [...abort, report("confirmed", applied)] };
    }
    return startApply(s, d, e.now, cfg, abort);
  }
  if (s.queued?.sha256 === d.sha256) return unchanged(s);
  return { state: { ...s, queued: { revision: d.revision, sha256: d.sha256 } }, effects: [] };
}
