import { expect, it } from "vitest";
import { Backoff } from "./backoff.js";

it("grows exponentially up to the cap, jittered, and resets", () => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
  expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000, 1000]);
  b.reset();
  expect(b.next()).toBe(100);
  const half = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.5 });
  expect([half.next(), half.next()]).toEqual([50, 100]);
});
