// The wait before retry number `failures`: the first wait, doubled after each further failure, up to a ceiling.

/** `failures` counts from 1 (the first retry waits `firstMs`); the result never exceeds `maxMs`. */
export function doublingDelayMs(firstMs: number, failures: number, maxMs: number): number {
  // The exponent is bounded so a long outage neither overflows to Infinity nor turns a zero first wait into NaN.
  return Math.min(maxMs, firstMs * 2 ** Math.min(Math.max(0, failures - 1), 30));
}
