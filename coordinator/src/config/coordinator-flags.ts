/** The settings nk-coordinator's flags give, by dot-path: a config error about one of them names the flag. */
export const COORDINATOR_FLAGS: Readonly<Record<string, string>> = {
  stateDir: "--state-dir",
  "grpc.listen": "--grpc-listen",
  "http.listen": "--http-listen",
  logLevel: "--log-level",
};
