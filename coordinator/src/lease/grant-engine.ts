// Event-driven grants: re-decides on every trigger, grants by CAS, watches phase deadlines with one timer.
import { NkError, errorMessage } from "../../../shared/src/errors/index.js";
import type { BlockingPodsState } from "./blocking-pods.js";
import type { Role } from "../../../shared/src/inventory/index.js";
import type { HaltOptions, LeaseGrant, LeaseRecord, LeaseRequest, RolloutRecord } from "../store/index.js";
import { decideGrants, type GrantDecision, type GrantInput, type NodeFacts, type NodeHealth } from "./grant-decision.js";
import { CanaryBook } from "./canary-book.js";
import { fleetLockHolder } from "./fleetlock-rule.js";
import { withK3sVersions } from "./k3s-facts.js";
import type { LeaseBook } from "./lease-book.js";
import type { GrantTrigger, LeaseManagerDeps, LeaseSettings } from "./lease-deps.js";
import { deadlineHaltPrefix, deadlineHaltReason, phaseBudgetMs, phaseName, type PhaseTimeouts } from "./lease-phases.js";
import { endedView, queuedView } from "./lease-views.js";
import type { SerialQueue } from "./serial-queue.js";
import { staleRequest } from "./stale-request.js";

const DAY_MS = 86_400_000;
/** Re-decisions after a lost compare-and-set before giving up until the next trigger. */
const MAX_ATTEMPTS = 5;

export interface Trigger {
  readonly trigger: GrantTrigger;
  readonly atMs: number;
}

export interface EngineTimeouts extends PhaseTimeouts {
  readonly holderSilenceMs: number;
}

/** A holder's recorded role; unknown roles count as servers, the stricter limit. */
function holderRole(lease: LeaseRecord, settings: LeaseSettings): Role {
  if (lease.role === "server" || lease.role === "agent" || lease.role === "none") return lease.role;
  return settings.roles.get(lease.node) ?? "server";
}

const factsCache = new WeakMap<LeaseSettings, Map<string, NodeFacts>>();

/** Role and labels of every inventory node, for the pool, per-label and skew limits; built once per adopted inventory. */
function nodeFacts(settings: LeaseSettings): Map<string, NodeFacts> {
  let facts = factsCache.get(settings);
  if (!facts) {
    facts = new Map([...settings.roles].map(([node, role]) => [node, { role, labels: settings.labels?.get(node) ?? {} }]));
    factsCache.set(settings, facts);
  }
  return facts;
}

export class GrantEngine {
  private timer: unknown;
  private timerAt = Infinity;
  private pending: Trigger | null = null;
  private queued = false;
  private stopped = false;
  /** Deadlines and silences already acted on, keyed by token and time, so each is reported once. */
  private readonly deadlinesSeen = new Set<string>();
  private readonly silencesSeen = new Set<string>();
  readonly canary: CanaryBook;

  constructor(
    private readonly deps: LeaseManagerDeps,
    private readonly book: LeaseBook,
    private readonly serial: SerialQueue,
    private readonly timeouts: EngineTimeouts,
    private readonly changed: () => void,
  ) {
    this.canary = new CanaryBook(deps, book);
  }

  /** From outside a critical section: coalesced, so a burst of health changes costs one evaluation. */
  request(trigger: GrantTrigger): void {
    if (this.stopped) return;
    this.pending ??= { trigger, atMs: this.deps.now() };
    if (this.queued) return;
    this.queued = true;
    this.serial
      .run(async () => {
        this.queued = false;
        const t = this.pending;
        this.pending = null;
        if (t && !this.stopped) await this.evaluateLocked(t);
      })
      .catch((err: unknown) => this.deps.log.error({ err }, "lease evaluation failed"));
  }

