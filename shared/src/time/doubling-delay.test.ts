// doublingDelayMs: doubling from the first wait, capped, and finite however many failures.
import { expect, it } from "vitest";
import { doublingDelayMs } from "./doubling-delay.js";

it("doubles from the first wait up to the ceiling, and stays finite after many failures", () => {
  expect([1, 2, 3, 4, 5, 6, 7].map((n) => doublingDelayMs(1_000, n, 30_000))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  // A failure count of 0 (nothing failed yet) waits the first wait.
  expect(doublingDelayMs(1_000, 0, 30_000)).toBe(1_000);
  expect(doublingDelayMs(1_000, 5_000, 30_000)).toBe(30_000);
  expect(doublingDelayMs(0, 5_000, 30_000)).toBe(0);
});
