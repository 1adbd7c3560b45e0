// Drain before a disruption and "is it really back?" after it, on top of the Kubernetes driver and health.
import { isNkError } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import type { NodeRegistry } from "../fleet/index.js";
import { assertMayAct, boundedCall, KUBE_CALL_TIMEOUT_MS, type CordonResult, type DrainResult, type KubeDriver, type KubeNodeStatus } from "../kube/index.js";
import type { Leadership } from "../leader/index.js";
import type { DisruptionHooks, DisruptionOutcome } from "../lease/index.js";
import type { LeaseRecord } from "../store/index.js";

export interface KubeDisruptionHooksDeps {
  readonly kube: KubeDriver;
  readonly registry: NodeRegistry;
  /** Current cluster checks, evaluated now (not a cached answer). */
  readonly clusterChecks: () => Promise<{ ok: boolean; failing: readonly { name: string; message: string }[] }>;
  readonly drainTimeoutMs: () => number;
  readonly log: Logger;
  /**
   * Drains and uncordons are the leader's alone, and Kubernetes does not fence them: a coordinator deposed while a
   * hook runs (its etcd lease expired while it waited on a cluster check or an eviction) must not act after it. Absent:
   * a lone coordinator, always leading.
   */
  readonly leadership?: Pick<Leadership, "isLeader" | "onChange">;
  /**
   * How long one Kubernetes call here (a node's status, an uncordon) may go unanswered; default 10 s. A call that
   * times out fails the hook with a reason naming it, and the lease stays: the release or drain is tried again.
   * The drain's own calls are bounded by the driver (DrainTuning.callTimeoutMs) and its deadline.
   */
  readonly callTimeoutMs?: number;
}

const NOT_LEADING: DisruptionOutcome = { ok: false, reason: "this coordinator no longer leads: the new leader drains and uncordons", deposed: true };

export class KubeDisruptionHooks implements DisruptionHooks {
  constructor(private readonly deps: KubeDisruptionHooksDeps) {}

  async beforeDisruption(lease: LeaseRecord): Promise<DisruptionOutcome> {
    const { kube } = this.deps;
    if (lease.role === "none") return { ok: true, reason: `${lease.node} runs no k3s (role none): nothing to drain` };
    if (!kube.enabled) return { ok: true, reason: "no Kubernetes access: nothing to drain" };
    // Losing leadership aborts the status read and the drain between its calls: a deposed leader evicts nothing more.
    return this.whileLeading(async (leading) => {
      const status = await this.nodeStatus(lease.node, leading);
      if (status.exists === false) return { ok: true, reason: `${lease.node} is not a Kubernetes node yet: nothing to drain` };
      if (!this.leads()) return NOT_LEADING;
      // The marker names this lease, so a re-run after a coordinator crash recognises its own cordon
      // (even if the crash came before the first run's outcome was saved) and still uncordons afterwards.
      const result = await kube.drain(lease.node, { timeoutMs: this.deps.drainTimeoutMs(), marker: markerOf(lease), signal: leading, mayAct: () => this.leads() });
      if (leading.aborted || !this.leads()) return NOT_LEADING;
      return this.drained(lease, result);
    });
  }

  async afterReturn(lease: LeaseRecord): Promise<DisruptionOutcome> {
    const { kube, registry } = this.deps;
    const report = registry.get(lease.node)?.lastReport;
    if (!report) return { ok: false, reason: `${lease.node} has not reported since the disruption` };
    if (lease.kind === "reboot" && lease.bootIdAtGrant && report.bootId === lease.bootIdAtGrant) {
      return { ok: false, reason: `${lease.node} has not rebooted yet (boot id unchanged)` };
    }
    if (!report.health.healthy) {
      const failing = report.health.checks.filter((c) => !c.ok).map((c) => c.name);
      return { ok: false, reason: `${lease.node} is not healthy${failing.length ? ` (${failing.join(", ")})` : ""}` };
    }
    return this.whileLeading(async (leading) => {
      // A host without k3s (role none) has no kubelet: its agent's health and the cluster checks decide.
      if (kube.enabled && lease.role !== "none") {
        // With Kubernetes configured, a node it does not know (yet, or any more) is not back: its kubelet must be Ready.
        const status = await this.nodeStatus(lease.node, leading);
        if (status.exists !== true) return { ok: false, reason: `${lease.node} is not registered in Kubernetes: not back until its kubelet has joined and is Ready` };
        if (status.ready !== true) return { ok: false, reason: `Kubernetes node ${lease.node} is not Ready: ${status.readyReason}` };
      }
      const checks = await this.deps.clusterChecks();
      if (!checks.ok) return { ok: false, reason: `cluster checks failing: ${checks.failing.map((f) => `${f.name} (${f.message})`).join(", ")}` };
      // The checks take a while: leadership may have gone meanwhile (the slot stays held; the new leader returns it).
      if (!this.leads()) return NOT_LEADING;
      // Never uncordon a node that an operator had cordoned before the lease.
      if (!(kube.enabled && lease.cordonedByUs && !lease.nodeWasCordoned)) return { ok: true, reason: "back and healthy" };
      const kept = (await this.uncordon(lease, leading)).wasCordoned;
      return { ok: true, reason: kept ? `back and healthy; left cordoned: its cordon does not carry this lease's marker (${markerOf(lease)})` : "back, healthy and uncordoned" };
    });
  }

