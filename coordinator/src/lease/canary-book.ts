// Records the canary stage of the rollout's revision: picks, confirmations, waiting for and giving approval.
import { NkError } from "../../../shared/src/errors/index.js";
import type { CanaryRecord } from "../store/index.js";
import { canaryGate, canaryRecordOf, type CanaryGate } from "./canary-gate.js";
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

  /** Count mode: the first nodes granted in the canary stage become the canaries. */
  async notePicks(gate: CanaryGate | null, granted: readonly string[]): Promise<void> {
    if (gate?.stage !== "canary" || gate.openSlots === 0) return;
    const picks = granted.filter((n) => !gate.canaries.includes(n)).slice(0, gate.openSlots);
    if (picks.length === 0) return;
    const record = this.current();
    await this.save({ ...record, nodes: [...record.nodes, ...picks] });
    await this.event("canary-picked", `${picks.join(", ")} ${picks.length === 1 ? "is a canary" : "are canaries"} of this revision`);
  }

  /** A canary came back healthy on the rollout's revision; the soak starts when the last one does. */
  async noteConfirmed(settings: LeaseSettings | null, node: string, revision: string): Promise<void> {
    const gate = this.gate(settings);
    if (gate?.stage !== "canary" || revision !== this.book.rollout.revision || !gate.canaries.includes(node)) return;
    const record = this.current();
    if (record.confirmed.includes(node)) return;
    const confirmed = [...record.confirmed, node];
    const canaries = settings!.rollout.canary!.nodes.length > 0 ? settings!.rollout.canary!.nodes : record.nodes;
    const wanted = settings!.rollout.canary!.nodes.length || settings!.rollout.canary!.count;
    const all = canaries.length >= wanted && canaries.every((c) => confirmed.includes(c));
    await this.save({ ...record, confirmed, ...(all ? { confirmedAtMs: this.deps.now() } : {}) });
    await this.event("canary-confirmed", all ? `every canary is back and healthy (${confirmed.join(", ")})` : `canary ${node} is back and healthy`, node);
  }

  /** Once per revision: the event that the rollout waits for an operator. */
  async noteWaiting(gate: CanaryGate | null): Promise<void> {
    if (gate?.stage !== "awaiting-approval") return;
    const record = this.current();
    if (record.waitingSinceMs !== undefined) return;
    await this.save({ ...record, waitingSinceMs: this.deps.now() });
    await this.event("canary-awaiting-approval", `canaries (${gate.canaries.join(", ")}) confirmed; the rollout waits for nkctl rollout approve`);
  }

  /** The operator's word: the rest of the revision may go on (also skips a canary stage still running). */
  async approve(settings: LeaseSettings | null, who: string): Promise<void> {
    const gate = this.gate(settings);
    if (!gate) throw new NkError("INVALID_ARGUMENT", "nothing to approve: the inventory has no rollout.canary (or no revision was adopted yet)");
    if (gate.stage === "done") throw new NkError("INVALID_ARGUMENT", `nothing to approve: revision ${this.book.rollout.revision?.slice(0, 12)} is already past its canary stage`);
    await this.save({ ...this.current(), approvedAtMs: this.deps.now() });
    await this.event("rollout-approved", `approved by ${who} (stage was ${gate.stage})`);
    this.deps.log.info({ stage: gate.stage }, "rollout approved");
  }

  private current(): CanaryRecord {
    const revision = this.book.rollout.revision ?? "";
    return canaryRecordOf(this.book.rollout.canary, revision) ?? { revision, nodes: [], confirmed: [] };
  }

  private async save(record: CanaryRecord): Promise<void> {
    this.book.rollout = await this.deps.store.setCanary(record);
  }

  private async event(kind: string, message: string, node?: string): Promise<void> {
    await this.deps.store.appendEvent({ kind, ...(node ? { node } : {}), revision: this.book.rollout.revision ?? "", message });
  }
}
