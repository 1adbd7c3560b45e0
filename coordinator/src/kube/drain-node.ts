// The drain algorithm: cordon, evict through the Eviction API (PDB 429s retried with backoff), wait until pods are gone.
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import type { Logger } from "../../../shared/src/log/index.js";
import { errorMessage } from "../../../shared/src/errors/index.js";
import { assertMayAct, boundedCall, formatDuration, KUBE_CALL_TIMEOUT_MS } from "./call-timeout.js";
import { callOptions } from "./kube-call.js";
import { kubeErrorMessage, statusCauses, statusCode } from "./kube-errors.js";
import type { DrainClock } from "./drain-clock.js";
import type { CordonResult, DrainOptions, DrainResult } from "./kube-driver.js";
import { planDrain, podKey } from "./node-status.js";

export interface DrainTuning {
  /** First wait after a refused eviction (429 from a PodDisruptionBudget, or a server error); doubles up to the max. */
  readonly evictRetryInitialMs: number;
  readonly evictRetryMaxMs: number;
  /** How often evicted pods are re-read until they are gone. */
  readonly podGonePollMs: number;
  /** How long one API call may go unanswered; a call that times out is retried like a network error. */
  readonly callTimeoutMs: number;
}

export const defaultDrainTuning: DrainTuning = { evictRetryInitialMs: 1_000, evictRetryMaxMs: 5_000, podGonePollMs: 1_000, callTimeoutMs: KUBE_CALL_TIMEOUT_MS };

export interface DrainDeps {
  readonly api: CoreV1Api;
  readonly clock: DrainClock;
  readonly tuning: DrainTuning;
  readonly log: Logger;
  readonly cordon: (name: string, signal: AbortSignal) => Promise<CordonResult>;
}

type EvictOutcome = { kind: "evicted" | "gone" | "aborted" } | { kind: "blocked" | "refused"; why: string };

/** Retryable: network errors, 429 and 5xx. Anything else (403, 422...) will not improve by waiting. */
function retryable(err: unknown): boolean {
  const code = statusCode(err);
  return code === undefined || code === 429 || code >= 500;
}

class Drain {
  private readonly deadline: number;
  private readonly inner = new AbortController();

  constructor(
    private readonly deps: DrainDeps,
    private readonly node: string,
    private readonly options: DrainOptions,
  ) {
    this.deadline = deps.clock.now() + options.timeoutMs;
    const outer = options.signal;
    if (outer?.aborted) this.inner.abort();
    else outer?.addEventListener("abort", () => this.inner.abort(), { once: true });
  }

  private get signal(): AbortSignal {
    return this.inner.signal;
  }

