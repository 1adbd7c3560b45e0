// Public surface of coordinator/lease: the LeaseService contract, the LeaseManager, its dependencies and the pure grant rule.
export type { AcquireRequest, HolderPhase, LeaseService } from "./lease-service.js";
export { LeaseManager } from "./lease-manager.js";
export { withK3sVersions, type K3sVersionSource, type K3sVersions } from "./k3s-facts.js";
export {
  noDisruptionHooks,
  realTimers,
  type ClusterCheckSource,
  type DisruptionHooks,
  type DisruptionOutcome,
  type GrantObservation,
  type GrantTrigger,
  type LeaseManagerDeps,
  type LeaseManagerOptions,
  type LeaseSettings,
  type LeaseSettingsSource,
  type NodeHealthSource,
  type Timers,
} from "./lease-deps.js";
export {
  decideGrants,
  isHealthy,
  type ClusterChecksState,
  type FailingCheck,
  type GrantDecision,
  type GrantInput,
  type GrantLimits,
  type NodeHealth,
  type RoleOf,
  type RolloutGate,
} from "./grant-decision.js";
export { insideWindow, nextWindowOpen, windowCloses, formatWindow } from "./maintenance-window.js";
export { LeaderGatedLeases } from "./leader-gated-leases.js";
export type { FleetLockAnswer, FleetLockRequest } from "./fleet-locks.js";
export { FLEETLOCK_HOLDER_PREFIX } from "./fleetlock-rule.js";
