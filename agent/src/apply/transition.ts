// The pure apply state machine: transition(state, event) → { state, effects }; no I/O, time from events.
import { isResting, isStuck, isStuckWithoutLease, type AgentState, type Target } from "./agent-state.js";
import type { AgentEvent, EventOf } from "./agent-event.js";
import { decideDisruption } from "./disruption.js";
import { LONG_EFFECTS, type Effect } from "./effect.js";
import { DEFAULT_MACHINE_CONFIG, type MachineConfig } from "./machine-config.js";
import { onDeadline } from "./on-deadline.js";
import { onDesired } from "./on-desired.js";
import { onEtcdSnapshot, onLeaseGranted } from "./on-lease-granted.js";
import { onSecretsFailed } from "./on-secrets-failed.js";
import { resume } from "./resume.js";
import {
  abandon,
  beginRollback,
  bootAndReboot,
  enterActivating,
  enterBlessing,
  enterRollbackVerifying,
  enterVerifying,
  finish,
  keptLeaseNote,
  pickUpQueued,
  pruneBundles,
  renew,
  report,
  restingPhase,
  retryRollback,
  stuck,
  unchanged,
  withApplied,
  withCurrentSystem,
  type Result,
} from "./steps.js";

const REJOIN_VIP: Effect = { type: "rejoin-vip" };

export type Transition = (state: AgentState, event: AgentEvent) => Result;

/**
 * Builds the machine for one configuration. Whenever the state changes, `persist` is the first effect. Whenever an
 * apply comes to rest (and at every agent start at rest) the bundles no longer needed are pruned.
 */
export function makeTransition(cfg: MachineConfig = DEFAULT_MACHINE_CONFIG): Transition {
  return (state, event) => {
    const r = withPrune(state, event, dispatch(state, event, cfg));
    if (r.state === state) return r;
    return { state: { ...r.state, updatedAt: event.now }, effects: [{ type: "persist" }, ...r.effects] };
  };
}

function withPrune(before: AgentState, event: AgentEvent, r: Result): Result {
  if (!isResting(r.state.phase) || (isResting(before.phase) && event.type !== "agent-started")) return r;
  // Quick, so it goes before a trailing long effect (which must stay last).
  const last = r.effects.at(-1);
  const tail = last && LONG_EFFECTS.has(last.type) ? 1 : 0;
  const effects = [...r.effects.slice(0, r.effects.length - tail), pruneBundles(r.state), ...r.effects.slice(r.effects.length - tail)];
  return { state: r.state, effects };
}

export const transition: Transition = makeTransition();

