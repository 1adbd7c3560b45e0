// Public surface of agent/secrets.
export { SecretWriter } from "./secret-writer.js";
export { DesiredIntake, type DesiredIntakeDeps } from "./desired-intake.js";
