// The operator's rollout controls (pause, resume, approve), each decided inside the lease manager's serial section.
import type { RolloutRecord } from "../store/index.js";
import type { LeaseCore } from "./lease-return.js";

export function pauseRollout(c: LeaseCore, reason: string): Promise<RolloutRecord> {
  return c.serial.run(async () => {
    const rollout = await c.deps.store.pauseRollout(reason);
    await c.deps.store.appendEvent({ kind: "rollout-paused", message: `paused by an operator: ${reason}` });
    c.deps.log.info({ reason }, "rollout paused");
    await c.engine.evaluateLocked({ trigger: "admin", atMs: c.deps.now() });
    return rollout;
  });
}

/** Clears both a pause and a halt: the operator says disruptive steps may continue. */
export function resumeRollout(c: LeaseCore): Promise<RolloutRecord> {
  return c.serial.run(async () => {
    const atMs = c.deps.now();
    const before = await c.deps.store.getRollout();
    await c.deps.store.clearHalt();
    const rollout = await c.deps.store.resumeRollout();
    const was = [before.paused && `paused: ${before.paused.reason}`, before.halted && `halted: ${before.halted.reason}`].filter(Boolean).join("; ");
    await c.deps.store.appendEvent({ kind: "rollout-resumed", message: `resumed by an operator${was ? ` (was ${was})` : ""}` });
    c.deps.log.info("rollout resumed");
    await c.engine.evaluateLocked({ trigger: "resume", atMs });
    return rollout;
  });
}

/** The operator lets the rest of the revision go on after (or instead of) its canaries. */
export function approveRollout(c: LeaseCore, who: string): Promise<RolloutRecord> {
  return c.serial.run(async () => {
    await c.book.refresh();
    await c.engine.canary.approve(c.deps.settings.current(), who);
    await c.engine.evaluateLocked({ trigger: "admin", atMs: c.deps.now() });
    return c.book.rollout;
  });
}
