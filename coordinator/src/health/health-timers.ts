// Time for health tracking (clock and one-shot timers), injected so tests drive it by hand.

export interface HealthTimers {
  now(): number;
  /** Runs `fn` once after `ms`; the returned function cancels it. */
  setTimeout(fn: () => void, ms: number): () => void;
}

/** Real time; timers are unref'd so a pending health tick never keeps the process alive. */
export const systemHealthTimers: HealthTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return () => clearTimeout(handle);
  },
};

export function formatSeconds(ms: number): string {
  return ms < 1_000 ? `${ms}ms` : `${Number((ms / 1_000).toFixed(1))}s`;
}
