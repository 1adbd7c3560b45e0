// Public surface of agent/facts.
export { SystemFacts, type SystemFactsOptions } from "./system-facts.js";