  /** Inside a critical section: re-read, act on deadlines, decide, grant; then publish and re-arm. */
  async evaluateLocked(t: Trigger): Promise<void> {
    let decision: GrantDecision | null = null;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      await this.book.refresh();
      await this.checkHolders();
      const settings = this.book.current();
      if (!settings) {
        this.book.headReason = this.book.queue.length > 0 ? "no inventory revision adopted yet" : "";
        this.book.waiting.clear();
        break;
      }
      await this.dropUnknown(settings);
      const canary = this.canary.gate(settings);
      await this.canary.noteWaiting(canary);
      const blockingPods = await this.blockingPods(settings);
      // Picks whose request is for a superseded bundle are left out and the rest decided again (bounded: each
      // round leaves out at least one more queued node).
      const stale = new Map<string, string>();
      let input: GrantInput;
      for (;;) {
        input = { ...this.input(settings, stale), canary, ...(blockingPods ? { blockingPods } : {}) };
        decision = decideGrants(input);
        const found = await this.staleGrants(decision);
        if (found.size === 0) break;
        for (const [node, reason] of found) stale.set(node, reason);
      }
      // A grant is about to happen: the metric gates are asked again now, and a failing one stops it.
      const failingGates = decision.grants.length > 0 && this.deps.checks.gatesNow ? await this.deps.checks.gatesNow() : [];
      if (failingGates.length > 0) decision = decideGrants({ ...input, clusterChecks: { ok: false, failing: failingGates } });
      this.book.headReason = decision.headReason;
      this.book.waiting = new Map([...decision.blocked.map((b) => [b.node, b.reason] as const), ...stale]);
      if (await this.grant(decision, settings, t)) break;
      this.deps.log.info({ attempt }, "lease holders or the rollout changed under this coordinator; deciding again");
    }
    this.book.publishAll();
    this.changed();
    this.arm(decision?.wakeAtMs ?? null);
  }

  async halt(reason: string, revision: string, node?: string, options: HaltOptions = {}): Promise<void> {
    this.book.rollout = await recordHalt(this.deps, reason, revision, node, options);
  }

  /** A halt that only said "this node is overdue" ends when the node returns or its lease is force-released. */
  async liftDeadlineHalt(node: string, why: string): Promise<void> {
    const halted = this.book.rollout.halted;
    if (!halted?.reason.startsWith(deadlineHaltPrefix(node))) return;
    this.book.rollout = await this.deps.store.clearHalt();
    await this.deps.store.appendEvent({ kind: "rollout-halt-lifted", node, revision: halted.revision, message: `halt lifted: ${why}` });
    this.deps.log.info({ node, why }, "deadline halt lifted");
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.deps.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private input(settings: LeaseSettings, leftOut: ReadonlyMap<string, string>): GrantInput {
    const held = this.book.held;
    const waiting = this.book.queue.filter((r) => !held.has(r.node) && !leftOut.has(r.node));
    const queue = waiting.map((r) => ({ node: r.node, role: settings.roles.get(r.node) ?? "server" }));
    const base = this.baseInput(settings, waiting);
    // FleetLock hosts' reboot slots take the cluster's slots like nk's own holders.
    return { ...base, queue, holders: [...base.holders, ...(this.book.rollout.fleetLocks ?? []).map(fleetLockHolder)] };
  }

  /**
   * What the grant rule needs besides the queue, with nk's own holders only. Health and checks matter only when
   * someone waits (`waiting`: nk's queued requests; a FleetLock host passes none); skipping them keeps idle
   * evaluations cheap.
   */
  baseInput(settings: LeaseSettings, waiting: readonly LeaseRequest[] | "fleetlock"): Omit<GrantInput, "queue"> {
    const someoneWaits = waiting === "fleetlock" || waiting.length > 0;
    const health = new Map<string, NodeHealth>(someoneWaits ? [...settings.roles.keys()].map((n) => [n, this.deps.health.health(n)]) : []);
    return {
      now: this.deps.now(),
      holders: [...this.book.held.values()].map((l) => ({ node: l.node, role: holderRole(l, settings) })),
      limits: settings.rollout,
      rollout: this.book.rollout,
      health,
      clusterChecks: someoneWaits ? this.deps.checks.current() : { ok: true, failing: [] },
      nodes: this.deps.k3s && waiting !== "fleetlock" ? withK3sVersions(nodeFacts(settings), waiting, this.deps.k3s) : nodeFacts(settings),
    };
  }

  /** Matching pods that run or wait to run, only while someone waits; a listing that fails blocks (fail safe). */
  private async blockingPods(settings: LeaseSettings): Promise<BlockingPodsState | undefined> {
    const rule = settings.rollout.blockingPods;
    if (!rule || !this.deps.pods || !this.book.queue.some((r) => !this.book.held.has(r.node))) return undefined;
    try {
      const pods = await this.deps.pods.list(rule.selector);
      return { rule, pods: pods.filter((p) => p.phase === "Running" || p.phase === "Pending").map((p) => ({ key: p.key, node: p.node })) };
    } catch (err) {
      return { rule, pods: [], error: errorMessage(err) };
    }
  }

  /**
   * The decision's picks whose request is stale, with why; the node records are read from the store, whichever
   * coordinator wrote them. An orphaned one is dropped from the queue, so it no longer shows as waiting.
   */
  private async staleGrants(decision: GrantDecision): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const g of decision.grants) {
      const request = this.book.queue.find((r) => r.node === g.node);
      const stale = request && staleRequest(request, await this.deps.store.getNode(g.node));
      if (!request || !stale) continue;
      found.set(g.node, stale.reason);
      if (stale.orphaned) await this.dropRequest(request, `superseded: ${stale.reason.split(":")[0]}, and the node has moved on to its newer bundle`, "queued lease request dropped: superseded");
    }
    return found;
  }

  /** Grants in decision order; false when the holder set or the rollout changed under us (another writer). */
  private async grant(decision: GrantDecision, settings: LeaseSettings, t: Trigger): Promise<boolean> {
    const { store, log } = this.deps;
    for (const g of decision.grants) {
      const request = this.book.queue.find((r) => r.node === g.node);
      if (!request) continue;
      const grant = await this.grantRecord(request, g.role, settings);
      const pick = this.canary.pickEdit(settings);
      const result = await store.grantLease(grant, { holders: [...this.book.held.keys()], revision: this.book.rollout.revision }, pick?.edit);
      if (!result.ok) {
        if (result.reason === "stale-token") throw new NkError("INTERNAL", `store refused a grant for ${g.node} without a caller token`);
        return false;
      }
      const lease = result.lease;
      this.book.setHeld(lease);
      const latencyMs = this.deps.now() - t.atMs;
      await store.appendEvent({
        kind: "lease-granted",
        node: lease.node,
        revision: lease.revision,
        message: `lease #${lease.fencingToken} granted for a ${lease.kind} (${request.reason || "no reason given"})`,
        fields: { fencingToken: String(lease.fencingToken), role: g.role, trigger: t.trigger },
      });
      log.info({ node: lease.node, rev: lease.revision, fencingToken: lease.fencingToken, trigger: t.trigger, latencyMs }, "lease granted");
      await this.canary.committed(pick, lease.node);
      this.deps.onGrant?.({ lease, trigger: t.trigger, latencyMs });
    }
    return true;
  }

  private async grantRecord(request: LeaseRequest, role: Role, settings: LeaseSettings): Promise<LeaseGrant> {
    const now = this.deps.now();
    const node = await this.deps.store.getNode(request.node);
    const seen = [node?.lastHello, node?.lastReport].filter((x) => x !== undefined).sort((a, b) => b.atMs - a.atMs)[0];
    return {
      node: request.node,
      kind: request.kind,
      state: "granted",
      revision: request.revision,
      requestedAtMs: request.requestedAtMs,
      grantedAtMs: now,
      phase: phaseName("granted"),
      phaseDeadlineMs: now + phaseBudgetMs("granted", settings.rollout, this.timeouts),
      renewedAtMs: now,
      cordonedByUs: false,
      nodeWasCordoned: false,
      role,
      ...(seen?.bootId ? { bootIdAtGrant: seen.bootId } : {}),
    };
  }

  /** A request from a node the adopted inventory no longer has would block the FIFO forever. */
  private async dropUnknown(settings: LeaseSettings): Promise<void> {
    for (const request of this.book.queue.filter((r) => !settings.roles.has(r.node))) {
      await this.dropRequest(request, `${request.node} is not in the adopted inventory`, "queued lease request dropped: node left the inventory");
    }
  }

  private async dropRequest(request: LeaseRequest, reason: string, logMessage: string): Promise<void> {
    if (!(await this.deps.store.dequeue(request.node))) return;
    this.book.queue = this.book.queue.filter((r) => r.node !== request.node);
    await this.deps.store.appendEvent({ kind: "lease-request-dropped", node: request.node, revision: request.revision, message: reason });
    this.book.streams.publish(request.node, endedView(queuedView(request, 0, "", undefined), "revoked", reason));
    this.deps.log.warn({ node: request.node, reason }, logMessage);
  }

  /** Missed phase deadlines halt the rollout (never hand the slot on); silent holders are reported. */
  private async checkHolders(): Promise<void> {
    const now = this.deps.now();
    for (const lease of [...this.book.held.values()]) {
      const deadlineKey = `${lease.fencingToken}/${lease.phaseDeadlineMs}`;
      if (lease.phaseDeadlineMs > 0 && lease.phaseDeadlineMs <= now && !this.deadlinesSeen.has(deadlineKey)) {
        this.deadlinesSeen.add(deadlineKey);
        const reason = deadlineHaltReason(lease);
        const halted = this.book.rollout.halted;
        // Always journaled (notifications: deadline-passed, or node-did-not-return for reboot-return). An existing
        // halt keeps its reason; after an operator resume the same miss does not re-halt.
        await this.deps.store.appendEvent({ kind: "lease-deadline-missed", node: lease.node, revision: lease.revision, message: reason, fields: { phase: lease.phase, state: lease.state } });
        if (!halted) await this.halt(reason, lease.revision, lease.node);
      }
      const silenceKey = `${lease.fencingToken}/${lease.renewedAtMs}`;
      const quietMs = now - lease.renewedAtMs;
      if (lease.state !== "rebooting" && quietMs >= this.timeouts.holderSilenceMs && !this.silencesSeen.has(silenceKey)) {
        this.silencesSeen.add(silenceKey);
        const note = `no renewal from the holder for ${Math.round(quietMs / 1000)}s while ${lease.state}`;
        this.book.silent.set(lease.node, note);
        await this.deps.store.appendEvent({ kind: "lease-holder-silent", node: lease.node, revision: lease.revision, message: note });
        this.deps.log.warn({ node: lease.node, fencingToken: lease.fencingToken, quietMs }, "lease holder silent");
      }
    }
  }

  /** One timer for the next time-based change: settle end, window edge, phase deadline, holder silence. */
  private arm(wakeAtMs: number | null): void {
    if (this.stopped) return;
    const now = this.deps.now();
    let next = wakeAtMs !== null && wakeAtMs > now ? wakeAtMs : Infinity;
    for (const lease of this.book.held.values()) {
      if (lease.phaseDeadlineMs > now) next = Math.min(next, lease.phaseDeadlineMs);
      const quietAt = lease.renewedAtMs + this.timeouts.holderSilenceMs;
      if (lease.state !== "rebooting" && quietAt > now) next = Math.min(next, quietAt);
    }
    if (next === this.timerAt) return;
    if (this.timer !== undefined) this.deps.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = next;
    if (next === Infinity) return;
    // Capped at a day: setTimeout cannot wait weeks, and waking early only re-decides.
    this.timer = this.deps.timers.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.request("timer");
    }, Math.min(next - now, DAY_MS));
  }
}

/** Halts the rollout in the store, with its event and log line; for the leader's engine and a follower alike. */
export async function recordHalt(deps: Pick<LeaseManagerDeps, "store" | "log">, reason: string, revision: string, node?: string, options: HaltOptions = {}): Promise<RolloutRecord> {
  const rollout = await deps.store.haltRollout(reason, revision, options);
  if (options.onlyIfCurrent && rollout.revision !== undefined && rollout.revision !== revision) {
    deps.log.info({ node, rev: revision, current: rollout.revision, reason }, "not halted: a newer revision was adopted meanwhile");
    return rollout;
  }
  await deps.store.appendEvent({ kind: "rollout-halted", ...(node ? { node } : {}), revision, message: reason });
  deps.log.warn({ node, rev: revision, reason }, "rollout halted");
  return rollout;
}
