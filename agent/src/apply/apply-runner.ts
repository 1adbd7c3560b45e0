// Executes the state machine's effects: one event at a time, state saved before anything irreversible.
import { errorMessage, isNkError } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import { afterTimer } from "../../../shared/src/time/index.js";
import { obtainSystem } from "./obtain-system.js";
import type { System } from "../system/index.js";
import { interruptedUnits } from "../system/dry-activate.js";
import type { AgentState, DesiredBundle } from "./agent-state.js";
import type { AgentEvent, GuardVerdict } from "./agent-event.js";
import { LONG_EFFECTS, type Effect, type EffectOf } from "./effect.js";
import { failureEvent, type LongEffect } from "./long-effect.js";
import { DEFAULT_MACHINE_CONFIG, type MachineConfig } from "./machine-config.js";
import type { Clock, HealthProbe, LeaseClient, Reporter, StateSaver } from "./runner-ports.js";
import { makeTransition, type Transition } from "./transition.js";

export interface ApplyRunnerOptions {
  readonly node: string;
  readonly system: System;
  readonly store: StateSaver;
  readonly leases: LeaseClient;
  readonly reporter: Reporter;
  readonly health: HealthProbe;
  readonly clock: Clock;
  readonly log: Logger;
  readonly config?: MachineConfig;
  readonly healthPollMs?: number;
  readonly releaseRetryMs?: number;
  /** Told every phase change (the preview runner steps aside while an apply is in flight). */
  readonly onPhase?: (phase: AgentState["phase"]) => void;
  /** Called when the runner cannot go on (the state could not be saved); main exits so systemd restarts it. */
  readonly onFatal?: (err: unknown) => void;
}

export class ApplyRunner {
  private current: AgentState;
  private readonly transition: Transition;
  private readonly queue: AgentEvent[] = [];
  private pumping: Promise<void> | null = null;
  private pending: AbortController | null = null;
  private latestDesired: DesiredBundle | null = null;
  private deadline: { at: number; cancel: () => void } | null = null;
  private halted = false;
  /** Why the last health probe failed, for the deadline event. */
  private lastHealthFailure: string | null = null;

  constructor(
    private readonly opts: ApplyRunnerOptions,
    initial: AgentState,
  ) {
    this.current = initial;
    this.transition = makeTransition(opts.config ?? DEFAULT_MACHINE_CONFIG);
  }

  get state(): AgentState {
    return this.current;
  }

  /** Observes the machine and resumes from the persisted state, and from the self-update guard's rollback if it made one. */
  async start(guardRolledBack?: GuardVerdict): Promise<void> {
    const { system, clock } = this.opts;
    const [bootId, currentSystem, bootedSystem] = await Promise.all([system.bootId(), system.currentSystem(), system.bootedSystem()]);
    await this.dispatch({ type: "agent-started", now: clock.now(), bootId, currentSystem, bootedSystem, ...(guardRolledBack ? { guardRolledBack } : {}) });
  }

  /** Queues an event (desired bundles, lease losses, operator retries come in here); resolves once the queue is empty. */
  dispatch(event: AgentEvent): Promise<void> {
    if (this.halted) return Promise.resolve();
    // The newest bundle known, not the one being applied: a redelivery queued behind a newer desired bundle
    // that is still waiting in the queue must not replay an older one after it.
    if (event.type === "desired-received") this.latestDesired = event.desired;
    this.queue.push(event);
    this.pumping ??= this.pump();
    return this.pumping;
  }

  /** Stops everything, as if the process died: nothing further is saved or done. */
  halt(): void {
    this.halted = true;
    this.queue.length = 0;
    this.pending?.abort(new Error("agent stopping"));
    this.pending = null;
    this.deadline?.cancel();
    this.deadline = null;
  }

  private async pump(): Promise<void> {
    for (let event = this.queue.shift(); event && !this.halted; event = this.queue.shift()) {
      try {
        await this.apply(event);
      } catch (err) {
        this.opts.log.error({ err, event: event.type }, "apply runner stopped");
        this.halt();
        this.opts.onFatal?.(err);
      }
    }
    // Cleared in the same tick as the empty check, so a dispatch never finds a pump that is about to end.
    this.pumping = null;
  }

  private async apply(event: AgentEvent): Promise<void> {
    const before = this.current;
    const { state, effects } = this.transition(before, event);
    this.current = state;
    if (state.phase !== before.phase) {
      this.opts.log.info({ node: this.opts.node, from: before.phase, to: state.phase, event: event.type, rev: state.target?.revision ?? state.applied?.revision }, "apply phase");
      this.opts.onPhase?.(state.phase);
    }
    for (const effect of effects) {
      if (this.halted) return;
      await this.perform(effect);
    }
    this.armDeadline();
  }

