// agent-started: decide from the persisted phase and the observed machine what to redo, never twice.
import { isResting, isStuck, type AgentState, type Phase } from "./agent-state.js";
import type { EventOf, GuardVerdict } from "./agent-event.js";
import type { Effect } from "./effect.js";
import type { MachineConfig } from "./machine-config.js";
import {
  activationTimedOut,
  activationTimeout,
  addBad,
  beginRollback,
  enterRollbackVerifying,
  enterVerifying,
  pickUpQueued,
  rebootAgain,
  renew,
  report,
  restingPhase,
  retryRollback,
  stopActivation,
  stuck,
  type Result,
} from "./steps.js";

/** Phases in which the target's system may be running: a guard rollback from it ends the apply. */
const ON_TARGET: ReadonlySet<Phase> = new Set<Phase>(["activating", "rebooting", "verifying", "blessing"]);

/**
 * The rules: the same lease is kept (its fencing token is presented again), a switch whose
 * result is visible (current system = target) is not redone, a reboot whose new boot id is
 * visible is not redone, and health is always verified before confirming.
 */
export function resume(prev: AgentState, e: EventOf<"agent-started">, cfg: MachineConfig): Result {
  const observed: AgentState = {
    ...prev,
    facts: { bootId: e.bootId, currentSystem: e.currentSystem, bootedSystem: e.bootedSystem, observedAt: e.now },
  };
  const followed = e.guardRolledBack ? followGuard(observed, e, e.guardRolledBack, cfg) : observed;
  if ("effects" in followed) return followed;
  const s = followed;
  const t = s.target;
  const rebooted = s.rebootFromBootId !== e.bootId;
  if (isResting(s.phase) || !t) return resumeResting(s, e);
  switch (s.phase) {
    case "fetched":
      // The files are not persisted; the coordinator resends the desired bundle on reconnect.
      return { state: { ...s, phase: restingPhase(s), target: null }, effects: [report(restingPhase(s), s.applied, { note: "apply interrupted before build" }), { type: "redeliver-desired" }] };
    case "building":
      return { state: s, effects: [report("building", t, { note: "resumed" }), { type: "build", bundleDir: t.bundleDir, sha256: t.sha256, prebuilt: t.prebuilt ?? null }] };
    case "waiting-lease":
      if (!t.disruption) return { state: { ...s, phase: restingPhase(s), target: null }, effects: [] };
      return {
        state: s,
        effects: [
          report("waiting-lease", t, { note: "resumed" }),
          { type: "request-lease", kind: t.disruption, revision: t.revision, sha256: t.sha256, reason: "resumed after agent restart", fencingToken: s.lease?.fencingToken ?? null },
        ],
      };
    case "snapshotting":
      // Saved again under the same name (k3s adds a timestamp): nothing was disrupted yet.
      if (!s.lease || !t.etcdSnapshot) return pickUpQueued({ state: { ...s, phase: restingPhase(s), target: null }, effects: [report(restingPhase(s), t, { error: "lease lost while snapshotting" })] });
      return { state: s, effects: [report("snapshotting", t, { note: "resumed" }), { type: "etcd-snapshot", name: t.etcdSnapshot, fencingToken: s.lease.fencingToken }] };
    case "draining":
      if (!s.lease) return pickUpQueued({ state: { ...s, phase: restingPhase(s), target: null }, effects: [report(restingPhase(s), t, { error: "lease lost while draining" })] });
      return { state: s, effects: [...renew(s, "draining"), report("draining", t, { note: "resumed" }), { type: "drain", fencingToken: s.lease.fencingToken }] };
    case "activating":
      if (t.systemPath === null) return stuck(s, "activating without a built system");
      if (e.currentSystem === t.systemPath) return enterVerifying(s, { ...t, systemPath: t.systemPath }, e.now);
      // The deadline holds across restarts: a switch that hung before the restart is stopped, not joined for ever.
      if (s.deadlineAt !== null && e.now >= s.deadlineAt) return activationTimeout(s, e.now, cfg);
      return {
        state: { ...s, deadlineAt: s.deadlineAt ?? e.now + t.activationTimeoutMs },
        effects: [report("activating", t, { note: "resumed" }), { type: "switch", systemPath: t.systemPath, sha256: t.sha256 }],
      };
    case "rebooting":
      if (t.systemPath === null) return stuck(s, "rebooting without a built system");
      if (!rebooted) return rebootAgain(s, e.now, cfg, "the agent restarted before the reboot");
      if (e.bootedSystem === t.systemPath) return enterVerifying(s, { ...t, systemPath: t.systemPath }, e.now);
      // A trial boot: the new entry was booted once and the default stayed the last good generation, so coming back
      // on anything else means the new one never reached the agent (kernel panic, hang, watchdog or manual reset).
      // Restore the profile and boot default to the running system; the bundle is not tried again.
      return beginRollback(s, e.now, cfg, `did not boot: came back on ${e.bootedSystem} instead of ${t.systemPath}`, { markBad: true, allowReboot: false });
    case "verifying":
      if (t.systemPath === null || e.currentSystem !== t.systemPath) {
        return beginRollback(s, e.now, cfg, `running ${e.currentSystem} instead of ${t.systemPath ?? "the target"}`, { markBad: true, allowReboot: true });
      }
      if (s.deadlineAt !== null && e.now >= s.deadlineAt) return beginRollback(s, e.now, cfg, "health deadline passed", { markBad: true, allowReboot: true });
      return {
        state: s,
        effects: [...renew(s, "verifying"), report("verifying", t, { note: "resumed" }), { type: "run-health", systemPath: t.systemPath, checks: t.checks, deadlineAt: s.deadlineAt ?? e.now + t.healthDeadlineMs }],
      };
    case "blessing":
      if (t.systemPath === null || e.currentSystem !== t.systemPath) {
        return beginRollback(s, e.now, cfg, `running ${e.currentSystem} instead of ${t.systemPath ?? "the target"}`, { markBad: true, allowReboot: true });
      }
      // Idempotent: installing the boot entries with this system as the default again.
      return { state: s, effects: [...renew(s, "verifying"), report("blessing", t, { note: "resumed" }), { type: "bless", systemPath: t.systemPath }] };
    case "rolling-back":
      if (t.rollbackTo === null) return stuck(s, "rolling back without a previous generation");
      if (e.currentSystem === t.rollbackTo) return enterRollbackVerifying(s, { ...t, rollbackTo: t.rollbackTo }, e.now);
      if (s.deadlineAt !== null && e.now >= s.deadlineAt) return retryRollback(s, e.now, cfg, `rollback activation ${activationTimedOut(t)}`, stopActivation(t.rollbackTo));
      return {
        state: { ...s, deadlineAt: s.deadlineAt ?? e.now + t.activationTimeoutMs },
        effects: [report("rolling-back", t, { error: s.lastError, note: "resumed" }), { type: "rollback-switch", systemPath: t.rollbackTo }],
      };
    case "rollback-rebooting":
      if (t.rollbackTo === null) return stuck(s, "rolling back without a previous generation");
      if (!rebooted) return retryRollback(s, e.now, cfg, "the agent restarted before the rollback reboot");
      if (e.bootedSystem === t.rollbackTo) return enterRollbackVerifying(s, { ...t, rollbackTo: t.rollbackTo }, e.now);
      return stuck(s, `rollback reboot booted ${e.bootedSystem} instead of ${t.rollbackTo}`);
    case "rollback-verifying":
      if (t.rollbackTo === null) return stuck(s, "rolling back without a previous generation");
      if (s.deadlineAt !== null && e.now >= s.deadlineAt) return stuck(s, "unhealthy after rollback: health deadline passed");
      return {
        state: s,
        effects: [...renew(s, "verifying"), report("rollback-verifying", t, { note: "resumed" }), { type: "run-health", systemPath: t.rollbackTo, checks: [], deadlineAt: s.deadlineAt ?? e.now + t.healthDeadlineMs }],
      };
    default:
      return resumeResting(s, e);
  }
}