  /** One call, bounded by the call timeout and ended by the drain's abort. */
  private async call<T>(what: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      assertMayAct(what, this.options.mayAct);
    } catch (err) {
      this.inner.abort();
      throw err;
    }
    return boundedCall(what, this.deps.tuning.callTimeoutMs, call, this.signal);
  }

  private timedOut(what: string): string {
    return `drain timed out after ${formatDuration(this.options.timeoutMs)}: ${what}`;
  }

  /** Waits before the next attempt; false when the deadline passed or the drain was aborted. */
  private async backoff(delayMs: number): Promise<boolean> {
    const remaining = this.deadline - this.deps.clock.now();
    if (remaining <= 0 || this.signal.aborted) return false;
    await this.deps.clock.sleep(Math.min(delayMs, remaining), this.signal);
    return !this.signal.aborted;
  }

  async run(): Promise<DrainResult> {
    let wasCordoned = false;
    const fail = (reason: string, evicted: readonly string[] = []): DrainResult => {
      this.deps.log.warn({ node: this.node, reason }, "drain failed");
      return { ok: false, evicted, wasCordoned, reason };
    };
    try {
      wasCordoned = (await this.call(`cordoning node ${this.node}`, (s) => this.deps.cordon(this.node, s))).wasCordoned;
    } catch (err) {
      return fail(`cordon of ${this.node} failed: ${errorMessage(err)}`);
    }
    const pods = await this.listPods();
    if (typeof pods === "string") return fail(pods);
    const plan = planDrain(pods, this.options.force === true);
    if (plan.unmanaged.length > 0) {
      return fail(`pods without a controller would be lost: ${plan.unmanaged.join(", ")} (delete them or drain with force)`);
    }
    this.deps.log.info({ node: this.node, evict: plan.evict.map(podKey), skipped: plan.skipped }, "draining node");

    const outcomes = await Promise.all(plan.evict.map((pod) => this.evict(pod)));
    const evicted = plan.evict.filter((_, i) => outcomes[i]?.kind === "evicted" || outcomes[i]?.kind === "gone").map(podKey);
    const refused = outcomes.flatMap((o) => (o.kind === "refused" ? [o.why] : []));
    if (refused.length > 0) return fail(refused.join("; "), evicted);
    if (this.signal.aborted) return fail("drain aborted", evicted);
    const blocked = outcomes.flatMap((o) => (o.kind === "blocked" ? [o.why] : []));
    if (blocked.length > 0) return fail(this.timedOut(blocked.join("; ")), evicted);

    const waiting = plan.evict.filter((_, i) => outcomes[i]?.kind === "evicted");
    const stillThere = await this.waitGone(waiting);
    if (this.signal.aborted) return fail("drain aborted", evicted);
    if (stillThere.length > 0) return fail(this.timedOut(stillThere.map((p) => `pod ${p} still terminating`).join("; ")), evicted);
    this.deps.log.info({ node: this.node, evicted }, "node drained");
    return { ok: true, evicted, wasCordoned };
  }

  private async listPods(): Promise<V1Pod[] | string> {
    let delay = this.deps.tuning.evictRetryInitialMs;
    for (;;) {
      try {
        const list = await this.call(`listing pods on ${this.node}`, (s) => this.deps.api.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${this.node}` }, callOptions(s)));
        return list.items;
      } catch (err) {
        const why = `listing pods on ${this.node} failed: ${kubeErrorMessage(err)}`;
        if (this.signal.aborted) return "drain aborted";
        if (!retryable(err) || !(await this.backoff(delay))) return this.signal.aborted ? "drain aborted" : why;
        delay = Math.min(delay * 2, this.deps.tuning.evictRetryMaxMs);
      }
    }
  }

  private async evict(pod: V1Pod): Promise<EvictOutcome> {
    const key = podKey(pod);
    const name = pod.metadata?.name ?? "";
    const namespace = pod.metadata?.namespace ?? "";
    const body = { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace } };
    let delay = this.deps.tuning.evictRetryInitialMs;
    for (;;) {
      if (this.signal.aborted) return { kind: "aborted" };
      let why: string;
      try {
        await this.call(`evicting pod ${key}`, (s) => this.deps.api.createNamespacedPodEviction({ name, namespace, body }, callOptions(s)));
        return { kind: "evicted" };
      } catch (err) {
        const code = statusCode(err);
        if (code === 404) return { kind: "gone" };
        if (this.signal.aborted) return { kind: "aborted" };
        if (!retryable(err)) {
          this.inner.abort();
          return { kind: "refused", why: `eviction of pod ${key} refused: ${kubeErrorMessage(err)}` };
        }
        why = code === 429 ? `pod ${key} blocked by PodDisruptionBudget${pdbDetail(err)}` : `pod ${key}: ${kubeErrorMessage(err)}`;
        this.deps.log.debug({ node: this.node, pod: key, why }, "eviction refused, retrying");
      }
      if (!(await this.backoff(delay))) return this.signal.aborted ? { kind: "aborted" } : { kind: "blocked", why };
      delay = Math.min(delay * 2, this.deps.tuning.evictRetryMaxMs);
    }
  }

  /** Polls evicted pods until each is gone (404, or a new pod of the same name with another uid); returns the rest. */
  private async waitGone(pods: readonly V1Pod[]): Promise<string[]> {
    let pending = [...pods];
    while (pending.length > 0) {
      const gone = await Promise.all(pending.map((pod) => this.isGone(pod)));
      pending = pending.filter((_, i) => !gone[i]);
      if (pending.length === 0 || !(await this.backoff(this.deps.tuning.podGonePollMs))) break;
    }
    return pending.map(podKey);
  }

  private async isGone(pod: V1Pod): Promise<boolean> {
    try {
      const now = await this.call(`reading pod ${podKey(pod)}`, (s) => this.deps.api.readNamespacedPod({ name: pod.metadata?.name ?? "", namespace: pod.metadata?.namespace ?? "" }, callOptions(s)));
      return now.metadata?.uid !== pod.metadata?.uid;
    } catch (err) {
      // Transient read errors just mean "not known gone yet"; the deadline bounds the wait.
      return statusCode(err) === 404;
    }
  }
}

function pdbDetail(err: unknown): string {
  const causes = statusCauses(err);
  return causes.length === 0 ? "" : ` (${causes.join("; ")})`;
}

export function drainNode(deps: DrainDeps, node: string, options: DrainOptions): Promise<DrainResult> {
  return new Drain(deps, node, options).run();
}
