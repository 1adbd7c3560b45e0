// Runs the lease manager only while this coordinator leads; followers refuse lease calls so agents fail over.
import { NkError } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import type { Leadership } from "../leader/index.js";
import type { LeaseView } from "../status/index.js";
import type { RolloutRecord, Store } from "../store/index.js";
import { recordHalt } from "./grant-engine.js";
import type { GrantTrigger } from "./lease-deps.js";
import { failedHaltReason } from "./lease-phases.js";
import type { LeaseManager } from "./lease-manager.js";
import type { FleetLockAnswer, FleetLockRequest } from "./fleet-locks.js";
import { FollowerView } from "./follower-view.js";
import type { AcquireRequest, HolderPhase, LeaseService } from "./lease-service.js";

export class LeaderGatedLeases implements LeaseService {
  private manager: LeaseManager | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly follower: FollowerView;
  private offEvents: (() => void) | null = null;
  private transition: Promise<void> = Promise.resolve();
  private offLeadership: (() => void) | null = null;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly deps: {
      readonly leadership: Leadership;
      /** A fresh manager per term: a new leader re-reads every lease from the store. */
      readonly createManager: () => LeaseManager;
      readonly store: Store;
      readonly log: Logger;
      /** Pause before starting the manager again after a failed start (default 1 s). */
      readonly retryMs?: number;
    },
  ) {
    this.follower = new FollowerView({ store: deps.store, log: deps.log, changed: () => this.emit() });
  }

  async start(): Promise<void> {
    this.offLeadership = this.deps.leadership.onChange(() => void this.follow());
    // Every coordinator hears every journal event; a follower reads the leader's records again after each. The leader
    // decides again after any coordinator's adoption: desired bundles in the store changed, and with them which queued
    // requests are stale (a restarted coordinator adopting its older main first left one out until the next trigger).
    this.offEvents = this.deps.store.onEvent((event) => {
      if (!this.manager) void this.follower.refresh();
      else if (event.kind === "revision-adopted") this.manager.reevaluate("settings");
    });
    await this.follow();
  }

  /**
   * Starts or stops the manager to match leadership, one change at a time. A start that fails (etcd unreachable just
   * as this coordinator was elected) is retried while it still leads: a rejection here, from a leadership listener,
   * would be unhandled and end the process (found by the HA chaos run).
   */
  private follow(): Promise<void> {
    this.transition = this.transition.then(async () => {
      if (this.stopped) return;
      const leader = this.deps.leadership.isLeader();
      if (leader && !this.manager) {
        const manager = this.deps.createManager();
        manager.onChange(() => this.emit());
        try {
          await manager.start();
        } catch (err) {
          await manager.stop().catch(() => undefined);
          this.deps.log.warn({ err }, "leading, but the lease manager could not start; retrying");
          if (!this.stopped) this.retry = setTimeout(() => void this.follow(), this.deps.retryMs ?? 1_000);
          return;
        }
        this.manager = manager;
        this.deps.log.info("leading: lease manager started");
      } else if (!leader && this.manager) {
        const manager = this.manager;
        this.manager = null;
        await manager.stop();
        this.deps.log.warn({ leader: this.deps.leadership.leaderId() }, "no longer leading: lease manager stopped");
      }
      if (!this.manager) await this.follower.refresh();
      this.emit();
    }).catch((err: unknown) => this.deps.log.error({ err }, "following a leadership change failed"));
    return this.transition;
  }

  private emit(): void {
    for (const l of [...this.listeners]) l();
  }

  private leading(): LeaseManager {
    if (this.manager) return this.manager;
    const leader = this.deps.leadership.leaderId();
    throw new NkError("NOT_LEADER", `this coordinator does not lead${leader ? ` (the leader is ${leader})` : ""}: retry on another coordinator`);
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  reevaluate(trigger?: GrantTrigger): void {
    this.manager?.reevaluate(trigger);
  }

  /**
   * The request goes to the running manager; if that manager stopped while the request waited in it (leadership lost,
   * and maybe won back with a new manager), the stream is refused: the old manager will never write to it again.
   */
  acquire(request: AcquireRequest, onUpdate: (lease: LeaseView) => void): Promise<() => void> {
    return Promise.resolve().then(async () => {
      const manager = this.leading();
      const done = await manager.acquire(request, onUpdate);
      if (this.manager === manager) return done;
      done();
      throw new NkError("NOT_LEADER", "this coordinator's lease manager changed while the request was queued: ask again");
    });
  }

  renew(node: string, fencingToken: number, phase: HolderPhase, bootId: string, etcdSnapshot = ""): Promise<LeaseView> {
    return Promise.resolve().then(() => this.leading().renew(node, fencingToken, phase, bootId, etcdSnapshot));
  }

  release(node: string, fencingToken: number, success: boolean, reason: string): Promise<boolean> {
    return Promise.resolve().then(() => this.leading().release(node, fencingToken, success, reason));
  }

  reattach(node: string): Promise<LeaseView | null> {
    return Promise.resolve().then(() => this.leading().reattach(node));
  }

  withdraw(node: string, reason: string): Promise<boolean> {
    return Promise.resolve().then(() => this.leading().withdraw(node, reason));
  }

  adminRelease(node: string, force: boolean, reason: string): Promise<{ released: boolean; message: string }> {
    return Promise.resolve().then(() => this.leading().adminRelease(node, force, reason));
  }

  /** See LeaseManager.noteFailure. A follower writes the halt to the shared store; the leader reads it before any grant. */
  async noteFailure(node: string, revision: string, reason: string): Promise<void> {
    if (this.manager) return this.manager.noteFailure(node, revision, reason);
    const { store, log } = this.deps;
    const rollout = await store.getRollout();
    if (rollout.halted || rollout.revision !== revision || (await store.getLease(node))) return;
    await recordHalt({ store, log }, failedHaltReason(node, reason), revision, node, { onlyIfCurrent: true });
  }

  fleetLockPreReboot(request: FleetLockRequest): Promise<FleetLockAnswer> {
    return Promise.resolve().then(() => this.leading().fleetLockPreReboot(request));
  }

  fleetLockSteadyState(request: FleetLockRequest): Promise<FleetLockAnswer> {
    return Promise.resolve().then(() => this.leading().fleetLockSteadyState(request));
  }

  pause(reason: string): Promise<RolloutRecord> {
    return Promise.resolve().then(() => this.leading().pause(reason));
  }

  resume(): Promise<RolloutRecord> {
    return Promise.resolve().then(() => this.leading().resume());
  }

  approve(who: string): Promise<RolloutRecord> {
    return Promise.resolve().then(() => this.leading().approve(who));
  }

  stage(): string {
    return this.manager?.stage() ?? "";
  }

  held(): readonly LeaseView[] {
    return this.manager?.held() ?? this.follower.held();
  }

  queue(): readonly LeaseView[] {
    return this.manager?.queue() ?? this.follower.queue();
  }

  blockedReason(): string {
    if (this.manager) return this.manager.blockedReason();
    const leader = this.deps.leadership.leaderId();
    return `this coordinator follows${leader ? ` ${leader}` : ""}; the leader grants leases`;
  }

  rollout(): RolloutRecord {
    return this.manager?.rollout() ?? this.follower.rollout;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    this.offLeadership?.();
    this.offEvents?.();
    await this.transition;
    const manager = this.manager;
    this.manager = null;
    await manager?.stop();
  }
}
