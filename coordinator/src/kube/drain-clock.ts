// Time for drains (deadline, retry backoff, polling), injected so tests run a 10-minute drain instantly.
import { setTimeout as sleepFor } from "node:timers/promises";

export interface DrainClock {
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemDrainClock: DrainClock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    try {
      await sleepFor(ms, undefined, signal === undefined ? undefined : { signal });
    } catch {
      // Aborted: the caller checks the signal itself.
    }
  },
};
