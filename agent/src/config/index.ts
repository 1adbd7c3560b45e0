// Public surface of agent/config.
export { agentConfigSchema, type AgentConfig, type AgentConfigInput } from "./agent-config.js";
