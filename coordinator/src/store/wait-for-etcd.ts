// A coordinator that starts before etcd is reachable (a rack powering up, etcd restarting) waits for it instead of
// exiting: a crash loop under systemd said nothing more useful, and a start bound (the chaos harness's, an operator's
// script) saw a failure where only patience was needed. Errors that waiting cannot fix still end the start at once.
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";

export interface WaitForEtcdOptions {
  readonly log: Logger;
  /** First pause between attempts; doubles up to maxDelayMs. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** How often the still-waiting warning repeats. */
  readonly warnEveryMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** etcd3's error classes for these, told apart by class name: importing etcd3 here would load it on the file store too. */
const TRANSIENT = new Set(["GRPCUnavailableError", "GRPCDeadlineExceededError", "BrokenCircuitError"]);

/** Unreachable, timed out, or etcd3's circuit breaker open after such failures: worth another try. */
export function isTransientEtcdError(err: unknown): boolean {
  return err instanceof Error && (TRANSIENT.has(err.constructor.name) || TRANSIENT.has(err.name) || /circuit breaker is open/.test(err.message));
}

/**
 * Calls `attempt` until it succeeds and returns its result; failures caused by a transient etcd error are retried with
 * backoff, any other is thrown. `attempt` is a cheap read (before the store opens) or the coordinator's whole start,
 * which undoes itself when it fails (etcd can go away between that read and the start's own reads: seed 24600025).
 */
export async function waitForEtcd<T>(attempt: () => Promise<T>, endpoints: readonly string[], options: WaitForEtcdOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = now();
  let delay = options.initialDelayMs ?? 250;
  let warnedAt = -Infinity;
  for (let attempts = 1; ; attempts++) {
    try {
      const result = await attempt();
      if (attempts > 1) options.log.info({ endpoints, attempts, waitedMs: now() - started }, "etcd reachable; starting");
      return result;
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause ?? err;
      if (!isTransientEtcdError(cause)) throw err;
      if (now() - warnedAt >= (options.warnEveryMs ?? 30_000)) {
        warnedAt = now();
        options.log.warn({ endpoints, attempts, err: errorMessage(err) }, "etcd unreachable at start; waiting for it");
      }
    }
    await sleep(delay);
    delay = Math.min(delay * 2, options.maxDelayMs ?? 5_000);
  }
}
