// Public surface of agent/secrets.
export { SecretWriter } from "./secret-writer.js";
