// pino JSON logging for the daemons; secrets are redacted by key name wherever they appear.
import { pino, type Logger, type LoggerOptions } from "pino";

export type { Logger } from "pino";

const REDACT_PATHS = ["token", "*.token", "secret", "*.secret", "value", "*.value", "authorization", "*.authorization", "password", "*.password"];

/**
 * `sync`: each line is written to stdout before the call returns (no buffer, no worker thread): what an idle
 * daemon wants, whose few lines must reach journald even if it is killed right after.
 */
export function createLogger(options: { name: string; level?: string; destination?: NodeJS.WritableStream; sync?: boolean }): Logger {
  const opts: LoggerOptions = {
    name: options.name,
    level: options.level ?? process.env.NK_LOG_LEVEL ?? "info",
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: { pid: process.pid },
  };
  if (options.destination) return pino(opts, options.destination as pino.DestinationStream);
  return options.sync ? pino(opts, pino.destination({ dest: 1, sync: true })) : pino(opts);
}

/** A logger that drops everything, for tests and pure code paths. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
