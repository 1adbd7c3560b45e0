// The agent's persisted apply state: what is applied, what is in flight, which lease is held, what went bad.
import type { RebootPolicy } from "../../../shared/src/inventory/model.js";
import type { BundleFile } from "../../../shared/src/render/index.js";

export type { RebootPolicy };

export const AGENT_STATE_VERSION = 1 as const;

/**
 * Where the agent is in applying one bundle. Resting phases (nothing in flight) are idle (nothing
 * confirmed yet, or an apply given up before touching the machine), confirmed, rolled-back and
 * failed; every other phase has exactly one long-running effect in flight, re-issued on
 * `agent-started`. `failed` is either a failed build (the machine untouched, still on the last
 * good generation) or, with `target` kept, a rollback that could not be completed or verified
 * (`isStuck`: the lease is kept until a new bundle fixes the node, or an operator retries or releases it).
 */
export type Phase =
  | "idle"
  | "fetched"
  | "building"
  | "waiting-lease"
  | "snapshotting"
  | "draining"
  | "activating"
  | "rebooting"
  | "verifying"
  | "blessing"
  | "rolling-back"
  | "rollback-rebooting"
  | "rollback-verifying"
  | "confirmed"
  | "rolled-back"
  | "failed";

export const PHASES: readonly Phase[] = [
  "idle",
  "fetched",
  "building",
  "waiting-lease",
  "snapshotting",
  "draining",
  "activating",
  "rebooting",
  "verifying",
  "blessing",
  "rolling-back",
  "rollback-rebooting",
  "rollback-verifying",
  "confirmed",
  "rolled-back",
  "failed",
];

const RESTING: ReadonlySet<Phase> = new Set<Phase>(["idle", "confirmed", "rolled-back", "failed"]);

export function isResting(phase: Phase): boolean {
  return RESTING.has(phase);
}

/**
 * The phase as the wire's ApplyPhase knows it: both rollback sub-steps read as "rolling-back", and blessing (making a
 * trial-booted generation the boot default once its health passed) as the end of "verifying".
 */
export type ReportedPhase = Exclude<Phase, "rollback-rebooting" | "rollback-verifying" | "blessing">;

export function reportedPhase(phase: Phase): ReportedPhase {
  if (phase === "blessing") return "verifying";
  return phase === "rollback-rebooting" || phase === "rollback-verifying" ? "rolling-back" : phase;
}

export type LeaseKind = "reboot" | "service-restart";

/** A node-local check run after activation; argv, never a shell string. */
export interface NodeCheckSpec {
  readonly name: string;
  readonly command: readonly string[];
  readonly expect: string;
  readonly timeoutMs: number;
}

/** Builders mode: the system a builder built for the bundle, to fetch from the cache instead of building. */
export interface Prebuilt {
  readonly systemPath: string;
  readonly cacheUrl: string;
  /** The only key whose signature the node accepts. */
  readonly cachePublicKey: string;
  /** Build the bundle here when the fetch fails (the node's build_fallback is local). */
  readonly fallbackLocal: boolean;
}

/** What the machine needs of nk.v1.Desired; shared/wire's DesiredBundle is assignable to it. */
export interface DesiredBundle {
  readonly revision: string;
  readonly sha256: string;
  readonly files: readonly BundleFile[];
  readonly rebootPolicy: RebootPolicy;
  readonly checks: readonly NodeCheckSpec[];
  /** 0 means the machine's default. */
  readonly healthDeadlineMs: number;
  /** 0 means the machine's default. */
  readonly activationTimeoutMs: number;
  /** Absent or null: build locally. */
  readonly prebuilt?: Prebuilt | null;
  /** The etcd snapshot to save once the lease is granted, before the drain or the k3s restart; absent: none. */
  readonly etcdSnapshot?: string;
}

/** A NixOS system generation known to be good (confirmed healthy). */
export interface Generation {
  readonly revision: string;
  readonly sha256: string;
  readonly systemPath: string;
}