/**
 * The self-update guard switched the machine from `guard.from` back to what runs now, because that system's agent
 * never came up. An apply on that system ends in its rollback, never a second switch. A confirmed generation on it
 * is refused and the node goes back to the one confirmed before, if that is what runs (else to none known); an apply
 * of a later bundle goes on, rolling back to what runs. A note about a system nk did not apply is the last error.
 * Returns the result when nothing more is to be resumed, else the state to resume.
 */
function followGuard(s: AgentState, e: EventOf<"agent-started">, guard: GuardVerdict, cfg: MachineConfig): Result | AgentState {
  const reason = `self-update guard rolled back ${guard.from}: ${guard.reason}`;
  const t = s.target;
  if (t && t.systemPath === guard.from && ON_TARGET.has(s.phase)) return beginRollback(s, e.now, cfg, reason, { markBad: true, allowReboot: true });
  const gone = s.applied;
  if (gone?.systemPath !== guard.from) return isResting(s.phase) && !isStuck(s) ? { ...s, lastError: reason } : s;
  const before = s.previous?.systemPath === e.currentSystem ? s.previous : null;
  const back: AgentState = {
    ...s,
    applied: before,
    previous: null,
    rebootPending: false,
    bad: addBad(s.bad, gone, reason, e.now, cfg.badHistoryLimit),
    target: t && t.rollbackTo === guard.from ? { ...t, rollbackTo: e.currentSystem } : t,
  };
  // An apply under way, or a stuck node, keeps its own error: the guard's reason is on the refused bundle's entry.
  if (!isResting(s.phase) || isStuck(s)) return back;
  const note = before ? undefined : `running ${e.currentSystem}, which nk did not confirm before ${gone.revision}`;
  return resumeResting({ ...back, phase: "rolled-back", lastError: reason }, e, report("rolled-back", gone, { error: reason, ...(note ? { note } : {}) }));
}

/** Nothing in flight: finish a lease release that was not acknowledged, report where the node is (or `opening`). */
function resumeResting(s: AgentState, e: EventOf<"agent-started">, opening?: Effect): Result {
  const drift = s.applied && e.currentSystem !== s.applied.systemPath ? `running ${e.currentSystem}, not the applied ${s.applied.systemPath}` : undefined;
  const effects: Effect[] = [opening ?? report(s.phase, isStuck(s) ? s.target : s.applied, { error: s.lastError, ...(drift ? { note: drift } : {}) })];
  if (s.lease?.releasing) {
    effects.push({ type: "release-lease", fencingToken: s.lease.fencingToken, success: s.phase === "confirmed", reason: `${s.phase} (resent after agent restart)` });
    return { state: s, effects };
  }
  return pickUpQueued({ state: s, effects });
}
