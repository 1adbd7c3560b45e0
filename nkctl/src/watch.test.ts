// watchLoop: draws at once, again on every wake-up, stops after --count or on Ctrl-C, and redraws in place on a terminal.
import { describe, expect, it } from "vitest";
import { testContext as context } from "./test-context.js";
import { watchLoop } from "./watch.js";

/** A wake-up source the test fires by hand, like the coordinator's event stream. */
function manualWakeups(): { subscribe: (wake: () => void) => () => void; fire: () => void; waiting: () => number } {
  const listeners = new Set<() => void>();
  return {
    subscribe: (wake) => {
      listeners.add(wake);
      return () => listeners.delete(wake);
    },
    fire: () => [...listeners].forEach((l) => l()),
    waiting: () => listeners.size,
  };
}

// An hour between redraws: every redraw in these tests comes from a wake-up, never from the timer.
const HOUR = 3600;

describe("watchLoop", () => {
  it("redraws on each wake-up and stops after count draws", async () => {
    const ctx = context();
    const wakes = manualWakeups();
    let n = 0;
    const done = watchLoop(ctx, { watch: true, interval: HOUR, count: 3 }, async () => {
      n++;
      queueMicrotask(() => setImmediate(wakes.fire));
      return `draw ${n}\n`;
    }, wakes.subscribe);
    await expect(done).resolves.toBe(3);
    expect(ctx.out).toEqual(["draw 1\n", "\ndraw 2\n", "\ndraw 3\n"]);
    expect(ctx.handlesInterrupt).toBe(true);
    expect(wakes.waiting()).toBe(0);
  });

  it("ends cleanly on Ctrl-C while waiting, leaving no listener behind", async () => {
    const ctx = context();
    const wakes = manualWakeups();
    let draws = 0;
    const done = watchLoop(ctx, { watch: true, interval: HOUR }, async () => {
      draws++;
      setImmediate(() => ctx.abort.abort());
      return "x\n";
    }, wakes.subscribe);
    await expect(done).resolves.toBe(1);
    expect(draws).toBe(1);
    expect(wakes.waiting()).toBe(0);
  });

  it("clears the screen before each draw on a terminal", async () => {
    const ctx = context({ isTTY: true });
    const wakes = manualWakeups();
    await watchLoop(ctx, { watch: true, interval: HOUR, count: 2 }, async () => {
      setImmediate(wakes.fire);
      return "view\n";
    }, wakes.subscribe);
    expect(ctx.out).toEqual(["\x1b[H\x1b[2Jview\n", "\x1b[H\x1b[2Jview\n"]);
  });

  it("redraws after the interval when nothing happens", async () => {
    const ctx = context();
    const wakes = manualWakeups();
    await expect(watchLoop(ctx, { watch: true, interval: 0.001, count: 2 }, async () => "a: 1\n", wakes.subscribe, "---\n")).resolves.toBe(2);
    expect(ctx.out).toEqual(["a: 1\n", "---\na: 1\n"]);
  });
});
