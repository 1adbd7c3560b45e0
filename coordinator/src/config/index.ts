// Public surface of coordinator/config.
export { withExplainedKeys } from "./explain-unknown-keys.js";
export { coordinatorConfigSchema, isLoopbackListen, type CoordinatorConfig, type CoordinatorConfigInput } from "./coordinator-config.js";
export { COORDINATOR_FLAGS } from "./coordinator-flags.js";
