import { expect, it } from "vitest";
import { SystemFacts } from "./system-facts.js";

it("reads real facts once and serves them from cache until the refresh interval passes", async () => {
  let now = 0;
  const facts = new SystemFacts({ refreshMs: 60_000, now: () => now, diskMount: "/" });
  const first = await facts.get();
  expect(first.kernel).toMatch(/^\d+\.\d+/);
  expect(first.cpuCores).toBeGreaterThan(0);
  expect(first.memoryTotalBytes).toBeGreaterThan(first.memoryUsedBytes);
  expect(first.diskTotalBytes).toBeGreaterThan(0);
  now = 30_000;
  expect(await facts.get()).toBe(first);
  now = 61_000;
  const second = await facts.get();
  expect(second).not.toBe(first);
  expect(second.kernel).toBe(first.kernel);
}, 20_000);
