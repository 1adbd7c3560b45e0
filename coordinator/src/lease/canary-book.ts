// Records the canary stage of the rollout's revision: picks, confirmations, waiting for and giving approval.
import { NkError } from "../../../shared/src/errors/index.js";
import type { CanarySettings } from "../../../shared/src/inventory/index.js";
import type { CanaryMark, CanaryRecord } from "../store/index.js";
import { canaryConfirm, canaryEdit, canaryPick, type CanaryDecider, type CanaryEdit } from "./canary-edits.js";
import { canaryGate, canaryRecordFor, type CanaryGate } from "./canary-gate.js";
import type { LeaseBook } from "./lease-book.js";
import type { LeaseManagerDeps, LeaseSettings } from "./lease-deps.js";

export class CanaryBook {
  constructor(
    private readonly deps: Pick<LeaseManagerDeps, "store" | "log" | "now">,
    private readonly book: LeaseBook,
  ) {}

  gate(settings: LeaseSettings | null): CanaryGate | null {
    return canaryGate(settings?.rollout.canary ?? null, this.book.rollout.canary, this.book.rollout.revision, this.deps.now());
  }

  /** The stage as the status page shows it; empty without a canary. */
  stage(): string {
    return this.gate(this.book.current())?.stage ?? "";
  }

  /** For a grant: count mode's first nodes granted in the canary stage become the canaries, in the grant's own step. */
  pickEdit(settings: LeaseSettings | null): CanaryEdit | undefined {
    return this.edit(settings, canaryPick);
  }

  /** For a successful release: a canary back healthy is confirmed in the release's own step. */
  confirmEdit(settings: LeaseSettings | null): CanaryEdit | undefined {
    return this.edit(settings, canaryConfirm);
  }

  /** After the grant or release committed: the book takes its canary change, then the event (history only) is written. */
  async committed(edit: CanaryEdit | undefined, node: string): Promise<void> {
    const change = edit?.change();
    if (!change) return;
    this.book.rollout = { ...this.book.rollout, canary: change.record };
    await this.event(change.kind, change.message, node);
  }

  /** Once per revision: the event that the rollout waits for an operator. */
  async noteWaiting(gate: CanaryGate | null): Promise<void> {
    if (gate?.stage !== "awaiting-approval") return;
    if (this.current().waitingSinceMs !== undefined) return;
    await this.mark({ waitingSinceMs: this.deps.now() });
    await this.event("canary-awaiting-approval", `canaries (${gate.canaries.join(", ")}) confirmed; the rollout waits for nkctl rollout approve`);
  }

  /** The operator's word: the rest of the revision may go on (also skips a canary stage still running). */
  async approve(settings: LeaseSettings | null, who: string): Promise<void> {
    const gate = this.gate(settings);
    if (!gate) throw new NkError("INVALID_ARGUMENT", "nothing to approve: the inventory has no rollout.canary (or no revision was adopted yet)");
    if (gate.stage === "done") throw new NkError("INVALID_ARGUMENT", `nothing to approve: revision ${this.book.rollout.revision?.slice(0, 12)} is already past its canary stage`);
    const revision = this.book.rollout.revision ?? "";
    await this.mark({ approvedAtMs: this.deps.now() });
    if (this.book.rollout.revision !== revision) throw new NkError("INVALID_ARGUMENT", `not approved: the rollout moved from ${revision.slice(0, 12)} to ${this.book.rollout.revision?.slice(0, 12)} meanwhile; look at the new revision's stage and approve again if you mean it`);
    await this.event("rollout-approved", `approved by ${who} (stage was ${gate.stage})`);
    this.deps.log.info({ stage: gate.stage }, "rollout approved");
  }

  private edit(settings: LeaseSettings | null, decider: (spec: CanarySettings, now: number) => CanaryDecider): CanaryEdit | undefined {
    const spec = settings?.rollout.canary;
    return spec ? canaryEdit(decider(spec, this.deps.now())) : undefined;
  }

  private current(): CanaryRecord {
    const revision = this.book.rollout.revision ?? "";
    return canaryRecordFor(this.book.rollout.canary, revision);
  }

  /** Merged into the stored record in the store's own step: a whole copy could undo a pick or confirmation. */
  private async mark(mark: CanaryMark): Promise<void> {
    this.book.rollout = await this.deps.store.markCanary(this.book.rollout.revision ?? "", mark);
  }

  private async event(kind: string, message: string, node?: string): Promise<void> {
    await this.deps.store.appendEvent({ kind, ...(node ? { node } : {}), revision: this.book.rollout.revision ?? "", message });
  }
}
