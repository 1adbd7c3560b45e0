// How long simulated steps take (scaled by the machine's timeScale).

export interface SimDurations {
  readonly buildMs: number;
  /** Copying a closure from the (simulated) binary cache. */
  readonly fetchMs: number;
  readonly activateMs: number;
  readonly rebootMs: number;
}

export const DEFAULT_DURATIONS: SimDurations = { buildMs: 3_000, fetchMs: 500, activateMs: 1_000, rebootMs: 5_000 };
