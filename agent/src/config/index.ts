// Public surface of agent/config.
export { agentConfigSchema, checkAgentConfig, type AgentConfig, type AgentConfigInput, type NodeCheckConfig, type SystemConfig } from "./agent-config.js";
export { AGENT_FLAGS } from "./agent-flags.js";
