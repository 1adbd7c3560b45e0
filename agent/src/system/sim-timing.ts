// How long simulated steps take (scaled by the machine's timeScale), and the abortable wait they take it with.

export interface SimDurations {
  readonly buildMs: number;
  /** Copying a closure from the (simulated) binary cache. */
  readonly fetchMs: number;
  readonly activateMs: number;
  readonly rebootMs: number;
}

export const DEFAULT_DURATIONS: SimDurations = { buildMs: 3_000, fetchMs: 500, activateMs: 1_000, rebootMs: 5_000 };

/** Resolves after `ms` (at once for 0); rejects with the signal's reason when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return signal?.aborted ? Promise.reject(signal.reason) : Promise.resolve();
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });
}
