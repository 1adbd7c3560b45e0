// Evaluates the inventory's cluster checks on demand and periodically, and publishes the verdict the lease manager grants on.
import type { ClusterCheck } from "../../../shared/src/inventory/model.js";
import { errorMessage } from "../../../shared/src/errors/index.js";
import { silentLogger, type Logger } from "../../../shared/src/log/index.js";
import type { CheckOutcome } from "./check-dispatcher.js";
import type { HealthTimers } from "./health-timers.js";

export interface FailingCheck {
  readonly name: string;
  readonly message: string;
}

export interface ClusterHealthState {
  /** True when every cluster check passes (and, after a failure, has kept passing for `passesToRecover` rounds). */
  readonly ok: boolean;
  readonly failing: readonly FailingCheck[];
  readonly results: readonly CheckOutcome[];
  /** When the evaluation behind this state finished; 0 before the first one. */
  readonly atMs: number;
}

export interface ClusterHealthDeps {
  /** Cluster checks of the adopted inventory, read at every evaluation. */
  readonly checks: () => readonly ClusterCheck[];
  /** Runs http and prometheus checks (CheckRunner). */
  readonly runner: { run(check: ClusterCheck): Promise<CheckOutcome> };
  /** Runs command checks on agents, by name (AgentCheckDispatcher). */
  readonly dispatcher: { run(checkName: string): Promise<CheckOutcome> };
  readonly timers: HealthTimers;
  /** Period of background evaluation; default 15 s. */
  readonly intervalMs?: number;
  /**
   * Hysteresis against flapping checks: after a failure, this many consecutive passing evaluations
   * are needed before `ok` turns true again. Failures count at once. Default 1 (no hysteresis).
   * The state before the first evaluation counts as failing, so with N > 1 a fresh coordinator
   * also waits N passes before its first grant.
   */
  readonly passesToRecover?: number;
  readonly log?: Logger;
}

const NOT_EVALUATED: ClusterHealthState = { ok: false, failing: [{ name: "cluster-checks", message: "not evaluated yet" }], results: [], atMs: 0 };

export class ClusterHealth {
  private state = NOT_EVALUATED;
  private passes = 0;
  private running: Promise<ClusterHealthState> | null = null;
  private queued: Promise<ClusterHealthState> | null = null;
  private cancelTick: (() => void) | null = null;
  private started = false;
  private readonly listeners = new Set<(state: ClusterHealthState) => void>();
  private readonly log: Logger;
  private readonly intervalMs: number;
  private readonly passesToRecover: number;

  constructor(private readonly deps: ClusterHealthDeps) {
    this.log = deps.log ?? silentLogger();
    this.intervalMs = deps.intervalMs ?? 15_000;
    this.passesToRecover = Math.max(1, Math.floor(deps.passesToRecover ?? 1));
  }

  /** Evaluates now, then every interval (measured from the end of the previous evaluation). */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.refresh();
  }

  stop(): void {
    this.started = false;
    this.cancelTick?.();
    this.cancelTick = null;
  }

  current(): ClusterHealthState {
    return this.state;
  }

  /**
   * The PromQL and alert gates (kinds promql and prometheus) run again now, for the grant about to be made: the
   * failing ones. A failure also starts a full evaluation, so the published state and the status page catch up.
   */
  async gatesNow(): Promise<readonly FailingCheck[]> {
    const gates = this.deps.checks().filter((c) => c.spec.kind === "promql" || c.spec.kind === "prometheus");
    if (gates.length === 0) return [];
    const results = await Promise.all(gates.map((c) => this.runOne(c)));
    const failing = results.filter((r) => !r.ok).map((r) => ({ name: r.name, message: r.message }));
    if (failing.length > 0) void this.refresh();
    return failing;
  }

  /** Fires only when `ok` or the failing list changes. */
  onChange(listener: (state: ClusterHealthState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Evaluates every check now (e.g. before a grant, after a release). A call during an evaluation
   * waits for a fresh one after it, so the answer never predates the call; concurrent callers share it.
   */
  refresh(): Promise<ClusterHealthState> {
    if (this.running === null) {
      this.running = this.evaluate().finally(() => {
        this.running = null;
      });
      return this.running;
    }
    this.queued ??= this.running.then(() => {
      this.queued = null;
      return this.refresh();
    });
    return this.queued;
  }

  private async evaluate(): Promise<ClusterHealthState> {
    const checks = this.deps.checks();
    const results = await Promise.all(checks.map((c) => this.runOne(c)));
    this.publish(results);
    if (this.started) {
      this.cancelTick?.();
      this.cancelTick = this.deps.timers.setTimeout(() => void this.refresh(), this.intervalMs);
    }
    return this.state;
  }

  private async runOne(check: ClusterCheck): Promise<CheckOutcome> {
    try {
      return check.spec.kind === "command" ? await this.deps.dispatcher.run(check.name) : await this.deps.runner.run(check);
    } catch (err) {
      return { name: check.name, ok: false, message: errorMessage(err), observedAtMs: this.deps.timers.now() };
    }
  }

  private publish(results: readonly CheckOutcome[]): void {
    const atMs = this.deps.timers.now();
    let failing: FailingCheck[] = results.filter((r) => !r.ok).map((r) => ({ name: r.name, message: r.message }));
    this.passes = failing.length === 0 ? this.passes + 1 : 0;
    if (failing.length === 0 && !this.state.ok && this.passes < this.passesToRecover) {
      failing = [{ name: "recovering", message: `checks passed ${this.passes} of the ${this.passesToRecover} consecutive times needed after a failure` }];
    }
    const previous = this.state;
    this.state = { ok: failing.length === 0, failing, results, atMs };
    if (previous.ok === this.state.ok && sameFailing(previous.failing, failing)) return;
    this.log.info({ ok: this.state.ok, failing }, this.state.ok ? "cluster checks pass" : "cluster checks failing");
    for (const listener of [...this.listeners]) {
      try {
        listener(this.state);
      } catch (err) {
        this.log.error({ err }, "cluster health listener failed");
      }
    }
  }
}

function sameFailing(a: readonly FailingCheck[], b: readonly FailingCheck[]): boolean {
  return a.length === b.length && a.every((f, i) => f.name === b[i]?.name && f.message === b[i]?.message);
}
