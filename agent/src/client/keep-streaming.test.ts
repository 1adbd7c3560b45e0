// keepStreaming's reconnect policy against scripted streams and a hand-driven timer: failover, backoff, reset, stop.
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../shared/src/log/index.js";
import type { ServerStream } from "./coordinator-client.js";
import { STREAM_PROVEN_MS, keepStreaming } from "./keep-streaming.js";

/** One server stream as the agent sees it: the test emits the coordinator's messages and failures into it. */
class ScriptedStream extends EventEmitter {
  cancelled = false;
  cancel(): void {
    this.cancelled = true;
  }
}

const UNAVAILABLE = Object.assign(new Error("14 UNAVAILABLE: No connection established"), { code: 14 });
const PERMISSION_DENIED = Object.assign(new Error("7 PERMISSION_DENIED: not the leader"), { code: 7 });

/** Everything keepStreaming touches, recorded; timers fire only when the test says so. */
function harness(options: { connect?: () => Promise<void> } = {}) {
  const streams: ScriptedStream[] = [];
  const timers: Array<{ ms: number; fn: () => void; cancelled: boolean }> = [];
  const received: string[] = [];
  let failovers = 0;
  let connects = 0;
  let clock = 0;
  const stop = keepStreaming<string>({
    open: () => {
      const s = new ScriptedStream();
      streams.push(s);
      return s as unknown as ServerStream<string>;
    },
    onData: (v) => received.push(v),
    onConnect: async () => {
      connects++;
      await options.connect?.();
    },
    failover: () => void failovers++,
    log: silentLogger(),
    what: "test",
    now: () => clock,
    random: () => 1,
    setTimer: (ms, fn) => {
      const t = { ms, fn, cancelled: false };
      timers.push(t);
      return () => void (t.cancelled = true);
    },
  });
  const settle = () => new Promise((r) => setImmediate(r));
  return {
    streams,
    timers,
    received,
    stop,
    settle,
    failovers: () => failovers,
    connects: () => connects,
    advance: (ms: number) => void (clock += ms),
    /** Fires the newest pending retry, then lets the reconnect's promise run. */
    async fire() {
      const t = timers.at(-1)!;
      expect(t.cancelled).toBe(false);
      t.fn();
      await settle();
    },
  };
}

describe("keepStreaming", () => {
  it("delivers data, fails over on UNAVAILABLE and reconnects after a growing backoff", async () => {
    const h = harness();
    await h.settle();
    expect(h.streams).toHaveLength(1);
    h.streams[0]!.emit("error", UNAVAILABLE);
    expect(h.failovers()).toBe(1);
    expect(h.timers.map((t) => t.ms)).toEqual([250]);
    await h.fire();
    expect(h.streams).toHaveLength(2);
    expect(h.connects()).toBe(2);
    // A refusal that is not about reachability retries the same address.
    h.streams[1]!.emit("error", PERMISSION_DENIED);
    expect(h.failovers()).toBe(1);
    expect(h.timers.map((t) => t.ms)).toEqual([250, 500]);
    await h.fire();
    h.streams[2]!.emit("data", "bundle-1");
    expect(h.received).toEqual(["bundle-1"]);
    // The stream carried data: the next loss starts the backoff over.
    h.streams[2]!.emit("end");
    expect(h.timers.map((t) => t.ms)).toEqual([250, 500, 250]);
    h.stop();
  });

  it("counts a stream that stayed up a while as proven even without data", async () => {
    const h = harness();
    await h.settle();
    h.streams[0]!.emit("end");
    await h.fire();
    h.streams[1]!.emit("end");
    expect(h.timers.map((t) => t.ms)).toEqual([250, 500]);
    await h.fire();
    h.advance(STREAM_PROVEN_MS);
    h.streams[2]!.emit("end");
    expect(h.timers.map((t) => t.ms)).toEqual([250, 500, 250]);
    h.stop();
  });

  it("retries a failed connect (Hello) with failover when the coordinator is away", async () => {
    let fail = true;
    const h = harness({ connect: async () => (fail ? Promise.reject(UNAVAILABLE) : undefined) });
    await h.settle();
    expect(h.streams).toHaveLength(0);
    expect(h.failovers()).toBe(1);
    expect(h.timers.map((t) => t.ms)).toEqual([250]);
    fail = false;
    await h.fire();
    expect(h.streams).toHaveLength(1);
    h.stop();
  });

  it("stop cancels the open stream and ignores its late end; a pending retry never fires", async () => {
    const h = harness();
    await h.settle();
    h.stop();
    expect(h.streams[0]!.cancelled).toBe(true);
    h.streams[0]!.emit("end");
    expect(h.timers).toHaveLength(0);

    const g = harness();
    await g.settle();
    g.streams[0]!.emit("error", UNAVAILABLE);
    g.stop();
    expect(g.timers[0]!.cancelled).toBe(true);
  });
});
