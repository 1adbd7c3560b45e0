// Public surface of agent/health: node health for heartbeats and the cluster checks this node runs.
export { nodeHealthNow, type NodeHealthNowDeps } from "./node-health-now.js";
export { allowedClusterChecks, executeCheck, type AllowedCheck, type CheckOutcomeMessage } from "./check-executor.js";
export { AppliedChecks } from "./applied-checks.js";
