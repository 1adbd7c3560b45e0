// Prometheus metrics of the coordinator on a private registry: fleet gauges computed from the snapshot at scrape time, plus counters the core feeds.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ClusterSnapshot } from "../status/index.js";
import { isConverged } from "./is-converged.js";

export type PushResult = "accepted" | "rejected";
/** Long-lived gRPC server streams, one label value per RPC (bounded set, never a node or token). */
export type GrpcStreamKind = "watch_desired" | "acquire_lease" | "admin_events";
export type LeaseKind = "reboot" | "service-restart";

export interface CoordinatorMetricsOptions {
  /** Process metrics (CPU, memory, event loop lag, GC) with the nk_ prefix; default true. */
  readonly defaultMetrics?: boolean;
}

export class CoordinatorMetrics {
  readonly registry = new Registry();
  private source: (() => ClusterSnapshot) | null = null;
  private cached: ClusterSnapshot | null = null;

  private readonly pushes = new Counter({ name: "nk_git_pushes_total", help: "git pushes by validation result", labelNames: ["result"] as const, registers: [this.registry] });
  private readonly renders = new Counter({ name: "nk_renders_total", help: "inventory renders", registers: [this.registry] });
  private readonly renderSeconds = new Histogram({
    name: "nk_render_duration_seconds",
    help: "time to validate and render one revision",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private buildSource: (() => Readonly<Record<string, number>>) | null = null;
  private readonly buildJobs = (() => {
    const metrics = this;
    return new Gauge({
      name: "nk_build_jobs",
      help: "builders mode: nodes whose newest build job is in this state",
      labelNames: ["state"] as const,
      registers: [this.registry],
      collect(this: Gauge) {
        this.reset();
        for (const [state, count] of Object.entries(metrics.buildSource?.() ?? {})) this.set({ state }, count);
      },
    });
  })();
  private readonly grpcStreams = new Gauge({ name: "nk_grpc_streams_open", help: "open gRPC server streams", labelNames: ["stream"] as const, registers: [this.registry] });
  private readonly heldBack = new Gauge({
    name: "nk_desired_streams_held_back",
    help: "agents' desired streams holding a bundle back because the store names another for the node (this coordinator trails or leads the store)",
    registers: [this.registry],
  });
  private readonly deliverySeconds = new Histogram({
    name: "nk_desired_delivery_latency_seconds",
    help: "from a revision being accepted to its desired state reaching a connected agent",
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly leaseGrants = new Counter({ name: "nk_lease_grants_total", help: "leases granted", labelNames: ["kind"] as const, registers: [this.registry] });
  private readonly leaseGrantSeconds = new Histogram({
    name: "nk_lease_grant_latency_seconds",
    help: "time a lease request waited in the queue before its grant",
    labelNames: ["kind"] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
    registers: [this.registry],
  });
  private readonly notifications = new Counter({ name: "nk_notifications_total", help: "rollout notification attempts by target and outcome", labelNames: ["target", "outcome"] as const, registers: [this.registry] });
  private readonly fleetLockRequests = new Counter({ name: "nk_fleetlock_requests_total", help: "FleetLock requests (zincati) by operation and outcome: ok or the protocol's error kind", labelNames: ["op", "outcome"] as const, registers: [this.registry] });
  private readonly reports = new Counter({ name: "nk_reports_received_total", help: "agent reports received", registers: [this.registry] });
  private readonly manifestApplies = new Counter({ name: "nk_manifest_applies_total", help: "applies of manifests/ to the cluster, by result", labelNames: ["result"] as const, registers: [this.registry] });
  private readonly manifestApplySeconds = new Histogram({ name: "nk_manifest_apply_duration_seconds", help: "time to apply (and prune) manifests/ once", buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300], registers: [this.registry] });
  private readonly manifestPrunes = new Counter({ name: "nk_manifest_objects_pruned_total", help: "objects deleted because they left manifests/", registers: [this.registry] });

  constructor(options: CoordinatorMetricsOptions = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "nk_" });
    this.defineSnapshotGauges();
  }

  /** Where scrape-time gauges read the fleet from; buildHttpApp attaches the StatusSource it serves. */
  attachStatus(source: { snapshot(): ClusterSnapshot }): void {
    this.source = () => source.snapshot();
  }

  pushReceived(result: PushResult): void {
    this.pushes.inc({ result });
  }

  renderFinished(durationSeconds: number): void {
    this.renders.inc();
    this.renderSeconds.observe(durationSeconds);
  }

  /** A desired stream began (true) or stopped (false) holding its node's bundle back. */
  desiredHeldBack(held: boolean): void {
    if (held) this.heldBack.inc();
    else this.heldBack.dec();
  }

  /** Counts a stream as open; call the returned function once when it ends (extra calls are ignored). */
  grpcStreamOpened(stream: GrpcStreamKind): () => void {
    this.grpcStreams.inc({ stream });
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.grpcStreams.dec({ stream });
    };
  }

