// Per-node health from agents' reports and connections plus Kubernetes readiness; the lease manager's "every node healthy".
import { errorMessage } from "../../../shared/src/errors/index.js";
import { silentLogger, type Logger } from "../../../shared/src/log/index.js";
import { KUBE_CALL_TIMEOUT_MS, type KubeDriver, type KubeNodeStatus } from "../kube/index.js";
import type { CheckOutcome } from "./check-dispatcher.js";
import { formatSeconds, type HealthTimers } from "./health-timers.js";

export interface NodeHealthView {
  readonly name: string;
  /** The agent has an open stream to the coordinator. */
  readonly connected: boolean;
  /** The last report is within the staleness window. */
  readonly agentFresh: boolean;
  /** What the agent last said about itself; null before its first report. */
  readonly agentHealthy: boolean | null;
  readonly checks: readonly CheckOutcome[];
  readonly lastReportMs: number;
  /** Null without Kubernetes access (NoKube); false while the API cannot be read. */
  readonly k8sReady: boolean | null;
  readonly cordoned: boolean | null;
  /** Connected, fresh, agent healthy, and Ready in Kubernetes (when there is Kubernetes). */
  readonly healthy: boolean;
  /** Why not healthy, in words; empty when healthy. */
  readonly reason: string;
}

export interface NodeHealthDeps {
  readonly kube: KubeDriver;
  readonly timers: HealthTimers;
  /** How often agents report; default 10 s. */
  readonly heartbeatMs?: number;
  /** A report older than this makes the agent stale; default 3 heartbeats. */
  readonly staleAfterMs?: number;
  /** Period of Kubernetes polling and staleness re-evaluation; default 5 s. */
  readonly pollMs?: number;
  readonly log?: Logger;
}

interface AgentState {
  connected: boolean;
  healthy: boolean | null;
  checks: readonly CheckOutcome[];
  lastReportMs: number;
}

export class NodeHealth {
  private nodes: readonly string[] = [];
  private tracked: ReadonlySet<string> = new Set();
  /** Nodes without k3s (role none): never in Kubernetes, so readiness does not apply to them. */
  private withoutK3s: ReadonlySet<string> = new Set();
  private readonly agents = new Map<string, AgentState>();
  private kubeNodes: ReadonlyMap<string, KubeNodeStatus> | null = null;
  private kubeError: string | null = null;
  private readonly views = new Map<string, NodeHealthView>();
  private readonly listeners = new Set<(view: NodeHealthView) => void>();
  private cancelTick: (() => void) | null = null;
  private started = false;
  private polling: Promise<void> | null = null;
  private readonly staleAfterMs: number;
  private readonly pollMs: number;
  private readonly log: Logger;

  constructor(private readonly deps: NodeHealthDeps) {
    this.staleAfterMs = deps.staleAfterMs ?? 3 * (deps.heartbeatMs ?? 10_000);
    this.pollMs = deps.pollMs ?? 5_000;
    this.log = deps.log ?? silentLogger();
  }

  /** The inventory's nodes; only these are tracked and shown. `withoutK3s` names the role-none hosts among them. */
  setNodes(names: readonly string[], withoutK3s: readonly string[] = []): void {
    this.tracked = new Set(names);
    this.withoutK3s = new Set(withoutK3s);
    this.nodes = [...this.tracked].sort();
    for (const name of [...this.views.keys()]) if (!this.tracked.has(name)) this.views.delete(name);
    this.recompute();
  }

  // Connections and reports concern one node: re-evaluating only it keeps a fleet connecting or
  // reporting linear (the whole fleet is re-evaluated on ticks, Kubernetes reads and inventory changes).
  noteConnected(node: string, connected: boolean): void {
    this.agent(node).connected = connected;
    this.recomputeNode(node, this.deps.timers.now());
  }

  noteReport(node: string, healthy: boolean, checks: readonly CheckOutcome[], atMs: number): void {
    const agent = this.agent(node);
    if (atMs < agent.lastReportMs) return; // an older report arriving late
    Object.assign(agent, { healthy, checks: [...checks], lastReportMs: atMs });
    this.recomputeNode(node, this.deps.timers.now());
  }