function dispatch(s: AgentState, e: AgentEvent, cfg: MachineConfig): Result {
  switch (e.type) {
    case "agent-started": {
      const r = resume(s, e, cfg);
      // A kill between an acknowledged release and its rejoin would leave the node out of the VIP election for good.
      const rejoin = isResting(r.state.phase) && r.state.lease === null && !isStuck(r.state);
      return rejoin ? { state: r.state, effects: [REJOIN_VIP, ...r.effects] } : r;
    }
    case "desired-received":
      return onDesired(s, e, cfg);
    case "secrets-failed":
      return onSecretsFailed(s, e);
    case "bundle-written":
      if (s.phase !== "fetched" || s.target?.sha256 !== e.sha256) return unchanged(s);
      return { state: { ...s, phase: "building" }, effects: [report("building", s.target), { type: "build", bundleDir: s.target.bundleDir, sha256: e.sha256, prebuilt: s.target.prebuilt ?? null }] };
    case "bundle-write-failed":
      if (s.phase !== "fetched" || s.target?.sha256 !== e.sha256) return unchanged(s);
      return pickUpQueued({ state: { ...s, phase: "failed", target: null, lastError: `writing the bundle failed: ${e.error}` }, effects: [report("failed", s.target, { error: `${e.error}${keptLeaseNote(s)}` })] });
    case "build-succeeded":
      return onBuilt(s, e, cfg);
    case "build-failed":
      return onBuildFailed(s, e);
    case "lease-granted":
      return onLeaseGranted(s, e);
    case "lease-denied":
      if (s.phase !== "waiting-lease") return unchanged(s);
      return abandon(s, `lease denied: ${e.reason}`, []);
    case "lease-lost":
      return onLeaseLost(s, e);
    case "lease-released":
      if (s.lease?.fencingToken !== e.fencingToken) return unchanged(s);
      // Acknowledged, so the coordinator has uncordoned the node: it may carry the VIP again (a stuck node may not).
      if (isResting(s.phase)) return pickUpQueued({ state: { ...s, lease: null }, effects: isStuck(s) ? [] : [REJOIN_VIP] });
      // Released while still needed (an operator's force release): the same as losing it.
      return onLeaseLost(s, { type: "lease-lost", now: e.now, fencingToken: e.fencingToken, reason: "released by the coordinator" });
    case "etcd-snapshot-saved":
    case "etcd-snapshot-failed":
      return onEtcdSnapshot(s, e);
    case "drained":
      return onDrained(s, e, cfg);
    case "drain-failed":
      if (s.phase !== "draining" || s.lease?.fencingToken !== e.fencingToken) return unchanged(s);
      return abandon(s, `drain failed: ${e.error}`, []);
    case "activation-succeeded":
      return onActivated(s, e);
    case "activation-failed":
      return onActivationFailed(s, e, cfg);
    case "health-passed":
      return onHealthPassed(s, e);
    case "health-failed":
      return onHealthFailed(s, e, cfg);
    case "blessed":
      return onBlessed(s, e);
    case "bless-failed":
      if (s.phase !== "blessing" || s.target?.systemPath !== e.systemPath) return unchanged(s);
      // Healthy, but the next reboot would come back on the old generation: go back to it now, on purpose.
      return beginRollback(s, e.now, cfg, `could not make ${e.systemPath} the boot default: ${e.error}`, { markBad: true, allowReboot: true });
    case "deadline-passed":
      return onDeadline(s, e, cfg);
    case "operator-retry":
      return onOperatorRetry(s, e, cfg);
  }
}

function onBuilt(s: AgentState, e: EventOf<"build-succeeded">, cfg: MachineConfig): Result {
  if (s.phase !== "building" || !s.target || s.target.sha256 !== e.sha256) return unchanged(s);
  // A reboot lease kept from a stuck apply goes back only with a new boot id (how the coordinator knows the
  // node came back), so the bundle that fixes the node is booted under it, never merely switched.
  const keptRebootLease = s.lease !== null && !s.lease.releasing && s.lease.kind === "reboot";
  const decided = decideDisruption({
    rebootNeeded: e.rebootNeeded,
    restartsUnits: e.restartsUnits,
    policy: keptRebootLease ? "always" : s.target.rebootPolicy,
    disruptiveUnits: cfg.disruptiveUnits,
  });
  const decision = keptRebootLease ? { ...decided, reason: `finishing the reboot lease kept from the failed apply (${decided.reason})` } : decided;
  const target: Target = { ...s.target, systemPath: e.systemPath, rebootNeeded: e.rebootNeeded, disruption: decision.lease };
  const base: AgentState = { ...s, target, failedBuild: s.failedBuild?.sha256 === e.sha256 ? null : s.failedBuild };
  const running = s.facts?.currentSystem ?? s.applied?.systemPath ?? null;
  if (e.systemPath === running && decision.lease !== "reboot") {
    // The bundle changed but the system did not. Holding a lease (stuck after a failed rollback)
    // means this system was unhealthy: verify it before confirming and releasing.
    if (s.lease && !s.lease.releasing) return enterVerifying(base, { ...target, systemPath: e.systemPath }, e.now);
    const applied = { revision: target.revision, sha256: target.sha256, systemPath: e.systemPath };
    const state: AgentState = { ...base, ...withApplied(s, applied), rebootPending: decision.rebootPending, lastError: null };
    return finish(state, "confirmed", null, applied);
  }
  const note = `built ${e.systemPath}: ${decision.reason}`;
  if (decision.lease === null) return enterActivating(base, { ...target, systemPath: e.systemPath }, e.now, [], note);
  const request: Effect = {
    type: "request-lease",
    kind: decision.lease,
    revision: target.revision,
    sha256: target.sha256,
    reason: decision.reason,
    fencingToken: s.lease?.fencingToken ?? null,
  };
  return { state: { ...base, phase: "waiting-lease" }, effects: [report("waiting-lease", target, { note }), request] };
}

