// Public surface of coordinator/config.
export { coordinatorConfigSchema, type CoordinatorConfig, type CoordinatorConfigInput } from "./coordinator-config.js";
