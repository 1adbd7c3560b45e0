// Building blocks shared by the transition handlers: enter a phase and emit what that phase needs.
import { holdsLease, type AgentState, type BadBundle, type DesiredBundle, type Generation, type Phase, type SystemFacts, type Target } from "./agent-state.js";
import type { Effect, RenewPhase } from "./effect.js";
import type { MachineConfig } from "./machine-config.js";

export interface Result {
  readonly state: AgentState;
  readonly effects: Effect[];
}

export function unchanged(state: AgentState): Result {
  return { state, effects: [] };
}

/**
 * Where an interrupted or refused apply leaves the node: on the last good generation, if any; "failed" while it
 * still holds the lease kept after a failed rollback (the node is not confirmed healthy until a fix is verified).
 */
export function restingPhase(s: AgentState): Phase {
  if (holdsLease(s)) return "failed";
  return s.applied ? "confirmed" : "idle";
}

/** The ways out for a stuck node, said in its failure reports. */
const LEASE_KEPT = "lease kept until a new bundle fixes the node or an operator acts (nk-agent retry on the node runs the rollback again; nkctl lease release <node> gives the lease up)";
/** The same after its fix failed to write or build: the rollback target is gone, a retry takes the desired bundle again. */
const LEASE_KEPT_FIX_FAILED = "lease kept until a new bundle fixes the node or an operator acts (nk-agent retry on the node takes the desired bundle again; nkctl lease release <node> gives the lease up)";

/** What a failure at rest says while the kept lease is held: an operator or a new bundle has to act. */
export function keptLeaseNote(s: AgentState): string {
  return holdsLease(s) ? `; ${LEASE_KEPT_FIX_FAILED}` : "";
}

type Ref = { readonly revision: string; readonly sha256: string } | null;

export function report(phase: Phase, ref: Ref, extra: { error?: string | null; note?: string } = {}): Effect {
  return {
    type: "report",
    phase,
    revision: ref?.revision ?? "",
    sha256: ref?.sha256 ?? "",
    ...(extra.error ? { error: extra.error } : {}),
    ...(extra.note ? { note: extra.note } : {}),
  };
}

/** Tells the coordinator which phase the held lease enters (moves its per-phase deadline), and a snapshot just saved. */
export function renew(s: AgentState, state: RenewPhase, etcdSnapshot?: string): Effect[] {
  if (!s.lease || s.lease.releasing) return [];
  return [{ type: "renew-lease", fencingToken: s.lease.fencingToken, state, ...(etcdSnapshot ? { etcdSnapshot } : {}) }];
}

export function withCurrentSystem(facts: SystemFacts | null, systemPath: string): SystemFacts | null {
  return facts ? { ...facts, currentSystem: systemPath } : null;
}

/** `next` becomes the applied generation; the one it replaces is kept as `previous` when it ran another system. */
export function withApplied(s: AgentState, next: Generation): Pick<AgentState, "applied" | "previous"> {
  return { applied: next, previous: s.applied && s.applied.systemPath !== next.systemPath ? s.applied : s.previous };
}

export function addBad(bad: readonly BadBundle[], t: Pick<Target, "sha256" | "revision">, reason: string, at: number, limit: number): BadBundle[] {
  const entry: BadBundle = { sha256: t.sha256, revision: t.revision, reason, at };
  return [...bad.filter((b) => b.sha256 !== t.sha256), entry].slice(-limit);
}

