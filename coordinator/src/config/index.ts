// Public surface of coordinator/config.
export { coordinatorConfigSchema, isLoopbackListen, type CoordinatorConfig, type CoordinatorConfigInput } from "./coordinator-config.js";
