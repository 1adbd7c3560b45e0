// A coordinator started while etcd is down waits for it (real etcd, stopped and started again on the same port);
// an error that waiting cannot fix ends the wait at once.
import { Writable } from "node:stream";
import { GRPCDeadlineExceededError, GRPCUnauthenticatedError, GRPCUnavailableError } from "etcd3";
import { NkError } from "../../../shared/src/errors/index.js";
import { describe, expect, it } from "vitest";
import { createLogger, silentLogger } from "../../../shared/src/log/index.js";
import { etcdSkipReason, startEtcd } from "../../../test/etcd/etcd-server.js";
import { createEtcdClient } from "./etcd-client.js";
import { isTransientEtcdError, waitForEtcd } from "./wait-for-etcd.js";

/** A logger whose lines are kept; `seen(msg)` resolves when a line with that message is written. */
function capturingLogger() {
  const lines: Array<{ msg: string; attempts?: number }> = [];
  const waiters: Array<{ msg: string; resolve: () => void }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString("utf8").split("\n").filter(Boolean)) {
        const line = JSON.parse(text) as { msg: string };
        lines.push(line);
        for (const w of waiters.filter((x) => x.msg === line.msg)) w.resolve();
      }
      done();
    },
  });
  const seen = (msg: string) => new Promise<void>((resolve) => (lines.some((l) => l.msg === msg) ? resolve() : waiters.push({ msg, resolve })));
  return { log: createLogger({ name: "t", level: "info", destination, sync: true }), lines, seen };
}

describe.skipIf(etcdSkipReason)("waitForEtcd", () => {
  it("waits while etcd is down, says so once, and returns when it is back", async () => {
    const server = await startEtcd();
    const client = await createEtcdClient({ endpoints: [server.endpoint] });
    try {
      await server.stop();
      const { log, lines, seen } = capturingLogger();
      const waited = waitForEtcd(() => client.get("/nk/rollout").string(), [server.endpoint], { log, initialDelayMs: 50, maxDelayMs: 200 });
      await seen("etcd unreachable at start; waiting for it");
      await server.restart();
      await waited;
      expect(lines.filter((l) => l.msg === "etcd unreachable at start; waiting for it")).toHaveLength(1);
      expect(lines.at(-1)).toMatchObject({ msg: "etcd reachable; starting" });
      expect(lines.at(-1)!.attempts).toBeGreaterThan(1);
    } finally {
      client.close();
      await server.dispose();
    }
  });

  it("throws an error that waiting cannot fix at once", async () => {
    let calls = 0;
    const refused = new GRPCUnauthenticatedError("etcdserver: invalid auth token");
    await expect(waitForEtcd(() => (calls++, Promise.reject(refused)), ["http://127.0.0.1:2379"], { log: silentLogger(), sleep: () => Promise.resolve() })).rejects.toBe(refused);
    expect(calls).toBe(1);
  });

  it("retries a start that failed on an etcd read (the error as the store wraps it) and returns its result", async () => {
    let calls = 0;
    const start = async (): Promise<string> => {
      if (++calls < 3) throw new NkError("UNAVAILABLE", "etcd range failed: 14 UNAVAILABLE", { cause: new GRPCUnavailableError("14 UNAVAILABLE: read ECONNRESET") });
      return "running";
    };
    expect(await waitForEtcd(start, ["http://127.0.0.1:2379"], { log: silentLogger(), sleep: () => Promise.resolve() })).toBe("running");
    expect(calls).toBe(3);
    expect([new GRPCUnavailableError("x"), new GRPCDeadlineExceededError("x"), new Error("Execution prevented because the circuit breaker is open")].map(isTransientEtcdError)).toEqual([true, true, true]);
    expect([new GRPCUnauthenticatedError("x"), new Error("ENOENT"), "text"].map(isTransientEtcdError)).toEqual([false, false, false]);
  });
});