export function startApply(s: AgentState, d: DesiredBundle, now: number, cfg: MachineConfig, pre: Effect[] = []): Result {
  const target: Target = {
    revision: d.revision,
    sha256: d.sha256,
    bundleDir: `${cfg.bundleRoot}/${d.sha256}`,
    rebootPolicy: d.rebootPolicy,
    checks: d.checks,
    healthDeadlineMs: d.healthDeadlineMs > 0 ? d.healthDeadlineMs : cfg.defaultHealthDeadlineMs,
    activationTimeoutMs: d.activationTimeoutMs > 0 ? d.activationTimeoutMs : cfg.defaultActivationTimeoutMs,
    prebuilt: d.prebuilt ?? null,
    etcdSnapshot: d.etcdSnapshot || null,
    systemPath: null,
    rebootNeeded: false,
    disruption: null,
    // The last confirmed generation, else whatever ran before nk's first apply.
    rollbackTo: s.applied?.systemPath ?? s.facts?.currentSystem ?? null,
    startedAt: now,
  };
  const state: AgentState = {
    ...s,
    phase: "fetched",
    target,
    queued: null,
    deadlineAt: null,
    rebootFromBootId: null,
    attempts: { reboot: 0, rollback: 0 },
    lastError: null,
  };
  return { state, effects: [...pre, report("fetched", target), { type: "write-bundle", dir: target.bundleDir, sha256: d.sha256, files: d.files }] };
}

/** Switch (detached) with a deadline: a switch-to-configuration still running then is stopped and rolled back. */
export function enterActivating(s: AgentState, t: Target & { systemPath: string }, now: number, pre: Effect[], note?: string): Result {
  const state: AgentState = { ...s, phase: "activating", deadlineAt: now + t.activationTimeoutMs };
  return { state, effects: [...pre, report("activating", t, note ? { note } : {}), { type: "switch", systemPath: t.systemPath, sha256: t.sha256 }] };
}

export function enterVerifying(s: AgentState, t: Target & { systemPath: string }, now: number, pre: Effect[] = []): Result {
  const deadlineAt = now + t.healthDeadlineMs;
  const state: AgentState = {
    ...s,
    phase: "verifying",
    deadlineAt,
    rebootFromBootId: null,
    facts: withCurrentSystem(s.facts, t.systemPath),
  };
  return {
    state,
    effects: [...pre, ...renew(s, "verifying"), report("verifying", t), { type: "run-health", systemPath: t.systemPath, checks: t.checks, deadlineAt }],
  };
}

/** Health of the previous generation: base checks only, since the target's own checks may be what broke. */
export function enterRollbackVerifying(s: AgentState, t: Target & { rollbackTo: string }, now: number, pre: Effect[] = []): Result {
  const deadlineAt = now + t.healthDeadlineMs;
  const state: AgentState = {
    ...s,
    phase: "rollback-verifying",
    deadlineAt,
    rebootFromBootId: null,
    facts: withCurrentSystem(s.facts, t.rollbackTo),
  };
  return {
    state,
    effects: [
      ...pre,
      ...renew(s, "verifying"),
      report("rollback-verifying", t, { error: s.lastError, note: `verifying the previous generation ${t.rollbackTo}` }),
      { type: "run-health", systemPath: t.rollbackTo, checks: [], deadlineAt },
    ],
  };
}

/** A rollback that cannot be completed or verified: keep the target and the lease, wait for an operator. */
export function stuck(s: AgentState, reason: string, pre: Effect[] = []): Result {
  const state: AgentState = { ...s, phase: "failed", deadlineAt: null, rebootFromBootId: null, lastError: reason };
  const held = holdsLease(s) ? `; ${LEASE_KEPT}` : "";
  // A bundle pushed during the rollback is the fix an operator would wait for: it starts under the kept lease.
  return pickUpQueued({ state, effects: [...pre, report("failed", s.target, { error: `${reason}${held}` })] });
}

export interface RollbackOptions {
  /** Record the target in the bad history (false when it is there already). */
  readonly markBad: boolean;
  /** False when the running kernel is still the previous one, so a switch suffices. */
  readonly allowReboot: boolean;
}

