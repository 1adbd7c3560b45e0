// What the lease manager needs from the rest of the coordinator: settings, health, checks, drain hooks, time.
import type { Labels, Role, RolloutSettings } from "../../../shared/src/inventory/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import type { LeaseRecord, Store } from "../store/index.js";
import type { ClusterChecksState, NodeHealth } from "./grant-decision.js";
import type { K3sVersionSource } from "./k3s-facts.js";

/** The adopted inventory as far as leases care: rollout settings and every node's role. */
export interface LeaseSettings {
  readonly rollout: RolloutSettings;
  readonly roles: ReadonlyMap<string, Role>;
  /** Every node's labels, for pools and per-label limits; absent means no node has any. */
  readonly labels?: ReadonlyMap<string, Labels>;
}

export interface LeaseSettingsSource {
  /** Null until an inventory revision has been adopted. */
  current(): LeaseSettings | null;
  onChange(listener: () => void): () => void;
}

export interface NodeHealthSource {
  health(node: string): NodeHealth;
  /** Called when any node's health may have changed (the node's name when known). */
  onChange(listener: (node?: string) => void): () => void;
}

export interface ClusterCheckSource {
  /** `ok` is false when a check fails or errors. */
  current(): ClusterChecksState;
  onChange(listener: () => void): () => void;
  /**
   * The PromQL and alert gates evaluated again now, just before a grant (the periodic state may be seconds old):
   * the failing ones, none when all pass. Absent: the periodic state alone decides.
   */
  gatesNow?(): Promise<ClusterChecksState["failing"]>;
}

export interface DisruptionOutcome {
  readonly ok: boolean;
  readonly reason: string;
  /** Set by hooks that cordon: persisted on the lease so a restarted coordinator still knows. */
  readonly cordonedByUs?: boolean;
  readonly nodeWasCordoned?: boolean;
  /** The hook stopped because this coordinator no longer leads: nothing is recorded, the new leader carries on. */
  readonly deposed?: boolean;
}

/**
 * The Kubernetes side of a disruption, implemented by coordinator/kube. Both may take minutes and
 * may be called again for the same lease (after a coordinator restart), so they must be idempotent.
 */
export interface DisruptionHooks {
  /** Cordon and drain; called once the holder announces "draining". */
  beforeDisruption(lease: LeaseRecord): Promise<DisruptionOutcome>;
  /**
   * Whether the node is back (new boot id for reboots, expected generation, k8s Ready, node and
   * cluster checks), then uncordon unless `lease.nodeWasCordoned` (an operator cordoned it first).
   * Not ok keeps the lease held; the holder retries its release.
   */
  afterReturn(lease: LeaseRecord): Promise<DisruptionOutcome>;
  /**
   * The holder failed and gives the lease back on its last good generation: undo our cordon (never
   * an operator's). A cordon that outlived its lease would take a second node out once grants resume,
   * and the node's next drain would mistake it for an operator's and never lift it.
   */
  afterFailure(lease: LeaseRecord): Promise<DisruptionOutcome>;
}

/** For clusters the coordinator cannot reach through the Kubernetes API: nothing to drain or uncordon. */
export const noDisruptionHooks: DisruptionHooks = {
  beforeDisruption: () => Promise.resolve({ ok: true, reason: "no Kubernetes access: nothing to drain" }),
  afterReturn: () => Promise.resolve({ ok: true, reason: "no Kubernetes access: nothing to uncordon" }),
  afterFailure: () => Promise.resolve({ ok: true, reason: "no Kubernetes access: nothing to uncordon" }),
};

export interface PodLister {
  list(labelSelector: string): Promise<ReadonlyArray<{ readonly key: string; readonly node: string; readonly phase: string }>>;
}

/** Injected so tests drive time by hand. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** What set off the evaluation that produced a grant. */
export type GrantTrigger = "start" | "enqueue" | "release" | "health" | "checks" | "settings" | "resume" | "admin" | "renew" | "drain" | "timer" | "versions" | "fleetlock";

export interface GrantObservation {
  readonly lease: LeaseRecord;
  readonly trigger: GrantTrigger;
  /** From the triggering event (e.g. a health recovery) to the grant being durable. */
  readonly latencyMs: number;
}

export interface LeaseManagerOptions {
  /** How long a granted holder may take to announce "draining" (default 5 min). */
  readonly startTimeoutMs?: number;
  /** Added to the inventory's drain, reboot and health deadlines so the agent's own timeouts act first (default 60 s). */
  readonly deadlineGraceMs?: number;
  /** A holder that has not renewed for this long outside a reboot is reported (default 2 min). */
  readonly holderSilenceMs?: number;
}

export interface LeaseManagerDeps {
  readonly store: Store;
  readonly now: () => number;
  readonly timers: Timers;
  readonly log: Logger;
  readonly settings: LeaseSettingsSource;
  readonly health: NodeHealthSource;
  readonly checks: ClusterCheckSource;
  readonly hooks: DisruptionHooks;
  /** Lists pods by label selector for rollout.blocking_pods (the Kubernetes API); without it nothing blocks. */
  readonly pods?: PodLister;
  /** The k3s versions agents report, for the version-skew rule (servers before agents); without it nothing waits for it. */
  readonly k3s?: K3sVersionSource;
  /** Every grant with its latency, for metrics and the benchmark. */
  readonly onGrant?: (grant: GrantObservation) => void;
  readonly options?: LeaseManagerOptions;
}