  desiredDelivered(latencySeconds: number): void {
    this.deliverySeconds.observe(latencySeconds);
  }

  leaseGranted(kind: LeaseKind, waitedSeconds: number): void {
    this.leaseGrants.inc({ kind });
    this.leaseGrantSeconds.observe({ kind }, waitedSeconds);
  }

  /** A rollout notification attempt's outcome (delivered, retried, failed) per notify target. */
  notification(target: string, outcome: "delivered" | "retried" | "failed"): void {
    this.notifications.inc({ target, outcome });
  }

  /** One FleetLock request's answer; `outcome` is "ok" or one of a small fixed set of error kinds. */
  fleetLockRequest(op: "pre-reboot" | "steady-state", outcome: string): void {
    this.fleetLockRequests.inc({ op, outcome });
  }

  reportReceived(): void {
    this.reports.inc();
  }

  manifestApply(ok: boolean, seconds: number, pruned: number): void {
    this.manifestApplies.inc({ result: ok ? "ok" : "failed" });
    this.manifestApplySeconds.observe(seconds);
    this.manifestPrunes.inc(pruned);
  }

  /** Builders mode: each node's newest build job's state (queued, building, pushed, failed), counted at every scrape. */
  setBuildSource(source: () => Readonly<Record<string, number>>): void {
    this.buildJobs.reset();
    this.buildSource = source;
  }

  /** The exposition text and its content type, for GET /metrics. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  // One snapshot per scrape: the registry runs every collect() in the same synchronous stretch.
  private snapshot(): ClusterSnapshot | null {
    if (this.source === null) return null;
    if (this.cached === null) {
      this.cached = this.source();
      queueMicrotask(() => {
        this.cached = null;
      });
    }
    return this.cached;
  }

  private defineSnapshotGauges(): void {
    const gauge = (name: string, help: string, labelNames: readonly string[], fill: (g: Gauge, s: ClusterSnapshot) => void): void => {
      const metrics = this;
      new Gauge({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect(this: Gauge) {
          this.reset();
          const s = metrics.snapshot();
          if (s !== null) fill(this, s);
        },
      });
    };
    gauge("nk_coordinator_leader", "1 when this coordinator is the leader", [], (g, s) => g.set(s.leader ? 1 : 0));
    gauge("nk_nodes_total", "nodes in the inventory", [], (g, s) => g.set(s.nodes.length));
    gauge("nk_nodes", "nodes by apply phase", ["phase"], (g, s) => {
      const byPhase = new Map<string, number>();
      for (const n of s.nodes) byPhase.set(n.phase || "unknown", (byPhase.get(n.phase || "unknown") ?? 0) + 1);
      for (const [phase, count] of byPhase) g.set({ phase }, count);
    });
    // Unknown health (no report yet) is left out rather than counted as unhealthy.
    gauge("nk_node_healthy", "1 when the node's last health report passed", ["node"], (g, s) => {
      for (const n of s.nodes) if (n.healthy !== null) g.set({ node: n.name }, n.healthy ? 1 : 0);
    });
    gauge("nk_node_connected", "1 while the node's agent is connected", ["node"], (g, s) => {
      for (const n of s.nodes) g.set({ node: n.name }, n.connected ? 1 : 0);
    });
    gauge("nk_node_converged", "1 when the node runs its desired bundle", ["node"], (g, s) => {
      for (const n of s.nodes) g.set({ node: n.name }, isConverged(n) ? 1 : 0);
    });
    gauge("nk_leases_held", "leases currently held", [], (g, s) => g.set(s.leases.length));
    // Negative once passed: a passed deadline halts the rollout, so alerts fire before it.
    gauge("nk_lease_deadline_seconds", "seconds until a held lease's current phase deadline, by node and lease state", ["node", "state"], (g, s) => {
      for (const l of s.leases) if (l.phaseDeadlineMs > 0) g.set({ node: l.node, state: l.state }, (l.phaseDeadlineMs - s.generatedAtMs) / 1000);
    });
    gauge("nk_manifests_failing", "1 while the last apply of manifests/ failed (it is retried with backoff)", [], (g, s) => g.set(s.manifests.state === "failed" ? 1 : 0));
    gauge("nk_lease_queue_length", "lease requests waiting", [], (g, s) => g.set(s.queue.length));
    gauge("nk_rollout_paused", "1 while an operator has paused the rollout", [], (g, s) => g.set(s.rollout.paused ? 1 : 0));
    gauge("nk_rollout_halted", "1 while the rollout is halted by a failure or a passed deadline", [], (g, s) => g.set(s.rollout.halted ? 1 : 0));
  }
}
