// Public surface of agent/apply: the pure apply state machine and its domain types.
export {
  AGENT_STATE_VERSION,
  PHASES,
  initialAgentState,
  isBad,
  isResting,
  isStuck,
  isStuckWithoutLease,
  reportedPhase,
  type AgentState,
  type BadBundle,
  type DesiredBundle,
  type Generation,
  type HeldLease,
  type LeaseKind,
  type NodeCheckSpec,
  type Phase,
  type Prebuilt,
  type RebootPolicy,
  type ReportedPhase,
  type SystemFacts,
  type Target,
} from "./agent-state.js";
export { EVENT_TYPES, type AgentEvent, type AgentEventType, type EventOf, type GuardVerdict } from "./agent-event.js";
export { LONG_EFFECTS, type Effect, type EffectOf, type EffectType, type RenewPhase } from "./effect.js";
export { DEFAULT_MACHINE_CONFIG, type MachineConfig } from "./machine-config.js";
export { decideDisruption, type DisruptionDecision, type DisruptionInput } from "./disruption.js";
export { makeTransition, transition, type Transition } from "./transition.js";
export { reportSubject, type ReportSubject } from "./report-subject.js";
export type { Result } from "./steps.js";
export { ApplyRunner, type ApplyRunnerOptions } from "./apply-runner.js";
export type { ApplyReport, Clock, HealthProbe, LeaseAnswer, LeaseClient, LeaseRequest, Reporter, StateSaver } from "./runner-ports.js";
export { systemHealthProbe } from "./system-health-probe.js";
export { withCoordinatorReachable } from "./with-coordinator-reachable.js";