function onBuildFailed(s: AgentState, e: EventOf<"build-failed">): Result {
  if (s.phase !== "building" || s.target?.sha256 !== e.sha256) return unchanged(s);
  const attempts = s.failedBuild?.sha256 === e.sha256 ? s.failedBuild.attempts + 1 : 1;
  // The running system was never touched, so the node rests where it was.
  const state: AgentState = { ...s, phase: "failed", target: null, failedBuild: { sha256: e.sha256, attempts }, lastError: `build failed: ${e.error}` };
  return pickUpQueued({ state, effects: [report("failed", s.target, { error: `build failed: ${e.error}${keptLeaseNote(s)}` })] });
}

function onLeaseLost(s: AgentState, e: EventOf<"lease-lost">): Result {
  if (s.lease?.fencingToken !== e.fencingToken) return unchanged(s);
  const lost: AgentState = { ...s, lease: null };
  if (isResting(s.phase)) {
    if (s.lease.releasing) return pickUpQueued({ state: lost, effects: isStuck(s) ? [] : [REJOIN_VIP] });
    return pickUpQueued({ state: { ...lost, lastError: `lease lost: ${e.reason}` }, effects: [report(s.phase, s.target ?? s.applied, { error: `lease lost: ${e.reason}` })] });
  }
  if (s.phase === "draining" || s.phase === "snapshotting") return abandon(lost, `lease lost while ${s.phase}: ${e.reason}`, [{ type: "abort-pending" }]);
  if (s.phase === "waiting-lease") return { state: lost, effects: [] };
  // The machine is already changing: finishing (or rolling back) is safer than stopping halfway.
  const error = `lease lost during ${s.phase}: ${e.reason}; continuing`;
  return { state: { ...lost, lastError: error }, effects: [report(s.phase, s.target, { error })] };
}

function onDrained(s: AgentState, e: EventOf<"drained">, cfg: MachineConfig): Result {
  const t = s.target;
  if (s.phase !== "draining" || s.lease?.fencingToken !== e.fencingToken || !t?.systemPath) return unchanged(s);
  const state: AgentState = {
    ...s,
    phase: "rebooting",
    rebootFromBootId: s.facts?.bootId ?? null,
    deadlineAt: e.now + cfg.rebootDeadlineMs,
    attempts: { ...s.attempts, reboot: s.attempts.reboot + 1 },
  };
  return { state, effects: [...renew(s, "rebooting"), report("rebooting", t), bootAndReboot({ ...t, systemPath: t.systemPath })] };
}

function onActivated(s: AgentState, e: EventOf<"activation-succeeded">): Result {
  const t = s.target;
  if (s.phase === "activating" && t?.systemPath && t.systemPath === e.systemPath) return enterVerifying(s, { ...t, systemPath: t.systemPath }, e.now);
  if (s.phase === "rolling-back" && t?.rollbackTo && t.rollbackTo === e.systemPath) {
    return enterRollbackVerifying(s, { ...t, rollbackTo: t.rollbackTo }, e.now);
  }
  return unchanged(s);
}

function onActivationFailed(s: AgentState, e: EventOf<"activation-failed">, cfg: MachineConfig): Result {
  const t = s.target;
  if (!t) return unchanged(s);
  if ((s.phase === "activating" || s.phase === "rebooting") && t.systemPath === e.systemPath) {
    // Still on the previous kernel either way: a switch back is enough (and restores the boot default).
    const what = s.phase === "activating" ? "activation" : "preparing the reboot";
    return beginRollback(s, e.now, cfg, `${what} failed: ${e.error}`, { markBad: true, allowReboot: false });
  }
  if ((s.phase === "rolling-back" || s.phase === "rollback-rebooting") && t.rollbackTo === e.systemPath) {
    return retryRollback(s, e.now, cfg, `rollback activation failed: ${e.error}`);
  }
  return unchanged(s);
}

