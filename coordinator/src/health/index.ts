// Public surface of coordinator/health: cluster checks (coordinator- and agent-run) and per-node health.
export type { CheckDispatcher, CheckOutcome, CheckRequest } from "./check-dispatcher.js";
export { AgentCheckDispatcher, type AgentCheckDispatcherDeps, type DispatcherNode } from "./agent-check-dispatcher.js";
export { CheckRunner } from "./check-runner.js";
export { ClusterHealth, type ClusterHealthDeps, type ClusterHealthState, type FailingCheck } from "./cluster-health.js";
export { NodeHealth, type NodeHealthDeps, type NodeHealthView } from "./node-health.js";
export { systemHealthTimers, type HealthTimers } from "./health-timers.js";
