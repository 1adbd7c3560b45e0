// The release path of a lease: the holder's return is checked (or a failed holder uncordoned) before the slot goes back.
import type { LeaseRecord } from "../store/index.js";
import type { GrantEngine } from "./grant-engine.js";
import type { LeaseBook } from "./lease-book.js";
import { runHook } from "./drain-runner.js";
import { endedView, heldView } from "./lease-views.js";
import { fencedError, leaseOf } from "./fencing.js";
import type { LeaseManagerDeps } from "./lease-deps.js";
import { failedHaltReason } from "./lease-phases.js";
import type { SerialQueue } from "./serial-queue.js";

/** The lease manager's parts its release path and rollout controls work with. */
export interface LeaseCore {
  readonly deps: LeaseManagerDeps;
  readonly book: LeaseBook;
  readonly serial: SerialQueue;
  readonly engine: GrantEngine;
  emitChange(): void;
}

/** The node's held lease, if `fencingToken` is its token; else a fencing error. */
export async function liveLease(deps: LeaseManagerDeps, node: string, fencingToken: number): Promise<LeaseRecord> {
  const lease = await deps.store.getLease(node);
  if (!lease || lease.fencingToken !== fencingToken) throw fencedError(node, fencingToken, lease);
  return lease;
}

/**
 * Releases once: a successful holder must be back (afterReturn), a failed one is uncordoned (afterFailure) and halts
 * the rollout; each refusal keeps the lease and says why.
 */
export async function returnLease(c: LeaseCore, node: string, fencingToken: number, success: boolean, reason: string): Promise<boolean> {
  const lease = await c.serial.run(() => liveLease(c.deps, node, fencingToken));
  // A lease released before draining disrupted nothing: there is nothing to check or uncordon.
  if (success && lease.state !== "granted") {
    const outcome = await runHook(() => c.deps.hooks.afterReturn(lease));
    if (!outcome.ok) {
      await c.serial.run(async () => {
        c.book.notes.set(node, `not back yet: ${outcome.reason}`);
        c.deps.log.info({ node, reason: outcome.reason }, "release refused: node not back yet");
        c.book.publishAll();
        c.emitChange();
      });
      return false;
    }
  }
  // A failed holder is back on its last good generation: the slot goes back only with our cordon lifted.
  const undo = !success && lease.cordonedByUs ? await runHook(() => c.deps.hooks.afterFailure(lease)) : null;
  if (undo && !undo.ok) {
    await c.serial.run(async () => {
      if (!c.book.rollout.halted) await c.engine.halt(failedHaltReason(node, reason), lease.revision, node);
      c.book.notes.set(node, `failed; cannot uncordon it yet: ${undo.reason}`);
      c.deps.log.warn({ node, reason: undo.reason }, "release refused: cannot uncordon the failed node yet");
      c.book.publishAll();
      c.emitChange();
    });
    return false;
  }
  return c.serial.run(async () => {
    const { store } = c.deps;
    const now = c.deps.now();
    // Halt first, so that no grant can slip in between the release and the halt; a halt in place (e.g. the drain's,
    // naming the pods that blocked it) keeps its more precise reason.
    if (!success && !(await store.getRollout()).halted) await c.engine.halt(failedHaltReason(node, reason), lease.revision, node);
    const confirm = success ? c.engine.canary.confirmEdit(c.deps.settings.current()) : undefined;
    const released = leaseOf(await store.releaseLease(node, fencingToken, confirm?.edit), node, fencingToken);
    c.book.dropHeld(node);
    const cordon = undo ? `; ${undo.reason}` : "";
    await c.engine.canary.committed(confirm, node);
    await store.appendEvent({
      kind: success ? "lease-released" : "lease-released-failed",
      node,
      revision: released.revision,
      message: `lease #${fencingToken} released${success ? "" : ` after a failure: ${reason}`}${cordon}`,
    });
    c.deps.log.info({ node, fencingToken, success }, "lease released");
    if (success) await c.engine.liftDeadlineHalt(node, `${node} returned and was released`);
    c.book.streams.publish(node, endedView(heldView(released, c.book.roleOf(node)), "released", reason));
    await c.engine.evaluateLocked({ trigger: "release", atMs: now });
    return true;
  });
}
