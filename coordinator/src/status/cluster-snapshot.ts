// Read-only views of the cluster that the status page, JSON API, metrics and nkctl all show.
import type { BuildJobView } from "../build/build-farm.js";
import type { PlanView } from "../preview/index.js";
import type { Role } from "../../../shared/src/inventory/index.js";
import type { ManifestsView } from "../manifests/manifests-view.js";
import type { RevisionRollout } from "./derive-rollouts.js";

export interface CheckView {
  readonly name: string;
  readonly ok: boolean;
  readonly message: string;
}

export interface SystemInfoView {
  readonly kernel: string;
  readonly os: string;
  readonly uptimeSeconds: number;
  readonly cpuModel: string;
  readonly cpuCores: number;
  readonly memoryTotalBytes: number;
  readonly memoryUsedBytes: number;
  readonly diskTotalBytes: number;
  readonly diskUsedBytes: number;
}

export interface NodeView {
  readonly name: string;
  readonly role: Role;
  readonly address: string;
  readonly desiredRevision: string;
  readonly desiredSha256: string;
  readonly appliedRevision: string;
  readonly appliedSha256: string;
  /** Apply phase as the agent last reported it, lower-case words ("waiting-lease", "confirmed"...). */
  readonly phase: string;
  /** The bundle that report is about: for "rolled-back" the one the node rolled back from, which a newer push may have replaced as desired. */
  readonly reportedSha256: string;
  /** Null until the agent has reported health at least once. */
  readonly healthy: boolean | null;
  readonly checks: readonly CheckView[];
  readonly lastError: string;
  readonly lastReportMs: number;
  readonly agentVersion: string;
  readonly connected: boolean;
  readonly enrolled: boolean;
  /** Null when the coordinator has no Kubernetes access. */
  readonly k8sReady: boolean | null;
  readonly cordoned: boolean;
  readonly leaseState: string | null;
  readonly systemInfo: SystemInfoView | null;
  /** The connected agent last reported the API VIP on one of the node's interfaces. */
  readonly holdsApiVip: boolean;
  /** The k3s version the node runs and the one its built system would run (version skew); "" when unknown. */
  readonly k3sRunning: string;
  readonly k3sNext: string;
}

/** The API VIP (cluster.k3s.api) and who holds it: one node normally, none during a failover, two in a split brain. */
export interface ApiVipView {
  readonly address: string;
  readonly holders: readonly string[];
}

export interface LeaseView {
  readonly node: string;
  readonly role: Role;
  readonly kind: "reboot" | "service-restart";
  /** queued, granted, draining, drained, rebooting, verifying. */
  readonly state: string;
  readonly fencingToken: number;
  readonly revision: string;
  readonly requestedAtMs: number;
  readonly grantedAtMs: number;
  readonly phaseDeadlineMs: number;
  /** 1-based position for queued leases, 0 for held ones. */
  readonly queuePosition: number;
  /** Why a queued lease waits, in words; empty for held leases. */
  readonly waitingReason: string;
  /** The etcd snapshot the holder saved before its disruption; absent if none (yet). */
  readonly etcdSnapshot?: string;
}

export interface RolloutView {
  readonly revision: string;
  readonly paused: boolean;
  readonly pauseReason: string;
  readonly halted: boolean;
  readonly haltReason: string;
  /** Why the next grant is blocked right now; empty when nothing blocks. */
  readonly blockedReason: string;
  /** Canary stage of the revision: canary, soaking, awaiting-approval, done; empty without rollout.canary. */
  readonly stage: string;
  readonly nodesTotal: number;
  readonly nodesConverged: number;
}

export interface ClusterSnapshot {
  readonly cluster: string;
  readonly version: string;
  readonly generatedAtMs: number;
  readonly leader: boolean;
  /** Unsafe settings this coordinator runs with, in words; empty when none. */
  readonly warnings: readonly string[];
  readonly rollout: RolloutView;
  /** Null when the inventory has no API VIP. */
  readonly apiVip: ApiVipView | null;
  /** Applying manifests/ to the cluster: state, last error, each object's outcome and health. */
  readonly manifests: ManifestsView;
  readonly nodes: readonly NodeView[];
  /** Held leases. */
  readonly leases: readonly LeaseView[];
  /** Waiting requests in grant order. */
  readonly queue: readonly LeaseView[];
  /** Preview plans, newest first (build-only: nothing of them is applied). */
  readonly plans?: readonly PlanView[];
  /** builders mode only: each node's newest build job (queued, building, pushed, failed). */
  readonly builds?: readonly BuildJobView[];
}

export interface EventView {
  readonly seq: number;
  readonly timeMs: number;
  readonly kind: string;
  readonly node: string;
  readonly revision: string;
  readonly message: string;
  readonly fields: Readonly<Record<string, string>>;
}

/** What the HTTP layer reads; the coordinator core implements it. */
export interface StatusSource {
  /** The newest `limit` rollouts, newest first, derived from the event journal (see deriveRollouts). */
  rollouts(limit: number): Promise<readonly RevisionRollout[]>;
  snapshot(): ClusterSnapshot;
  /** Called (coalesced) whenever anything in the snapshot may have changed. */
  subscribe(listener: () => void): () => void;
  recentEvents(limit: number): Promise<readonly EventView[]>;
  subscribeEvents(listener: (event: EventView) => void): () => void;
}

/** Operator actions the admin HTTP API exposes; the same ones AdminService offers over gRPC. */
export interface AdminActions {
  pause(reason: string): Promise<RolloutView>;
  resume(): Promise<RolloutView>;
  /** Lets the revision go on past its canaries (nkctl rollout approve). */
  approve(): Promise<RolloutView>;
  releaseLease(node: string, force: boolean, reason: string): Promise<{ released: boolean; message: string }>;
  enrollNode(node: string): Promise<{ node: string; token: string }>;
}
