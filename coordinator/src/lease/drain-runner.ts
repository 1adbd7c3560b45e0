// Runs the drain hook once a holder announces "draining" and records the outcome on its lease.
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { LeasePatch, LeaseRecord } from "../store/index.js";
import { leaseOf } from "./fencing.js";
import type { GrantEngine } from "./grant-engine.js";
import type { LeaseBook } from "./lease-book.js";
import type { DisruptionOutcome, LeaseManagerDeps } from "./lease-deps.js";
import { phaseBudgetMs, phaseName, type PhaseTimeouts } from "./lease-phases.js";
import type { SerialQueue } from "./serial-queue.js";

/** Hooks talk to Kubernetes: a throw is an outcome like any other failure, never a crash. */
export async function runHook(fn: () => Promise<DisruptionOutcome>): Promise<DisruptionOutcome> {
  try {
    return await fn();
  } catch (err) {
    return { ok: false, reason: errorMessage(err) };
  }
}

export class DrainRunner {
  /** By fencing token, so a repeated "draining" does not start a second drain. */
  private readonly running = new Map<number, Promise<void>>();

  constructor(
    private readonly deps: LeaseManagerDeps,
    private readonly book: LeaseBook,
    private readonly serial: SerialQueue,
    private readonly engine: GrantEngine,
    private readonly timeouts: PhaseTimeouts,
    private readonly changed: () => void,
  ) {}

  /** Outside any critical section: the hook may take minutes. */
  start(lease: LeaseRecord): void {
    const token = lease.fencingToken;
    if (this.running.has(token)) return;
    const run = this.drain(lease)
      .catch((err: unknown) => this.deps.log.error({ err, node: lease.node }, "recording the drain outcome failed"))
      .finally(() => this.running.delete(token));
    this.running.set(token, run);
  }

  inFlight(): Array<Promise<void>> {
    return [...this.running.values()];
  }

  private async drain(lease: LeaseRecord): Promise<void> {
    const { node, fencingToken } = lease;
    const outcome = await runHook(() => this.deps.hooks.beforeDisruption(lease));
    // Deposed mid-drain: no undo, no halt, no record; the new leader re-runs the drain of a lease still "draining".
    if (outcome.deposed) return;
    // Fail safe: a node whose drain timed out or was refused is never rebooted, and our cordon is lifted now, not
    // only when (or if) its holder gives the lease back. An operator's cordon stays (afterFailure keeps it).
    const cordon = { ...lease, cordonedByUs: outcome.cordonedByUs ?? lease.cordonedByUs, nodeWasCordoned: outcome.nodeWasCordoned ?? lease.nodeWasCordoned };
    const undo = !outcome.ok ? await runHook(() => this.deps.hooks.afterFailure(cordon)) : null;
    await this.serial.run(async () => {
      const current = await this.deps.store.getLease(node);
      if (current?.fencingToken !== fencingToken) return; // released or replaced meanwhile
      const patch: LeasePatch = {};
      if (outcome.cordonedByUs !== undefined) patch.cordonedByUs = outcome.cordonedByUs;
      if (outcome.nodeWasCordoned !== undefined) patch.nodeWasCordoned = outcome.nodeWasCordoned;
      if (undo?.ok && cordon.cordonedByUs && !cordon.nodeWasCordoned) patch.cordonedByUs = false;
      // The uncordon found a cordon not this lease's (an operator's): it stays, and the lease says so from now on.
      if (undo?.ok && undo.nodeWasCordoned) patch.nodeWasCordoned = true;
      const settings = this.deps.settings.current();
      // A holder that already moved on (rebooting) keeps its state; only the cordon facts are recorded.
      if (outcome.ok && current.state === "draining") {
        patch.state = "drained";
        patch.phase = phaseName("drained");
        if (settings) patch.phaseDeadlineMs = this.deps.now() + phaseBudgetMs("drained", settings.rollout, this.timeouts);
      }
      const next = leaseOf(await this.deps.store.updateLease(node, fencingToken, patch), node, fencingToken);
      this.book.setHeld(next);
      if (outcome.ok) {
        this.book.notes.delete(node);
        await this.deps.store.appendEvent({ kind: "lease-drained", node, revision: next.revision, message: outcome.reason || "drained" });
      } else {
        const after = !undo?.ok ? `could not be uncordoned: ${undo?.reason}` : cordon.nodeWasCordoned ? "stays cordoned (an operator cordoned it)" : undo.nodeWasCordoned ? `stays cordoned (${undo.reason})` : "is uncordoned";
        this.book.notes.set(node, `drain failed: ${outcome.reason}`);
        await this.deps.store.appendEvent({ kind: "lease-drain-failed", node, revision: next.revision, message: `${outcome.reason}; ${node} is not rebooted and ${after}` });
        await this.engine.halt(`drain of ${node} failed: ${outcome.reason}; ${node} was not rebooted and ${after}`, next.revision, node);
      }
      this.book.publishAll();
      this.changed();
      await this.engine.evaluateLocked({ trigger: "drain", atMs: this.deps.now() });
    });
  }
}
