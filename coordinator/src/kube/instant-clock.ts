// A DrainClock for tests: sleeps advance virtual time at once, so minutes of backoff run in milliseconds.
import type { DrainClock } from "./drain-clock.js";

export class InstantClock implements DrainClock {
  nowMs = 1_000_000;
  sleeps: number[] = [];
  onSleep: (() => void) | undefined;
  now(): number {
    return this.nowMs;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.nowMs += ms;
    this.onSleep?.();
  }
}
