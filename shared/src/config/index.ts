// Public surface of shared/config: schema-checked daemon configuration.
export { holdsPemCertificate } from "./pem.js";
export { checkConfig, loadConfigFile, readSecretFile, readTokenFile, secretFileExposure, isTokenText } from "./load-config.js";
export { formatIssues } from "./config-error.js";
export type { ConfigIssue, ConfigSchema } from "./config-issue.js";
