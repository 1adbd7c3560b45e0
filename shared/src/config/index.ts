// Public surface of shared/config: schema-checked daemon configuration.
export { checkConfig, loadConfigFile, readSecretFile, formatIssues } from "./load-config.js";
