// Run counts for the property tests: CI-sized by default, `npm run fuzz -- --runs N` (NK_FUZZ_RUNS) for a long run.
import type { Parameters } from "fast-check";

/** fast-check parameters: `ciRuns` unless NK_FUZZ_RUNS says otherwise; NK_FUZZ_SEED replays a printed failure. */
export function fuzzParams<T>(ciRuns: number): Parameters<T> {
  const runs = Number(process.env.NK_FUZZ_RUNS ?? ciRuns);
  const seed = process.env.NK_FUZZ_SEED;
  return { numRuns: Number.isInteger(runs) && runs > 0 ? runs : ciRuns, ...(seed ? { seed: Number(seed) } : {}) };
}

/** A test's time limit that grows with the run count (ms per run), for long runs. */
export function fuzzTimeout(ciRuns: number, msPerRun: number, floorMs = 30_000): number {
  return Math.max(floorMs, fuzzParams(ciRuns).numRuns! * msPerRun);
}