  private async perform(effect: Effect): Promise<void> {
    if (LONG_EFFECTS.has(effect.type)) return this.startLong(effect as LongEffect);
    switch (effect.type) {
      case "persist":
        return this.opts.store.save(this.current);
      case "report": {
        const { type: _type, ...report } = effect;
        this.opts.reporter.report({ ...report, fencingToken: this.current.lease?.fencingToken ?? null });
        return;
      }
      case "abort-pending":
        this.pending?.abort(new Error("superseded"));
        this.pending = null;
        return;
      case "renew-lease":
        return this.renew(effect);
      case "release-lease":
        void this.releaseUntilAcknowledged(effect);
        return;
      case "stop-activation":
        return this.stopActivation(effect.systemPath);
      case "prune-bundles":
        return this.prune(effect);
      case "hand-over-vip":
      case "rejoin-vip":
        return this.vip(effect.type);
      case "redeliver-desired":
        if (this.latestDesired) this.later({ type: "desired-received", now: this.opts.clock.now(), desired: this.latestDesired });
        return;
    }
  }

  private async stopActivation(systemPath: string): Promise<void> {
    try {
      await this.opts.system.stopActivation(systemPath);
      this.opts.log.warn({ systemPath }, "stopped an activation that ran past its deadline");
    } catch (err) {
      this.opts.log.error({ err: errorMessage(err), systemPath }, "could not stop an activation that ran past its deadline");
    }
  }

  /** A VIP that could not be handed over moves anyway once this node stops serving (one VRRP failover later). */
  private async vip(type: "hand-over-vip" | "rejoin-vip"): Promise<void> {
    const { system, log } = this.opts;
    try {
      if (type === "hand-over-vip") await system.handOverVip();
      else await system.rejoinVip();
    } catch (err) {
      log.error({ err: errorMessage(err) }, type === "hand-over-vip" ? "could not hand the API VIP over" : "could not take part in carrying the API VIP again");
    }
  }

  private async prune(effect: EffectOf<"prune-bundles">): Promise<void> {
    const { system, log, config } = this.opts;
    const root = (config ?? DEFAULT_MACHINE_CONFIG).bundleRoot;
    try {
      const removed = await system.pruneBundles(root, { sha256s: effect.keepSha256s, systems: effect.keepSystems });
      if (removed.length > 0) log.info({ root, removed }, "removed old bundles and their GC roots");
    } catch (err) {
      log.warn({ err: errorMessage(err), root }, "could not remove old bundles");
    }
  }

  private async renew(effect: EffectOf<"renew-lease">): Promise<void> {
    try {
      await this.opts.leases.renew(effect.fencingToken, effect.state, effect.etcdSnapshot);
    } catch (err) {
      if (isNkError(err, "LEASE_FENCED") || isNkError(err, "LEASE_UNKNOWN")) {
        this.later({ type: "lease-lost", now: this.opts.clock.now(), fencingToken: effect.fencingToken, reason: errorMessage(err) });
      } else {
        // The coordinator is away; its own deadline will speak if this matters.
        this.opts.log.warn({ err, fencingToken: effect.fencingToken }, "lease renew failed");
      }
    }
  }

  private async releaseUntilAcknowledged(effect: EffectOf<"release-lease">): Promise<void> {
    const { leases, clock, log } = this.opts;
    const most = this.opts.releaseRetryMs ?? 5_000;
    // The first refusals are mostly a leader that has not yet heard this node's report since the reboot (another
    // coordinator got it and shares it within a heartbeat or two): ask again every second at first.
    for (let tries = 1; !this.halted; tries++) {
      try {
        await leases.release(effect.fencingToken, effect.success, effect.reason);
        break;
      } catch (err) {
        if (isNkError(err, "LEASE_FENCED") || isNkError(err, "LEASE_UNKNOWN")) break;
        log.warn({ err, fencingToken: effect.fencingToken }, "lease release failed; retrying");
        await new Promise<void>((resolve) => clock.setTimer(tries <= 5 ? Math.min(1_000, most) : most, resolve));
      }
    }
    this.later({ type: "lease-released", now: clock.now(), fencingToken: effect.fencingToken });
  }

  private startLong(effect: LongEffect): void {
    const ac = new AbortController();
    this.pending = ac;
    void this.runLong(effect, ac.signal)
      .catch((err: unknown): AgentEvent | null => (ac.signal.aborted ? null : failureEvent(effect, errorMessage(err), this.opts.clock.now())))
      .then((event) => {
        if (this.pending === ac) this.pending = null;
        // Results of an aborted effect are dropped: the machine has moved on.
        if (event && !ac.signal.aborted) this.later(event);
      });
  }

