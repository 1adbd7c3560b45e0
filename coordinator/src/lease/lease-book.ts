// The lease manager's in-memory picture of held leases, the queue and the rollout, read back from the store.
import type { Role } from "../../../shared/src/inventory/index.js";
import type { LeaseRecord, LeaseRequest, RolloutRecord, Store } from "../store/index.js";
import type { LeaseView } from "../status/index.js";
import type { LeaseSettings, LeaseSettingsSource } from "./lease-deps.js";
import type { LeaseStreams } from "./lease-streams.js";
import { fleetLockView, heldView, queuedView } from "./lease-views.js";

/**
 * The store stays the truth; this copy is refreshed inside every critical section so that the
 * synchronous views (status page, nkctl) and the agent streams can be answered at once.
 */
export class LeaseBook {
  held = new Map<string, LeaseRecord>();
  queue: LeaseRequest[] = [];
  rollout: RolloutRecord = {};
  /** Why each queued node waits, from the last grant decision. */
  waiting = new Map<string, string>();
  headReason = "";
  /** Per held lease: what went wrong in its last step (drain failed, not back yet). */
  readonly notes = new Map<string, string>();
  /** Per held lease: the holder has not renewed for a while. */
  readonly silent = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly settings: LeaseSettingsSource,
    readonly streams: LeaseStreams,
  ) {}

  async refresh(): Promise<void> {
    const [leases, queue, rollout] = await Promise.all([this.store.listLeases(), this.store.listQueue(), this.store.getRollout()]);
    this.held = new Map(leases.map((l) => [l.node, l]));
    this.queue = queue;
    this.rollout = rollout;
    for (const map of [this.notes, this.silent]) for (const node of [...map.keys()]) if (!this.held.has(node)) map.delete(node);
  }

  current(): LeaseSettings | null {
    return this.settings.current();
  }

  roleOf(node: string): Role | undefined {
    return this.settings.current()?.roles.get(node);
  }

  setHeld(lease: LeaseRecord): void {
    this.held.set(lease.node, lease);
    this.queue = this.queue.filter((r) => r.node !== lease.node);
  }

  dropHeld(node: string): void {
    this.held.delete(node);
    this.notes.delete(node);
    this.silent.delete(node);
  }

  noteOf(node: string): string {
    return [this.notes.get(node), this.silent.get(node)].filter((n) => n).join("; ");
  }

  /** nk's leases in grant order, then the FleetLock hosts' slots in the order taken. */
  heldViews(): LeaseView[] {
    const leases = [...this.held.values()].sort((a, b) => a.fencingToken - b.fencingToken).map((l) => heldView(l, this.roleOf(l.node), this.noteOf(l.node)));
    return [...leases, ...(this.rollout.fleetLocks ?? []).map(fleetLockView)];
  }

  queueViews(): LeaseView[] {
    return this.queue.map((r, i) => queuedView(r, i + 1, this.waiting.get(r.node) ?? this.headReason, this.roleOf(r.node)));
  }

  /** The node's held lease or queued request, as its stream shows it. */
  viewOf(node: string): LeaseView | undefined {
    const lease = this.held.get(node);
    if (lease) return heldView(lease, this.roleOf(node), this.noteOf(node));
    const index = this.queue.findIndex((r) => r.node === node);
    const request = this.queue[index];
    return request && queuedView(request, index + 1, this.waiting.get(node) ?? this.headReason, this.roleOf(node));
  }

  /** Sends every subscribed node its current view (listeners hear only changes). */
  publishAll(): void {
    for (const node of this.streams.nodes()) {
      const view = this.viewOf(node);
      if (view) this.streams.publish(node, view);
    }
  }
}