export function beginRollback(s: AgentState, now: number, cfg: MachineConfig, reason: string, opts: RollbackOptions, pre: Effect[] = []): Result {
  const t = s.target;
  if (!t) return stuck(s, reason, pre);
  const base: AgentState = {
    ...s,
    bad: opts.markBad ? addBad(s.bad, t, reason, now, cfg.badHistoryLimit) : s.bad,
    lastError: reason,
    attempts: { ...s.attempts, rollback: 1 },
  };
  if (t.rollbackTo === null) return stuck(base, `${reason}; no previous generation to roll back to`, pre);
  const viaReboot = opts.allowReboot && t.disruption === "reboot" && s.facts?.bootedSystem !== t.rollbackTo;
  if (viaReboot) return rollbackReboot(base, t.rollbackTo, now, cfg, pre);
  const state: AgentState = { ...base, phase: "rolling-back", deadlineAt: now + t.activationTimeoutMs, rebootFromBootId: null };
  return { state, effects: [...pre, report("rolling-back", t, { error: reason }), { type: "rollback-switch", systemPath: t.rollbackTo }] };
}

function rollbackReboot(s: AgentState, rollbackTo: string, now: number, cfg: MachineConfig, pre: Effect[]): Result {
  const state: AgentState = {
    ...s,
    phase: "rollback-rebooting",
    rebootFromBootId: s.facts?.bootId ?? null,
    deadlineAt: now + cfg.rebootDeadlineMs,
  };
  return {
    state,
    effects: [...pre, ...renew(s, "rebooting"), report("rollback-rebooting", s.target, { error: s.lastError }), { type: "rollback-boot-and-reboot", systemPath: rollbackTo }],
  };
}

/** The rollback effect failed or did not take: try again up to the limit, then wait for an operator. */
export function retryRollback(s: AgentState, now: number, cfg: MachineConfig, error: string, pre: Effect[] = []): Result {
  const t = s.target;
  if (!t || t.rollbackTo === null) return stuck(s, error, pre);
  if (s.attempts.rollback >= cfg.maxRollbackAttempts) return stuck(s, `rollback failed after ${s.attempts.rollback} attempts: ${error}`, pre);
  const next: AgentState = { ...s, attempts: { ...s.attempts, rollback: s.attempts.rollback + 1 }, lastError: error };
  if (s.phase === "rollback-rebooting") return rollbackReboot(next, t.rollbackTo, now, cfg, pre);
  const state: AgentState = { ...next, phase: "rolling-back", deadlineAt: now + t.activationTimeoutMs, rebootFromBootId: null };
  return { state, effects: [...pre, report("rolling-back", t, { error, note: `rollback attempt ${next.attempts.rollback}` }), { type: "rollback-switch", systemPath: t.rollbackTo }] };
}

/** The detached switch (or rollback switch) of `systemPath` ran past its deadline: stop waiting, stop the unit. */
export function stopActivation(systemPath: string): Effect[] {
  return [{ type: "abort-pending" }, { type: "stop-activation", systemPath }];
}

export function activationTimedOut(t: Target): string {
  return `did not finish within ${Math.round(t.activationTimeoutMs / 1000)} s; stopped it`;
}

/** A switch that hangs (a unit that never starts, a stuck activation script) must not keep its lease for ever. */
export function activationTimeout(s: AgentState, now: number, cfg: MachineConfig): Result {
  const t = s.target;
  if (!t?.systemPath) return stuck(s, "activating without a built system", [{ type: "abort-pending" }]);
  return beginRollback(s, now, cfg, `activation ${activationTimedOut(t)}`, { markBad: true, allowReboot: false }, stopActivation(t.systemPath));
}

/** Bundles worth keeping on disk: the applied, previous and in-flight ones, and any that built the current, booted, last good, previous or rollback system. */
export function pruneBundles(s: AgentState): Effect {
  const present = (xs: readonly (string | null | undefined)[]): string[] => [...new Set(xs.filter((x): x is string => !!x))].sort();
  return {
    type: "prune-bundles",
    // The previous generation's too: a guard rollback goes back to it, and its node checks are read from its bundle.
    keepSha256s: present([s.applied?.sha256, s.previous?.sha256, s.target?.sha256]),
    keepSystems: present([s.facts?.currentSystem, s.facts?.bootedSystem, s.applied?.systemPath, s.previous?.systemPath, s.target?.rollbackTo, s.target?.systemPath]),
  };
}

