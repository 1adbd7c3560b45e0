// The effects the runner runs in the background (one at a time, aborted when the machine moves on), and their failures.
import type { AgentEvent } from "./agent-event.js";
import type { Effect } from "./effect.js";

export type LongEffect = Extract<Effect, { type: "write-bundle" | "build" | "request-lease" | "etcd-snapshot" | "drain" | "switch" | "boot-and-reboot" | "rollback-switch" | "rollback-boot-and-reboot" | "run-health" | "bless" }>;

/** The event that reports `effect` failing with `error`, as its own result would have. */
export function failureEvent(effect: LongEffect, error: string, now: number): AgentEvent {
  switch (effect.type) {
    case "write-bundle":
      return { type: "bundle-write-failed", now, sha256: effect.sha256, error };
    case "build":
      return { type: "build-failed", now, sha256: effect.sha256, error };
    case "request-lease":
      return { type: "lease-denied", now, reason: error };
    case "etcd-snapshot":
      return { type: "etcd-snapshot-failed", now, fencingToken: effect.fencingToken, name: effect.name, error };
    case "drain":
      return { type: "drain-failed", now, fencingToken: effect.fencingToken, error };
    case "run-health":
      return { type: "health-failed", now, systemPath: effect.systemPath, reason: error };
    case "bless":
      return { type: "bless-failed", now, systemPath: effect.systemPath, error };
    default:
      return { type: "activation-failed", now, systemPath: effect.systemPath, error };
  }
}