function onHealthPassed(s: AgentState, e: EventOf<"health-passed">): Result {
  const t = s.target;
  if (!t) return unchanged(s);
  if (s.phase === "verifying" && t.systemPath === e.systemPath) {
    // A reboot into a new generation was a trial (it booted once, the default stayed the last good one).
    if (t.disruption === "reboot") return enterBlessing(s, { ...t, systemPath: e.systemPath }, e.now);
    return confirm(s, { ...t, systemPath: e.systemPath });
  }
  if (s.phase === "rollback-verifying" && t.rollbackTo === e.systemPath) {
    const facts = withCurrentSystem(s.facts, e.systemPath);
    return finish({ ...s, facts }, "rolled-back", s.lastError ?? "rolled back", t);
  }
  return unchanged(s);
}

function onBlessed(s: AgentState, e: EventOf<"blessed">): Result {
  const t = s.target;
  if (s.phase !== "blessing" || !t || t.systemPath !== e.systemPath) return unchanged(s);
  return confirm(s, { ...t, systemPath: e.systemPath });
}

function confirm(s: AgentState, t: Target & { systemPath: string }): Result {
  const applied = { revision: t.revision, sha256: t.sha256, systemPath: t.systemPath };
  const rebootPending = t.rebootNeeded && t.disruption !== "reboot";
  return finish({ ...s, ...withApplied(s, applied), rebootPending, lastError: null }, "confirmed", null, applied);
}

function onHealthFailed(s: AgentState, e: EventOf<"health-failed">, cfg: MachineConfig): Result {
  const t = s.target;
  if (!t) return unchanged(s);
  if (s.phase === "verifying" && t.systemPath === e.systemPath) {
    return beginRollback(s, e.now, cfg, `unhealthy after activation: ${e.reason}`, { markBad: true, allowReboot: true });
  }
  if (s.phase === "rollback-verifying" && t.rollbackTo === e.systemPath) return stuck(s, `unhealthy after rollback: ${e.reason}`);
  return unchanged(s);
}

/**
 * `nk-agent retry` on the node. With a bundle, that bundle leaves the bad history and its failed builds are forgotten;
 * without one, nothing refused is tried again. Then a stuck node runs its rollback again, and a node at rest takes the
 * desired bundle again. In flight, only the named bundle's marks change.
 */
function onOperatorRetry(s: AgentState, e: EventOf<"operator-retry">, cfg: MachineConfig): Result {
  const named = e.sha256;
  const bad = named === undefined ? s.bad : s.bad.filter((b) => b.sha256 !== named);
  const failedBuild = named !== undefined && s.failedBuild?.sha256 === named ? null : s.failedBuild;
  const cleared: AgentState = { ...s, bad, failedBuild };
  if (isStuck(s)) {
    // A disruptive apply's rollback never runs again without its kept lease (an operator released it, or it expired).
    // The node stays stuck (unverified: giving the apply up would let it rest "confirmed" on a generation that just
    // failed its health check); a pushed bundle fixes it, booted and verified under a new lease.
    if (isStuckWithoutLease(s)) {
      const note = "operator retry not run: the kept lease is gone, and a rollback that reboots or restarts never runs without one; push a bundle that fixes the node";
      return { state: bad === s.bad && failedBuild === s.failedBuild ? s : cleared, effects: [report("failed", s.target, { error: s.lastError, note })] };
    }
    // The target is in the bad history already.
    return beginRollback(cleared, e.now, cfg, s.lastError ?? "operator retry", { markBad: false, allowReboot: true });
  }
  if (isResting(s.phase)) {
    // A node that keeps its lease after its fix failed to build asks for the desired bundle again too: built anew
    // under that lease, or reported refused. Only a lease being given back waits for its acknowledgement.
    const redeliver: Effect[] = s.lease?.releasing ? [] : [{ type: "redeliver-desired" }];
    return { state: { ...cleared, lastError: null }, effects: [report(s.phase, s.applied, { note: "operator retry" }), ...redeliver] };
  }
  if (bad.length === s.bad.length && failedBuild === s.failedBuild) return unchanged(s);
  return { state: cleared, effects: [] };
}
