// The inventory's rollout policy, as the grant rule and the lease manager read it (part of the typed inventory in model.ts).
import type { CronSchedule } from "./cron-expression.js";
import type { ClusterCheck, RebootPolicy } from "./model.js";

export type Weekday = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun";

/** Grants happen only inside this window (minutes since local midnight; end may wrap past midnight). */
export interface DailyWindow {
  readonly days: readonly Weekday[];
  readonly startMinute: number;
  readonly endMinute: number;
  /** IANA time zone the days and times are read in; absent means UTC. */
  readonly timezone?: string;
  /** Local dates (YYYY-MM-DD) on which the window does not open. */
  readonly exclude?: readonly string[];
}

/** A window that opens at each time a cron expression matches (local to `timezone`) and stays open `durationMinutes`. */
export interface CronWindow {
  readonly cron: CronSchedule;
  readonly durationMinutes: number;
  readonly timezone?: string;
  /** Local dates (YYYY-MM-DD) on which the window does not open. */
  readonly exclude?: readonly string[];
}

export type MaintenanceWindow = DailyWindow | CronWindow;

/** A limit given as a node count or as a percentage of a pool's nodes. */
export type UnavailableLimit = { readonly count: number } | { readonly percent: number };

/** Nodes whose labels match every selector entry; at most maxUnavailable of them disrupted at once. */
export interface RolloutPool {
  readonly name: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly maxUnavailable: UnavailableLimit;
}

/** At most `max` nodes disrupted per distinct value of `label` (e.g. one per zone). */
export interface PerLabelLimit {
  readonly label: string;
  readonly max: number;
}

/**
 * Disruptive steps of a revision go to the canaries first: the listed nodes, or the first `count` nodes to ask
 * for a lease. Once all of them are back and healthy and `soakSeconds` passed, the rollout pauses for
 * `nkctl rollout approve` (then: pause) or goes on (then: continue).
 */
export interface CanarySettings {
  readonly nodes: readonly string[];
  /** 0 when nodes are listed. */
  readonly count: number;
  readonly then: "pause" | "continue";
  readonly soakSeconds: number;
}

/**
 * FleetLock (zincati on Fedora CoreOS, Flatcar): hosts outside the inventory take reboot slots by group. Each slot
 * counts against the cluster's max_unavailable and its group's own limit, and is granted under nk's health gates.
 */
export interface FleetLockGroup {
  /** The zincati `group` (`^[a-zA-Z0-9.-]+$`; zincati's default is "default"). */
  readonly name: string;
  readonly maxUnavailable: number;
}

export interface FleetLockSettings {
  /** Empty: the FleetLock endpoint refuses every group. */
  readonly groups: readonly FleetLockGroup[];
}

/** kured's --blocking-pod-selector: while a matching pod runs on a node (or anywhere), that node's lease waits. */
export interface BlockingPods {
  /** A Kubernetes label selector (app=backup, tier in (db,cache), !skip-reboot-check). */
  readonly selector: string;
  readonly scope: "node" | "cluster";
}

export interface RolloutSettings {
  readonly maxUnavailable: number;
  readonly maxUnavailableServers: number;
  readonly reboot: RebootPolicy;
  /** Grants happen only inside one of these; empty means any time. */
  readonly windows: readonly MaintenanceWindow[];
  /** How long one disruption is expected to take; a grant needs this much left in its window. */
  readonly expectedDisruptionSeconds: number;
  readonly pools: readonly RolloutPool[];
  readonly maxUnavailablePer: PerLabelLimit | null;
  readonly canary: CanarySettings | null;
  readonly blockingPods: BlockingPods | null;
  readonly fleetlock: FleetLockSettings;
  readonly settleSeconds: number;
  readonly healthDeadlineSeconds: number;
  readonly drainTimeoutSeconds: number;
  readonly rebootTimeoutSeconds: number;
  /** A switch-to-configuration still running after this long is stopped and the node rolls back. */
  readonly activationTimeoutSeconds: number;
  /**
   * Before a k3s server on embedded etcd is disrupted (drained, or k3s restarted) its agent saves an etcd snapshot
   * (`k3s etcd-snapshot save --name nk-<revision>-<node>`); a failed snapshot halts the rollout. Default true.
   */
  readonly etcdSnapshot: boolean;
  readonly checks: readonly ClusterCheck[];
}
