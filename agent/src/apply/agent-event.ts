// Everything that can happen to the apply state machine; every event carries the time it happened.
import type { DesiredBundle } from "./agent-state.js";

/**
 * Events come from three places: the runner's long-running effects (one result event each),
 * the coordinator link (desired, lease grants/losses) and the operator. Events about a target
 * carry its sha256 or system path, so a late result of a superseded effect is ignored.
 */
export type AgentEvent =
  /** The agent process started (first start, restart, kill -9, self-update, or after a reboot). */
  | {
      readonly type: "agent-started";
      readonly now: number;
      readonly bootId: string;
      readonly currentSystem: string;
      readonly bootedSystem: string;
      /** The self-update guard switched the machine back since the last start (see nixos-module/agent.nix). */
      readonly guardRolledBack?: GuardVerdict;
    }
  | { readonly type: "desired-received"; readonly now: number; readonly desired: DesiredBundle }
  /** The secrets a desired bundle needs could not be fetched: it is not applied yet, and is tried again later. */
  | { readonly type: "secrets-failed"; readonly now: number; readonly revision: string; readonly sha256: string; readonly error: string }
  | { readonly type: "bundle-written"; readonly now: number; readonly sha256: string }
  | { readonly type: "bundle-write-failed"; readonly now: number; readonly sha256: string; readonly error: string }
  /** Build, reboot detection and dry-activate all done (see the `build` effect). */
  | {
      readonly type: "build-succeeded";
      readonly now: number;
      readonly sha256: string;
      readonly systemPath: string;
      readonly rebootNeeded: boolean;
      /** Units dry-activate would restart or stop, e.g. "k3s.service". */
      readonly restartsUnits: readonly string[];
    }
  | { readonly type: "build-failed"; readonly now: number; readonly sha256: string; readonly error: string }
  | { readonly type: "lease-granted"; readonly now: number; readonly fencingToken: number }
  /** The coordinator refused the request outright (not "queued": queued is just waiting). */
  | { readonly type: "lease-denied"; readonly now: number; readonly reason: string }
  /** The coordinator revoked the held lease (force release, fenced). */
  | { readonly type: "lease-lost"; readonly now: number; readonly fencingToken: number; readonly reason: string }
  | { readonly type: "lease-released"; readonly now: number; readonly fencingToken: number }
  /** Result of `etcd-snapshot`: saved under `name`, or the command failed (`error` ends with its stderr). */
  | { readonly type: "etcd-snapshot-saved"; readonly now: number; readonly fencingToken: number; readonly name: string }
  | { readonly type: "etcd-snapshot-failed"; readonly now: number; readonly fencingToken: number; readonly name: string; readonly error: string }
  | { readonly type: "drained"; readonly now: number; readonly fencingToken: number }
  | { readonly type: "drain-failed"; readonly now: number; readonly fencingToken: number; readonly error: string }
  /** Result of switch / rollback-switch, and failure of (rollback-)boot-and-reboot before the reboot. */
  | { readonly type: "activation-succeeded"; readonly now: number; readonly systemPath: string }
  | { readonly type: "activation-failed"; readonly now: number; readonly systemPath: string; readonly error: string }
  | { readonly type: "health-passed"; readonly now: number; readonly systemPath: string }
  | { readonly type: "health-failed"; readonly now: number; readonly systemPath: string; readonly reason: string }
  /** Result of `bless`: the trial-booted system is the boot default now, or could not be made so. */
  | { readonly type: "blessed"; readonly now: number; readonly systemPath: string }
  | { readonly type: "bless-failed"; readonly now: number; readonly systemPath: string; readonly error: string }
  /** The timer the runner armed for `state.deadlineAt` fired; `detail` says what was still wrong (e.g. the last health failure). */
  | { readonly type: "deadline-passed"; readonly now: number; readonly detail?: string }
  /** Retry a bad (rolled back) or failed bundle: one sha256, or all when omitted; also unsticks a failed rollback. */
  | { readonly type: "operator-retry"; readonly now: number; readonly sha256?: string };

/** The guard's note: the system it left (`from`), whose new agent never reported alive, and why. */
export interface GuardVerdict {
  readonly from: string;
  readonly reason: string;
}

export type AgentEventType = AgentEvent["type"];
export type EventOf<T extends AgentEventType> = Extract<AgentEvent, { type: T }>;

export const EVENT_TYPES: readonly AgentEventType[] = [
  "agent-started",
  "desired-received",
  "secrets-failed",
  "bundle-written",
  "bundle-write-failed",
  "build-succeeded",
  "build-failed",
  "lease-granted",
  "lease-denied",
  "lease-lost",
  "lease-released",
  "etcd-snapshot-saved",
  "etcd-snapshot-failed",
  "drained",
  "drain-failed",
  "activation-succeeded",
  "activation-failed",
  "health-passed",
  "health-failed",
  "blessed",
  "bless-failed",
  "deadline-passed",
  "operator-retry",
];