  /** Polls Kubernetes now and re-evaluates every tick after that. */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.tick();
  }

  stop(): void {
    this.started = false;
    this.cancelTick?.();
    this.cancelTick = null;
  }

  /** Reads node readiness from Kubernetes now (concurrent calls share one read). */
  refreshKube(): Promise<void> {
    this.polling ??= this.pollKube().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  view(node: string): NodeHealthView | undefined {
    return this.views.get(node);
  }

  all(): NodeHealthView[] {
    return this.nodes.map((n) => this.views.get(n)).filter((v): v is NodeHealthView => v !== undefined);
  }

  isHealthy(node: string): boolean {
    return this.views.get(node)?.healthy ?? false;
  }

  /** Fires for a node when its verdict, reason, connection, freshness, readiness or cordon changes. */
  onChange(listener: (view: NodeHealthView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async tick(): Promise<void> {
    await this.refreshKube();
    this.recompute();
    if (this.started) {
      this.cancelTick?.();
      this.cancelTick = this.deps.timers.setTimeout(() => void this.tick(), this.pollMs);
    }
  }

  private async pollKube(): Promise<void> {
    if (!this.deps.kube.enabled) return;
    try {
      // Bounded: a black-holed apiserver would otherwise stop the poll for good, with readiness frozen as last read.
      const list = await this.deps.kube.listNodes(AbortSignal.timeout(KUBE_CALL_TIMEOUT_MS));
      this.kubeNodes = new Map(list.map((n) => [n.name, n]));
      this.kubeError = null;
    } catch (err) {
      if (this.kubeError === null) this.log.warn({ err: errorMessage(err) }, "cannot read node readiness from Kubernetes");
      this.kubeError = errorMessage(err);
    }
    this.recompute();
  }

  private agent(node: string): AgentState {
    let agent = this.agents.get(node);
    if (agent === undefined) {
      agent = { connected: false, healthy: null, checks: [], lastReportMs: 0 };
      this.agents.set(node, agent);
    }
    return agent;
  }

  private recompute(): void {
    const now = this.deps.timers.now();
    for (const name of this.nodes) this.recomputeNode(name, now);
  }

  private recomputeNode(name: string, now: number): void {
    if (!this.tracked.has(name)) return;
    const next = this.compute(name, now);
    const previous = this.views.get(name);
    this.views.set(name, next);
    if (previous !== undefined && signature(previous) === signature(next)) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(next);
      } catch (err) {
        this.log.error({ err, node: name }, "node health listener failed");
      }
    }
  }

  private compute(name: string, now: number): NodeHealthView {
    const agent = this.agents.get(name) ?? { connected: false, healthy: null, checks: [], lastReportMs: 0 };
    const age = now - agent.lastReportMs;
    const agentFresh = agent.lastReportMs > 0 && age <= this.staleAfterMs;
    const reasons: string[] = [];
    if (!agent.connected) reasons.push("agent not connected");
    if (agent.lastReportMs === 0) reasons.push("agent has not reported yet");
    else if (!agentFresh) reasons.push(`no report for over ${formatSeconds(this.staleAfterMs)}`);
    if (agent.healthy === false) {
      const failing = agent.checks.filter((c) => !c.ok).map((c) => (c.message === "" ? c.name : `${c.name} (${c.message})`));
      reasons.push(failing.length === 0 ? "agent reports unhealthy" : `agent reports unhealthy: ${failing.join(", ")}`);
    }
    const kube = this.kubeView(name);
    if (kube.reason !== "") reasons.push(kube.reason);
    return {
      name,
      connected: agent.connected,
      agentFresh,
      agentHealthy: agent.healthy,
      checks: agent.checks,
      lastReportMs: agent.lastReportMs,
      k8sReady: kube.ready,
      cordoned: kube.cordoned,
      healthy: reasons.length === 0,
      reason: reasons.join("; "),
    };
  }

  private kubeView(name: string): { ready: boolean | null; cordoned: boolean | null; reason: string } {
    if (!this.deps.kube.enabled || this.withoutK3s.has(name)) return { ready: null, cordoned: null, reason: "" };
    if (this.kubeError !== null) return { ready: false, cordoned: null, reason: `Kubernetes API unreachable: ${this.kubeError}` };
    if (this.kubeNodes === null) return { ready: false, cordoned: null, reason: "Kubernetes readiness not read yet" };
    const node = this.kubeNodes.get(name);
    if (node === undefined) return { ready: false, cordoned: null, reason: "not registered in Kubernetes" };
    return { ready: node.ready, cordoned: node.cordoned, reason: node.ready === true ? "" : `Kubernetes node NotReady: ${node.readyReason}` };
  }
}

function signature(v: NodeHealthView): string {
  return JSON.stringify([v.connected, v.agentFresh, v.agentHealthy, v.k8sReady, v.cordoned, v.healthy, v.reason]);
}
