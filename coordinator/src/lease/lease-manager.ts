// The coordinator's lease manager: durable FIFO queue, event-driven grants, fencing, phase deadlines, drain hooks.
import { NkError } from "../../../shared/src/errors/index.js";
import type { LeasePatch, RolloutRecord } from "../store/index.js";
import type { LeaseView } from "../status/index.js";
import { GrantEngine, type EngineTimeouts } from "./grant-engine.js";
import { LeaseBook } from "./lease-book.js";
import { DrainRunner } from "./drain-runner.js";
import { FleetLocks, type FleetLockAnswer, type FleetLockRequest } from "./fleet-locks.js";
import { FLEETLOCK_HOLDER_PREFIX } from "./fleetlock-rule.js";
import { checkPresented, leaseOf, tokenRequiredError } from "./fencing.js";
import { liveLease, returnLease, type LeaseCore } from "./lease-return.js";
import { approveRollout, pauseRollout, resumeRollout } from "./rollout-controls.js";
import type { GrantTrigger, LeaseManagerDeps } from "./lease-deps.js";
import { announcedState, failedHaltReason, phaseBudgetMs, phaseName } from "./lease-phases.js";
import type { AcquireRequest, HolderPhase, LeaseService } from "./lease-service.js";
import { LeaseStreams } from "./lease-streams.js";
import { endedView, heldView } from "./lease-views.js";
import { SerialQueue } from "./serial-queue.js";

export class LeaseManager implements LeaseService {
  private readonly serial = new SerialQueue();
  private readonly book: LeaseBook;
  private readonly engine: GrantEngine;
  private readonly listeners = new Set<() => void>();
  private readonly timeouts: EngineTimeouts;
  private readonly drains: DrainRunner;
  private readonly fleetLocks: FleetLocks;
  /** Returns (afterReturn + release) in flight by fencing token; a retried release joins the running one. */
  private readonly returns = new Map<number, Promise<boolean>>();
  private readonly unsubscribe: Array<() => void> = [];

  constructor(private readonly deps: LeaseManagerDeps) {
    const o = deps.options ?? {};
    this.timeouts = { startTimeoutMs: o.startTimeoutMs ?? 300_000, deadlineGraceMs: o.deadlineGraceMs ?? 60_000, holderSilenceMs: o.holderSilenceMs ?? 120_000 };
    const streams = new LeaseStreams((node, err) => deps.log.warn({ node, err }, "lease stream listener failed"));
    this.book = new LeaseBook(deps.store, deps.settings, streams);
    this.engine = new GrantEngine(deps, this.book, this.serial, this.timeouts, () => this.emitChange());
    this.drains = new DrainRunner(deps, this.book, this.serial, this.engine, this.timeouts, () => this.emitChange());
    this.fleetLocks = new FleetLocks(this.core());
  }

  /** Loads held leases and the queue (tokens and deadlines as stored), resumes drains, then decides. */
  async start(): Promise<void> {
    const on = (trigger: GrantTrigger) => () => this.engine.request(trigger);
    this.unsubscribe.push(this.deps.health.onChange(on("health")), this.deps.checks.onChange(on("checks")), this.deps.settings.onChange(on("settings")));
    if (this.deps.k3s) this.unsubscribe.push(this.deps.k3s.onChange(on("versions")));
    await this.serial.run(async () => {
      await this.book.refresh();
      for (const lease of this.book.held.values()) if (lease.state === "draining") this.drains.start(lease);
      this.deps.log.info({ held: this.book.held.size, queued: this.book.queue.length }, "lease manager started");
      await this.engine.evaluateLocked({ trigger: "start", atMs: this.deps.now() });
    });
  }

