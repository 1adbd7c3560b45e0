// Timing helpers for the benchmarks: n runs of a function, median/min/max, and the process RSS.
import { performance } from "node:perf_hooks";

export interface Measurement {
  readonly name: string;
  readonly runsMs: readonly number[];
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** Resident set size right after the last run, in MiB. */
  readonly rssMiB: number;
  readonly goalMs?: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `fn` `runs` times (no warm-up: the first, cold run counts, as it does for a push). */
export function measure<T>(name: string, runs: number, fn: () => T, check: (result: T) => void, goalMs?: number): Measurement {
  const runsMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const result = fn();
    runsMs.push(performance.now() - start);
    check(result);
  }
  const base = { name, runsMs, medianMs: median(runsMs), minMs: Math.min(...runsMs), maxMs: Math.max(...runsMs), rssMiB: process.memoryUsage().rss / 2 ** 20 };
  return goalMs === undefined ? base : { ...base, goalMs };
}

export function formatMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 1 ? `${ms.toFixed(1)} ms` : `${(ms * 1000).toFixed(0)} µs`;
}
