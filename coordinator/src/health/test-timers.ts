// Hand-driven HealthTimers for tests: time moves only when a test advances it.
import type { HealthTimers } from "./health-timers.js";

interface Entry {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** Lets promise callbacks queued by a timer (and any finished I/O) run before the next one fires. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class ManualTimers implements HealthTimers {
  private nowMs: number;
  private seq = 0;
  private entries: Entry[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    const entry: Entry = { at: this.nowMs + Math.max(0, ms), seq: this.seq++, fn };
    this.entries.push(entry);
    return () => {
      this.entries = this.entries.filter((e) => e !== entry);
    };
  }

  /** Timers scheduled and not yet fired or cancelled. */
  pending(): number {
    return this.entries.length;
  }

  /** Moves time forward by `ms`, firing due timers in order and settling after each. */
  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    for (;;) {
      const due = this.entries.filter((e) => e.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.entries = this.entries.filter((e) => e !== due);
      this.nowMs = due.at;
      due.fn();
      await settle();
    }
    this.nowMs = target;
    await settle();
  }
}
