// stopOnSignals: one stop per process whatever the number of signals, exit 0 only once stop finished.
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../log/index.js";
import { stopOnSignals } from "./stop-on-signals.js";

class Host extends EventEmitter {
  readonly exits: number[] = [];
  exit(code: number): void {
    this.exits.push(code);
  }
}

describe("stopOnSignals", () => {
  it.each(["SIGINT", "SIGTERM"] as const)("stops once on %s and exits 0 after stop resolved", async (signal) => {
    const host = new Host();
    let stops = 0;
    let finish!: () => void;
    const stopped = new Promise<void>((r) => (finish = r));
    stopOnSignals({ log: silentLogger(), stop: () => (stops++, stopped) }, host);
    host.emit(signal);
    host.emit("SIGTERM");
    host.emit("SIGINT");
    expect(stops).toBe(1);
    expect(host.exits).toEqual([]);
    finish();
    await stopped;
    await new Promise((r) => setImmediate(r));
    expect(host.exits).toEqual([0]);
  });
});
