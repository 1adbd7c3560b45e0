// Builds the operator's view of the cluster from the live parts of the coordinator (implements StatusSource).
import type { DesiredCatalog } from "../inventory/index.js";
import type { ManifestsView } from "../manifests/manifests-view.js";
import type { LeaseService } from "../lease/lease-service.js";
import type { NodeRegistry } from "../fleet/index.js";
import type { EventRecord, NodeRecord, RolloutRecord } from "../store/index.js";
import type { ClusterSnapshot, EventView, NodeView, RolloutView, StatusSource } from "./cluster-snapshot.js";
import type { CommitFacts, RevisionRollout } from "./derive-rollouts.js";
import { RolloutJournal } from "./rollout-journal.js";
import type { BuildJobView } from "../build/build-farm.js";
import type { PlanView } from "../preview/index.js";

export interface KubeNodeFacts {
  readonly k8sReady: boolean | null;
  readonly cordoned: boolean;
}

export interface StatusBoardDeps {
  readonly version: string;
  readonly registry: NodeRegistry;
  readonly catalog: DesiredCatalog;
  readonly leases: LeaseService;
  readonly rollout: () => RolloutRecord;
  readonly kube: (node: string) => KubeNodeFacts;
  readonly leader: () => boolean;
  readonly manifests: () => ManifestsView;
  /** Preview plans, newest first. */
  readonly plans?: () => readonly PlanView[];
  /** Each node's newest build job; null outside builders mode. */
  readonly builds?: () => readonly BuildJobView[] | null;
  /** Unsafe settings this coordinator runs with, in words (e.g. no Kubernetes access). */
  readonly warnings: readonly string[];
  readonly events: { readEvents(o: { tail?: number }): Promise<EventRecord[]>; onEvent(l: (e: EventRecord) => void): () => void };
  /** Signals that fire when anything shown may have changed. */
  readonly changes: ReadonlyArray<(listener: () => void) => () => void>;
  readonly now: () => number;
  /** Author and subject of a revision, for the rollout history; without it the history names no author. */
  readonly commits?: (revision: string) => Promise<CommitFacts | null>;
}

export function eventView(e: EventRecord): EventView {
  return { seq: e.seq, timeMs: e.timeMs, kind: e.kind, node: e.node ?? "", revision: e.revision ?? "", message: e.message, fields: e.fields ?? {} };
}

export class StatusBoard implements StatusSource {
  private readonly journal: RolloutJournal;

  constructor(private readonly deps: StatusBoardDeps) {
    this.journal = new RolloutJournal({ events: this, ...(deps.commits ? { commits: deps.commits } : {}) });
  }

  private nodeView(name: string, record: NodeRecord | undefined): NodeView {
    const { catalog, registry, leases } = this.deps;
    const desired = catalog.get(name);
    const report = record?.lastReport;
    const hello = record?.lastHello;
    const info = report?.systemInfo ?? hello?.systemInfo;
    const lease = leases.held().find((l) => l.node === name) ?? leases.queue().find((l) => l.node === name);
    const kube = this.deps.kube(name);
    return {
      name,
      role: desired?.node.role ?? "agent",
      address: desired?.node.address ?? "",
      desiredRevision: desired?.revision ?? "",
      desiredSha256: desired?.bundle.sha256 ?? "",
      appliedRevision: record?.applied?.revision ?? "",
      appliedSha256: record?.applied?.sha256 ?? "",
      phase: report?.phase ?? hello?.phase ?? (record ? "unknown" : "not-enrolled"),
      reportedSha256: report?.sha256 ?? "",
      healthy: report ? report.health.healthy : null,
      checks: report?.health.checks.map((c) => ({ name: c.name, ok: c.ok, message: c.message })) ?? [],
      lastError: desired ? (report?.error ?? "") : "enrolled but not in the inventory",
      lastReportMs: Math.max(report?.atMs ?? 0, hello?.atMs ?? 0),
      agentVersion: report?.agentVersion || hello?.agentVersion || "",
      connected: registry.isConnected(name),
      enrolled: record !== undefined,
      k8sReady: kube.k8sReady,
      cordoned: kube.cordoned,
      leaseState: lease?.state ?? null,
      // A disconnected agent's last word is stale: the VIP may well have moved since.
      holdsApiVip: registry.isConnected(name) && report?.holdsApiVip === true,
      k3sRunning: report?.k3sRunning ?? "",
      k3sNext: report?.k3sNext ?? "",
      systemInfo: info
        ? {
            kernel: info.kernel,
            os: info.os,
            uptimeSeconds: info.uptimeSeconds,
            cpuModel: info.cpuModel,
            cpuCores: info.cpuCores,
            memoryTotalBytes: info.memoryTotalBytes,
            memoryUsedBytes: info.memoryUsedBytes,
            diskTotalBytes: info.diskTotalBytes,
            diskUsedBytes: info.diskUsedBytes,
          }
        : null,
    };
  }

  snapshot(): ClusterSnapshot {
    const { catalog, registry, leases } = this.deps;
    const names = new Set<string>(catalog.nodes().map((d) => d.node.name));
    for (const r of registry.all()) names.add(r.name);
    const nodes = [...names].sort().map((name) => this.nodeView(name, registry.get(name)));
    const inventoryNodes = nodes.filter((n) => n.desiredSha256 !== "");
    const record = this.deps.rollout();
    const apiVip = catalog.inventory?.cluster.k3s.api;
    const rollout: RolloutView = {
      revision: catalog.revision,
      paused: record.paused !== undefined,
      pauseReason: record.paused?.reason ?? "",
      halted: record.halted !== undefined,
      haltReason: record.halted?.reason ?? "",
      blockedReason: leases.blockedReason(),
      stage: leases.stage(),
      nodesTotal: inventoryNodes.length,
      nodesConverged: inventoryNodes.filter((n) => n.appliedSha256 === n.desiredSha256).length,
    };
    const builds = this.deps.builds?.() ?? null;
    return {
      cluster: catalog.inventory?.cluster.name ?? "",
      version: this.deps.version,
      generatedAtMs: this.deps.now(),
      leader: this.deps.leader(),
      warnings: this.deps.warnings,
      rollout,
      apiVip: apiVip ? { address: apiVip.vip, holders: nodes.filter((n) => n.holdsApiVip).map((n) => n.name) } : null,
      manifests: this.deps.manifests(),
      nodes,
      leases: leases.held(),
      queue: leases.queue(),
      ...(this.deps.plans ? { plans: this.deps.plans() } : {}),
      ...(builds ? { builds } : {}),
    };
  }

  rollouts(limit: number): Promise<readonly RevisionRollout[]> {
    return this.journal.rollouts(limit);
  }

  subscribe(listener: () => void): () => void {
    const offs = [...this.deps.changes.map((on) => on(listener)), this.journal.changed.subscribe(listener)];
    return () => offs.forEach((off) => off());
  }

  async recentEvents(limit: number): Promise<readonly EventView[]> {
    return (await this.deps.events.readEvents({ tail: limit })).map(eventView);
  }

  subscribeEvents(listener: (event: EventView) => void): () => void {
    return this.deps.events.onEvent((e) => listener(eventView(e)));
  }
}