  /** Stops listening and timing; waits for the critical section in flight. Hooks already running finish on their own. */
  async stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    this.engine.stop();
    await this.serial.idle();
  }

  /** Resolves once no decision, drain or return is in flight (for orderly shutdown and tests). */
  async settled(): Promise<void> {
    for (;;) {
      const pending = [...this.drains.inFlight(), ...this.returns.values()];
      await Promise.allSettled(pending);
      await this.serial.idle();
      // A decision may have started another drain meanwhile.
      if (this.drains.inFlight().length === 0 && this.returns.size === 0) return;
    }
  }

  /** For the status page: called after anything in held(), queue() or blockedReason() may have changed. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * A node failed to apply `revision` without holding a lease (a build error, a switch rolled back, a bundle it
   * refuses): disruptive steps of that revision stop on the other nodes too, until a new push or an operator resume.
   * Callers report the step into the failure only, so a resume is not undone by the node's next heartbeat.
   */
  noteFailure(node: string, revision: string, reason: string): Promise<void> {
    return this.serial.run(async () => {
      const rollout = await this.deps.store.getRollout();
      if (rollout.halted || rollout.revision !== revision || this.book.held.has(node)) return;
      await this.engine.halt(failedHaltReason(node, reason), revision, node, { onlyIfCurrent: true });
      // Re-decide at once, so the queue shows the halt as the reason it waits.
      await this.engine.evaluateLocked({ trigger: "health", atMs: this.deps.now() });
    });
  }

  /** Re-decide now, e.g. after the revision adopter cleared a halt. */
  reevaluate(trigger: GrantTrigger = "settings"): void {
    this.engine.request(trigger);
  }

  async acquire(request: AcquireRequest, onUpdate: (lease: LeaseView) => void): Promise<() => void> {
    const { node } = request;
    const settings = this.deps.settings.current();
    if (!settings) throw new NkError("UNAVAILABLE", "no inventory revision adopted yet; retry later");
    return this.serial.run(async () => {
      const presented = checkPresented(node, request.fencingToken, await this.deps.store.getLease(node));
      if (presented.kind === "refused") throw presented.error;
      if (presented.kind === "holder") {
        const held = presented.lease;
        let lease = held;
        const patch: LeasePatch = {};
        // An agent re-attaching after its own restart may not know the revision: keep the recorded one.
        if (request.revision !== "" && held.revision !== request.revision) patch.revision = request.revision;
        if (request.kind === "reboot" && held.kind !== "reboot") {
          // A service-restart slot kept from a stuck apply, and the next bundle needs a reboot: same slot, but the
          // reboot must go through the drain (cordon) again, so the lease starts over at "granted".
          Object.assign(patch, { kind: "reboot", state: "granted", phase: phaseName("granted"), phaseDeadlineMs: this.deps.now() + phaseBudgetMs("granted", settings.rollout, this.timeouts) } satisfies LeasePatch);
          await this.deps.store.appendEvent({ kind: "lease-phase", node, revision: request.revision || held.revision, message: `${held.state} → granted (lease #${held.fencingToken} raised from ${held.kind} to reboot)`, fields: { fencingToken: String(held.fencingToken), from: held.state, to: "granted" } });
        }
        if (Object.keys(patch).length > 0) lease = leaseOf(await this.deps.store.updateLease(node, held.fencingToken, patch), node, held.fencingToken);
        this.book.setHeld(lease);
        this.deps.log.info({ node, fencingToken: lease.fencingToken }, "lease stream re-opened by its holder");
        const off = this.book.streams.subscribe(node, onUpdate);
        this.book.publishAll();
        return off;
      }
      // A holder re-attaches even after leaving the inventory; a new request needs the node's role.
      const role = settings.roles.get(node);
      if (!role) throw new NkError("NODE_UNKNOWN", `node ${node} is not in the adopted inventory`);
      const queued = await this.deps.store.enqueue({ node, kind: request.kind, revision: request.revision, sha256: request.sha256, reason: request.reason, role, ...(request.k3sNext ? { k3sNext: request.k3sNext } : {}) });
      if (queued.added) {
        await this.deps.store.appendEvent({ kind: "lease-queued", node, revision: request.revision, message: `${request.kind} lease requested at position ${queued.position}: ${request.reason}` });
      }
      const off = this.book.streams.subscribe(node, onUpdate);
      await this.engine.evaluateLocked({ trigger: "enqueue", atMs: this.deps.now() });
      return off;
    });
  }

  renew(node: string, fencingToken: number, phase: HolderPhase, bootId: string, etcdSnapshot = ""): Promise<LeaseView> {
    return this.serial.run(async () => {
      const lease = await liveLease(this.deps, node, fencingToken);
      const settings = this.deps.settings.current();
      const now = this.deps.now();
      const state = announcedState(lease.state, phase);
      const patch: LeasePatch = { renewedAtMs: now };
      if (!lease.bootIdAtGrant && bootId) patch.bootIdAtGrant = bootId;
      const snapshot = etcdSnapshot !== "" && etcdSnapshot !== lease.etcdSnapshot ? etcdSnapshot : null;
      if (snapshot) patch.etcdSnapshot = snapshot;
      if (state !== lease.state) {
        patch.state = state;
        patch.phase = phaseName(state);
        // Without settings (not adopted yet after a restart) the stored deadline stays.
        if (settings) patch.phaseDeadlineMs = now + phaseBudgetMs(state, settings.rollout, this.timeouts);
      }
      const next = leaseOf(await this.deps.store.updateLease(node, fencingToken, patch), node, fencingToken);
      this.book.setHeld(next);
      this.book.silent.delete(node);
      // Journaled before the phase it precedes: the timeline shows the snapshot ahead of the drain.
      if (snapshot) {
        await this.deps.store.appendEvent({ kind: "etcd-snapshot-saved", node, revision: next.revision, message: `etcd snapshot ${snapshot} saved on ${node} before its ${next.kind === "reboot" ? "drain" : "k3s restart"}`, fields: { snapshot, fencingToken: String(fencingToken) } });
      }
      if (state !== lease.state) {
        if (lease.state === "draining" && state !== "drained") this.deps.log.warn({ node, state }, "holder moved on before its drain finished");
        await this.deps.store.appendEvent({ kind: "lease-phase", node, revision: next.revision, message: `${lease.state} → ${state}`, fields: { fencingToken: String(fencingToken), bootId, from: lease.state, to: state } });
      }
      if (phase === "draining" && next.state === "draining") this.drains.start(next);
      this.book.publishAll();
      this.emitChange();
      await this.engine.evaluateLocked({ trigger: "renew", atMs: now });
      return heldView(next, settings?.roles.get(node), this.book.noteOf(node));
    });
  }

  release(node: string, fencingToken: number, success: boolean, reason: string): Promise<boolean> {
    const running = this.returns.get(fencingToken);
    if (running) return running;
    const done = returnLease(this.core(), node, fencingToken, success, reason).finally(() => this.returns.delete(fencingToken));
    this.returns.set(fencingToken, done);
    return done;
  }

  /**
   * An agent that lost its fencing token takes its node's lease back: the lease, or null when none is held.
   * Nothing changes on the lease; the caller records the re-attach in the audit log.
   */
  reattach(node: string): Promise<LeaseView | null> {
    return this.serial.run(async () => {
      const held = await this.deps.store.getLease(node);
      if (!held) return null;
      this.book.setHeld(held);
      this.deps.log.warn({ node, fencingToken: held.fencingToken, state: held.state }, "lease re-attached by an agent without its token");
      return heldView(held, this.book.roleOf(node), this.book.noteOf(node));
    });
  }

  /** The agent's withdrawal (token 0): drops its queued request; a held lease needs its own token (LEASE_HELD). */
  withdraw(node: string, reason: string): Promise<boolean> {
    return this.serial.run(async () => {
      const held = await this.deps.store.getLease(node);
      if (held) throw tokenRequiredError(node, held);
      return (await this.dropQueued(node, `withdrawn by ${node}: ${reason}`)).released;
    });
  }

  adminRelease(node: string, force: boolean, reason: string): Promise<{ released: boolean; message: string }> {
    if (node.startsWith(FLEETLOCK_HOLDER_PREFIX)) return this.fleetLocks.adminRelease(node, force, reason);
    return this.serial.run(async () => {
      const { store } = this.deps;
      const lease = await store.getLease(node);
      if (lease) {
        // Until the holder announces draining nothing was disrupted, so no force is needed.
        if (lease.state !== "granted" && !force) {
          return { released: false, message: `${node} holds lease #${lease.fencingToken} and is ${lease.state}; releasing it may let more nodes go down than allowed. Use --force if the node is really gone or back.` };
        }
        const r = await store.forceReleaseLease(node);
        if (!r.ok) return { released: false, message: `${node} holds no lease any more` };
        this.book.dropHeld(node);
        const why = reason || "no reason given";
        await store.appendEvent({ kind: "lease-force-released", node, revision: lease.revision, message: `lease #${lease.fencingToken} (${lease.state}) released by an operator: ${why}` });
        this.deps.log.warn({ node, fencingToken: lease.fencingToken, state: lease.state, reason: why }, "lease force-released");
        await this.engine.liftDeadlineHalt(node, `lease of ${node} force-released by an operator`);
        this.book.streams.publish(node, endedView(heldView(lease, this.book.roleOf(node)), "revoked", `released by an operator: ${why}`));
        await this.engine.evaluateLocked({ trigger: "admin", atMs: this.deps.now() });
        const cordoned = lease.cordonedByUs || lease.state === "draining" ? `; ${node} may still be cordoned: uncordon it once it is healthy` : "";
        return { released: true, message: `released lease #${lease.fencingToken} of ${node}${cordoned}` };
      }
      return this.dropQueued(node, `dropped by an operator: ${reason || "no reason given"}`);
    });
  }

  /** Drops the node's queued request (inside the serial section); its stream hears why. */
  private async dropQueued(node: string, why: string): Promise<{ released: boolean; message: string }> {
    const { store } = this.deps;
    const request = await store.dequeue(node);
    if (!request) return { released: false, message: `${node} holds no lease and has no queued request` };
    const view = this.book.viewOf(node);
    await store.appendEvent({ kind: "lease-request-dropped", node, revision: request.revision, message: `queued request ${why}` });
    if (view) this.book.streams.publish(node, endedView(view, "revoked", why));
    await this.engine.evaluateLocked({ trigger: "admin", atMs: this.deps.now() });
    return { released: true, message: `dropped the queued lease request of ${node}` };
  }

  fleetLockPreReboot(request: FleetLockRequest): Promise<FleetLockAnswer> {
    return this.fleetLocks.preReboot(request);
  }

  fleetLockSteadyState(request: FleetLockRequest): Promise<FleetLockAnswer> {
    return this.fleetLocks.steadyState(request);
  }

  pause(reason: string): Promise<RolloutRecord> {
    return pauseRollout(this.core(), reason);
  }

  /** Clears both a pause and a halt: the operator says disruptive steps may continue. */
  resume(): Promise<RolloutRecord> {
    return resumeRollout(this.core());
  }

  /** The operator lets the rest of the revision go on after (or instead of) its canaries. */
  approve(who: string): Promise<RolloutRecord> {
    return approveRollout(this.core(), who);
  }

  /** The canary stage of the rollout's revision (canary, soaking, awaiting-approval, done); empty without a canary. */
  stage(): string {
    return this.engine.canary.stage();
  }

  held(): readonly LeaseView[] {
    return this.book.heldViews();
  }

  queue(): readonly LeaseView[] {
    return this.book.queueViews();
  }

  blockedReason(): string {
    return this.book.queue.length > 0 ? this.book.headReason : "";
  }

  /** The rollout record as last read (paused, halted, last release). */
  rollout(): RolloutRecord {
    return this.book.rollout;
  }

  /** What the helpers of the release path and the rollout controls share with this manager. */
  private core(): LeaseCore {
    return { deps: this.deps, book: this.book, serial: this.serial, engine: this.engine, emitChange: () => this.emitChange() };
  }

  private emitChange(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch (err) {
        this.deps.log.warn({ err }, "lease change listener failed");
      }
    }
  }
}
