/**
 * The settings nk-agent's flags give, by dot-path: a config error about one of them names the flag. --sim-dir sets
 * system.kind too (to sim), so a rule that reads the kind blames the flag, not a file that may say nixos.
 */
export const AGENT_FLAGS: Readonly<Record<string, string>> = {
  node: "--node",
  coordinators: "--coordinator",
  caFile: "--ca-file",
  tokenFile: "--token-file",
  stateDir: "--state-dir",
  "system.kind": "--sim-dir",
  "system.dir": "--sim-dir",
  logLevel: "--log-level",
};