/**
 * Once nothing is in flight, pick up a desired bundle that arrived meanwhile: at once, unless a lease is being given
 * back (its acknowledgement picks it up). A node at rest that keeps its lease (stuck after a failed rollback) takes
 * it as its fix, or reports it refused.
 */
export function pickUpQueued(r: Result): Result {
  const s = r.state;
  if (s.queued === null || s.lease?.releasing) return r;
  return { state: { ...s, queued: null }, effects: [...r.effects, { type: "redeliver-desired" }] };
}

/** End of an apply, good or rolled back: release the lease (the node is healthy again) and report. */
export function finish(s: AgentState, phase: "confirmed" | "rolled-back", reason: string | null, ref: Ref): Result {
  const effects: Effect[] = [report(phase, ref, { error: phase === "rolled-back" ? reason : null })];
  let lease = s.lease;
  if (lease && !lease.releasing) {
    lease = { ...lease, releasing: true };
    effects.push({ type: "release-lease", fencingToken: lease.fencingToken, success: phase === "confirmed", reason: reason ?? phase });
  }
  const state: AgentState = { ...s, phase, lease, target: null, deadlineAt: null, rebootFromBootId: null };
  return pickUpQueued({ state, effects });
}

/** A trial boot of the target: the last good (rollback) system stays the default until the new one is blessed. */
export function bootAndReboot(t: Target & { systemPath: string }): Effect {
  return { type: "boot-and-reboot", systemPath: t.systemPath, sha256: t.sha256, fallback: t.rollbackTo };
}

/** Health passed after a trial boot: make the generation the default before confirming (bounded like an activation). */
export function enterBlessing(s: AgentState, t: Target & { systemPath: string }, now: number, pre: Effect[] = []): Result {
  const state: AgentState = { ...s, phase: "blessing", deadlineAt: now + t.activationTimeoutMs };
  return { state, effects: [...pre, report("blessing", t, { note: `healthy after a trial boot; making ${t.systemPath} the boot default` }), { type: "bless", systemPath: t.systemPath }] };
}

/** Still on the old boot in `rebooting`: ask again, then give up and switch back. */
export function rebootAgain(s: AgentState, now: number, cfg: MachineConfig, why: string): Result {
  const t = s.target;
  if (!t?.systemPath) return stuck(s, why);
  if (s.attempts.reboot >= cfg.maxRebootAttempts) {
    return beginRollback(s, now, cfg, `${why} after ${s.attempts.reboot} attempts`, { markBad: true, allowReboot: false });
  }
  const state: AgentState = {
    ...s,
    rebootFromBootId: s.facts?.bootId ?? s.rebootFromBootId,
    deadlineAt: now + cfg.rebootDeadlineMs,
    attempts: { ...s.attempts, reboot: s.attempts.reboot + 1 },
  };
  return { state, effects: [report("rebooting", t, { note: `${why}; asking again` }), bootAndReboot({ ...t, systemPath: t.systemPath })] };
}

/** Drop the target before anything was changed on the machine, give back any lease, rest on the last good generation. */
export function abandon(s: AgentState, error: string, pre: Effect[]): Result {
  const lease = s.lease && !s.lease.releasing ? { ...s.lease, releasing: true } : s.lease;
  const phase = restingPhase({ ...s, lease });
  const effects: Effect[] = [...pre, report(phase, s.target, { error })];
  if (lease && lease !== s.lease) effects.push({ type: "release-lease", fencingToken: lease.fencingToken, success: false, reason: error });
  // A bundle queued meanwhile is picked up once the release is acknowledged, or now when no lease is left.
  return pickUpQueued({ state: { ...s, phase, lease, target: null, deadlineAt: null, lastError: error }, effects });
}