/** The bundle being applied. Fields after `activationTimeoutMs` are filled in as the apply advances. */
export interface Target {
  readonly revision: string;
  readonly sha256: string;
  readonly bundleDir: string;
  readonly rebootPolicy: RebootPolicy;
  readonly checks: readonly NodeCheckSpec[];
  readonly healthDeadlineMs: number;
  /** How long a switch (or a rollback switch) may run before it is stopped. */
  readonly activationTimeoutMs: number;
  /** Fetch this instead of building (absent in state saved by older agents: build). */
  readonly prebuilt?: Prebuilt | null;
  /** Saved under the lease before anything is disrupted (absent in state saved by older agents: none). */
  readonly etcdSnapshot?: string | null;
  /** Store path of the built system; null until the build succeeded. */
  readonly systemPath: string | null;
  /** Set after the build: the kernel/initrd/modules differ from the booted system. */
  readonly rebootNeeded: boolean;
  /** The lease this apply needs, or null for a harmless switch. */
  readonly disruption: LeaseKind | null;
  /** The system path to roll back to, fixed when the apply starts (last good, else what was running). */
  readonly rollbackTo: string | null;
  readonly startedAt: number;
}

export interface HeldLease {
  readonly fencingToken: number;
  readonly kind: LeaseKind;
  /** A release was asked for and not yet acknowledged: re-sent after an agent restart. */
  readonly releasing: boolean;
}

/** A bundle that rolled back: not retried until its sha256 changes or an operator asks. */
export interface BadBundle {
  readonly sha256: string;
  readonly revision: string;
  readonly reason: string;
  readonly at: number;
}

/** What the runner observed on the machine at agent start (and what the machine learned since). */
export interface SystemFacts {
  readonly bootId: string;
  readonly currentSystem: string;
  readonly bootedSystem: string;
  readonly observedAt: number;
}

export interface AgentState {
  readonly version: typeof AGENT_STATE_VERSION;
  readonly phase: Phase;
  /** Last generation confirmed healthy; null on a node nk never applied to. */
  readonly applied: Generation | null;
  /** The generation confirmed before `applied`: where the self-update guard's rollback of `applied` leaves the node. */
  readonly previous: Generation | null;
  /** The applied generation runs a kernel that was not booted yet (reboot policy "never"). */
  readonly rebootPending: boolean;
  /** In flight; also kept in `failed` while stuck after a failed rollback (see `isStuck`). */
  readonly target: Target | null;
  readonly lease: HeldLease | null;
  /** Boot id when a (rollback) reboot was started; a different boot id later proves it happened. */
  readonly rebootFromBootId: string | null;
  /** Absolute time (event clock) when the current phase gives up; the runner arms a timer for it. */
  readonly deadlineAt: number | null;
  /** Per target, reset when an apply starts. */
  readonly attempts: { readonly reboot: number; readonly rollback: number };
  /** Builds of one sha256 that failed in a row; after the limit that sha256 is not built again. */
  readonly failedBuild: { readonly sha256: string; readonly attempts: number } | null;
  readonly bad: readonly BadBundle[];
  /** A newer desired bundle that arrived while a disruptive step was in flight. */
  readonly queued: { readonly revision: string; readonly sha256: string } | null;
  readonly lastError: string | null;
  readonly facts: SystemFacts | null;
  readonly updatedAt: number;
}

export function initialAgentState(now = 0): AgentState {
  return {
    version: AGENT_STATE_VERSION,
    phase: "idle",
    applied: null,
    previous: null,
    rebootPending: false,
    target: null,
    lease: null,
    rebootFromBootId: null,
    deadlineAt: null,
    attempts: { reboot: 0, rollback: 0 },
    failedBuild: null,
    bad: [],
    queued: null,
    lastError: null,
    facts: null,
    updatedAt: now,
  };
}

/** Failed after a rollback could not be completed or verified: the lease is kept for an operator. */
export function isStuck(state: AgentState): boolean {
  return state.phase === "failed" && state.target !== null;
}

/**
 * Stuck after a disruptive apply whose kept lease is gone (an operator released it, or it expired): its rollback,
 * which reboots or restarts, never runs again without a lease, so only a pushed fix moves the node.
 */
export function isStuckWithoutLease(state: AgentState): boolean {
  return isStuck(state) && state.target?.disruption != null && !holdsLease(state);
}

/**
 * A lease held and not being given back. At rest, only a node stuck after a failed rollback holds one (cordoned,
 * drained, its last good generation unhealthy); an apply started then is that node's fix, built under the same lease.
 */
export function holdsLease(s: AgentState): boolean {
  return s.lease !== null && !s.lease.releasing;
}

export function isBad(state: AgentState, sha256: string): BadBundle | undefined {
  return state.bad.find((b) => b.sha256 === sha256);
}