  private async runLong(effect: LongEffect, signal: AbortSignal): Promise<AgentEvent | null> {
    const { system, leases, clock, node } = this.opts;
    switch (effect.type) {
      case "write-bundle":
        await system.writeBundle(effect.dir, effect.files);
        return { type: "bundle-written", now: clock.now(), sha256: effect.sha256 };
      case "build": {
        const built = await obtainSystem(system, effect.bundleDir, node, effect.prebuilt, this.opts.log, signal);
        if (!built.ok) return { type: "build-failed", now: clock.now(), sha256: effect.sha256, error: built.error };
        const rebootNeeded = await system.needsReboot(built.systemPath);
        const dry = await system.dryActivate(built.systemPath, signal);
        return { type: "build-succeeded", now: clock.now(), sha256: effect.sha256, systemPath: built.systemPath, rebootNeeded, restartsUnits: interruptedUnits(dry) };
      }
      case "request-lease": {
        const { type: _type, ...request } = effect;
        const built = this.state.target?.systemPath;
        const k3sNext = built ? await system.k3sVersion(built).catch(() => null) : null;
        const answer = await leases.acquire({ ...request, ...(k3sNext ? { k3sNext } : {}) }, signal);
        return answer.granted ? { type: "lease-granted", now: clock.now(), fencingToken: answer.fencingToken } : { type: "lease-denied", now: clock.now(), reason: answer.reason };
      }
      case "etcd-snapshot": {
        const r = await system.etcdSnapshot(effect.name, signal);
        return r.ok
          ? { type: "etcd-snapshot-saved", now: clock.now(), fencingToken: effect.fencingToken, name: effect.name }
          : { type: "etcd-snapshot-failed", now: clock.now(), fencingToken: effect.fencingToken, name: effect.name, error: r.error };
      }
      case "drain": {
        const r = await leases.drain(effect.fencingToken, signal);
        return r.ok ? { type: "drained", now: clock.now(), fencingToken: effect.fencingToken } : { type: "drain-failed", now: clock.now(), fencingToken: effect.fencingToken, error: r.error };
      }
      case "switch":
      case "rollback-switch": {
        const r = effect.type === "switch" ? await system.switch(effect.systemPath, signal) : await system.rollbackSwitch(effect.systemPath, signal);
        return r.ok ? { type: "activation-succeeded", now: clock.now(), systemPath: effect.systemPath } : failureEvent(effect, r.error, clock.now());
      }
      case "boot-and-reboot":
      case "rollback-boot-and-reboot": {
        const r = effect.type === "boot-and-reboot" ? await system.bootAndReboot(effect.systemPath, effect.fallback) : await system.rollbackBootAndReboot(effect.systemPath);
        // On success the machine is going down; the state's reboot deadline covers a reboot that never comes.
        return r.ok ? null : failureEvent(effect, r.error, clock.now());
      }
      case "run-health":
        return this.pollHealth(effect, signal);
      case "bless": {
        const r = await system.bless(effect.systemPath);
        return r.ok ? { type: "blessed", now: clock.now(), systemPath: effect.systemPath } : failureEvent(effect, r.error, clock.now());
      }
    }
  }

  private async pollHealth(effect: EffectOf<"run-health">, signal: AbortSignal): Promise<AgentEvent> {
    const { health, clock } = this.opts;
    this.lastHealthFailure = null;
    for (;;) {
      let reason: string;
      try {
        const r = await health.probe(effect.systemPath, effect.checks, signal);
        if (r.healthy) return { type: "health-passed", now: clock.now(), systemPath: effect.systemPath };
        reason = r.reason;
      } catch (err) {
        signal.throwIfAborted();
        reason = errorMessage(err);
      }
      this.lastHealthFailure = reason;
      // Worded as the deadline timer words it: which of the two notices the deadline first is a race.
      if (clock.now() >= effect.deadlineAt) return { type: "health-failed", now: clock.now(), systemPath: effect.systemPath, reason: `health deadline passed: ${reason}` };
      await afterTimer((fire) => clock.setTimer(Math.min(this.opts.healthPollMs ?? 5_000, Math.max(0, effect.deadlineAt - clock.now())), fire), signal);
    }
  }

  /** Keeps exactly one timer armed for the state's deadline. */
  private armDeadline(): void {
    const at = this.current.deadlineAt;
    if (this.deadline?.at === at) return;
    this.deadline?.cancel();
    this.deadline = null;
    if (at === null || this.halted) return;
    const fire = (): void => {
      const detail = this.lastHealthFailure;
      this.later({ type: "deadline-passed", now: this.opts.clock.now(), ...(detail ? { detail } : {}) });
    };
    const cancel = this.opts.clock.setTimer(Math.max(0, at - this.opts.clock.now()), fire);
    this.deadline = { at, cancel };
  }

  /** Queues an event produced by the runner itself, outside the current transition. */
  private later(event: AgentEvent): void {
    void this.dispatch(event);
  }
}