  async afterFailure(lease: LeaseRecord): Promise<DisruptionOutcome> {
    if (!this.deps.kube.enabled || lease.role === "none" || !lease.cordonedByUs || lease.nodeWasCordoned) return { ok: true, reason: "not cordoned by nk" };
    return this.whileLeading(async (leading) => {
      const kept = (await this.uncordon(lease, leading)).wasCordoned;
      // Kept: the cordon is someone else's (nodeWasCordoned), which the lease then records and its messages say.
      return kept ? { ok: true, reason: `left cordoned: its cordon does not carry this lease's marker (${markerOf(lease)})`, cordonedByUs: false, nodeWasCordoned: true } : { ok: true, reason: "uncordoned" };
    });
  }

  /** The drain's outcome as the lease records it: whose cordon the node now has. */
  private drained(lease: LeaseRecord, result: DrainResult): DisruptionOutcome {
    const nodeWasCordoned = lease.cordonedByUs ? lease.nodeWasCordoned : result.wasCordoned;
    this.deps.log.info({ node: lease.node, evicted: result.evicted.length, ok: result.ok }, "drain finished");
    return {
      ok: result.ok,
      reason: result.ok ? `drained (${result.evicted.length} pod(s) evicted)` : (result.reason ?? "drain failed"),
      cordonedByUs: !nodeWasCordoned,
      nodeWasCordoned,
    };
  }

  private leads(): boolean {
    return this.deps.leadership?.isLeader() ?? true;
  }

  /**
   * Runs `work` with a signal that aborts when leadership is lost; NOT_LEADING when it is lost already, or when a call
   * the loss cut short threw. Outcomes `work` returns stand (its own checks of leads() decide).
   */
  private async whileLeading(work: (leading: AbortSignal) => Promise<DisruptionOutcome>): Promise<DisruptionOutcome> {
    if (!this.leads()) return NOT_LEADING;
    const abort = new AbortController();
    const off = this.deps.leadership?.onChange((leader) => void (leader || abort.abort()));
    try {
      return await work(abort.signal);
    } catch (err) {
      if (abort.signal.aborted || isNkError(err, "NOT_LEADER")) return NOT_LEADING;
      throw err;
    } finally {
      off?.();
    }
  }

  private nodeStatus(node: string, leading: AbortSignal): Promise<KubeNodeStatus> {
    return this.leaderCall(`reading node ${node}`, (signal) => this.deps.kube.nodeStatus(node, signal), leading);
  }

  /**
   * Only a cordon carrying this lease's marker is lifted: if the cordon's own call failed, the lease may say nk
   * cordoned a node an operator had cordoned, and that cordon must stay.
   */
  private uncordon(lease: LeaseRecord, leading: AbortSignal): Promise<CordonResult> {
    return this.leaderCall(`uncordoning node ${lease.node}`, (signal) => this.deps.kube.uncordon(lease.node, signal, markerOf(lease), () => this.leads()), leading);
  }

  /** Bounded, and not sent once leadership is gone, even before its loss was announced (a paused process). */
  private async leaderCall<T>(what: string, call: (signal: AbortSignal) => Promise<T>, leading: AbortSignal): Promise<T> {
    assertMayAct(what, () => this.leads());
    return boundedCall(what, this.timeoutMs(), call, leading);
  }

  private timeoutMs(): number {
    return this.deps.callTimeoutMs ?? KUBE_CALL_TIMEOUT_MS;
  }
}

/** Left on a node nk cordoned for this lease: a re-run recognises its own cordon, and an uncordon lifts only it. */
function markerOf(lease: LeaseRecord): string {
  return `lease-${lease.fencingToken}`;
}
