// Public surface of shared/config: schema-checked daemon configuration.
export { holdsPemCertificate } from "./pem.js";
export { checkConfig, loadConfigFile, readSecretFile, readTokenFile, secretFileExposure, isTokenText, formatIssues, type ConfigIssue, type ConfigSchema } from "./load-config.js";
