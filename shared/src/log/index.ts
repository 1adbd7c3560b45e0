// Public surface of shared/log.
export { createLogger, silentLogger, type Logger } from "./logger.js";
