// Holder phases (pure): which state an announcement leads to and the coordinator's deadline for each state.
import type { RolloutSettings } from "../../../shared/src/inventory/index.js";
import type { LeaseRecord, LeaseStateName } from "../store/index.js";
import type { HolderPhase } from "./lease-service.js";

export interface PhaseTimeouts {
  readonly startTimeoutMs: number;
  readonly deadlineGraceMs: number;
}

/** The deadline phase named on the lease record for each holder state. */
export function phaseName(state: LeaseStateName): string {
  switch (state) {
    case "granted":
      return "start";
    case "draining":
      return "drain";
    case "drained":
    case "rebooting":
      return "reboot-return";
    case "verifying":
      return "verify";
  }
}

/** How long a holder may stay in `state`, on the coordinator's clock. */
export function phaseBudgetMs(state: LeaseStateName, rollout: RolloutSettings, t: PhaseTimeouts): number {
  switch (state) {
    case "granted":
      return t.startTimeoutMs;
    case "draining":
      return rollout.drainTimeoutSeconds * 1000 + t.deadlineGraceMs;
    // "drained" covers the switch of a service-restart lease as well as the wait before a reboot.
    case "drained":
    case "rebooting":
      return rollout.rebootTimeoutSeconds * 1000 + t.deadlineGraceMs;
    case "verifying":
      return rollout.healthDeadlineSeconds * 1000 + t.deadlineGraceMs;
  }
}

/**
 * The state a holder's announcement moves the lease to; the same state means a plain renewal
 * (which must not move the deadline, or a stuck holder could extend it forever). "drained" is
 * the coordinator's to set, after its drain succeeded, and a holder never goes back to draining.
 */
export function announcedState(current: LeaseStateName, announced: HolderPhase): LeaseStateName {
  switch (announced) {
    case "granted":
    case "drained":
      return current;
    case "draining":
      return current === "granted" ? "draining" : current;
    case "rebooting":
    case "verifying":
      return announced;
  }
}

/** Why a node's failure halted the rollout: "node n2 failed: <what the agent said>". */
export function failedHaltReason(node: string, reason: string): string {
  return `node ${node} failed: ${reason || "no reason given"}`;
}

/** "node n2 missed its reboot-return deadline ..."; the prefix identifies halts a node's return may lift. */
export function deadlineHaltPrefix(node: string): string {
  return `node ${node} missed its `;
}

export function deadlineHaltReason(lease: LeaseRecord): string {
  const at = new Date(lease.phaseDeadlineMs).toISOString();
  return `${deadlineHaltPrefix(lease.node)}${lease.phase} deadline (${lease.state}, due ${at}); lease #${lease.fencingToken} stays held until the node returns or an operator force-releases it`;
}
