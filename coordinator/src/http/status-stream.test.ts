// Live updates over SSE against a real listening server on 127.0.0.1: full state on connect, coalesced changes, events, shutdown.
import { get, type IncomingMessage } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { buildTestApp, type TestApp } from "./test-app.js";
import { makeEvent, makeSnapshot, TestStatusSource } from "./test-status-source.js";

interface Update {
  now: number;
  title?: string;
  status?: string;
  events?: string;
}

interface SseClient {
  readonly response: IncomingMessage;
  next(timeoutMs?: number): Promise<Update>;
  ended(): Promise<void>;
  close(): void;
}

/** A minimal EventSource: collects `event: update` messages in order. */
function connect(url: string): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      const queue: Update[] = [];
      const waiters: ((u: Update) => void)[] = [];
      let buffer = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const fields = new Map(block.split("\n").map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trimStart()] as const));
          if (fields.get("event") !== "update") continue;
          const update = JSON.parse(fields.get("data") ?? "") as Update;
          const waiter = waiters.shift();
          if (waiter) waiter(update);
          else queue.push(update);
        }
      });
      const ended = new Promise<void>((done) => res.on("close", done));
      resolve({
        response: res,
        next: (timeoutMs = 5000) =>
          new Promise((ok, fail) => {
            const queued = queue.shift();
            if (queued) return ok(queued);
            const timer = setTimeout(() => fail(new Error("no SSE update in time")), timeoutMs);
            waiters.push((u) => {
              clearTimeout(timer);
              ok(u);
            });
          }),
        ended: () => ended,
        close: () => req.destroy(),
      });
    });
    req.on("error", reject);
  });
}

let t: TestApp;
let base: string;
async function start(status = new TestStatusSource()): Promise<void> {
  t = buildTestApp({ status, streamIntervalMs: 50, now: Date.now });
  base = await t.app.listen({ host: "127.0.0.1", port: 0 });
}

afterEach(async () => {
  await t.app.close();
});

describe("GET /events/stream", () => {
  it("sends the full state at once, then what changed", async () => {
    await start(new TestStatusSource(makeSnapshot(), [makeEvent(1, { message: "revision accepted" })]));
    const client = await connect(`${base}/events/stream`);
    expect(client.response.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(client.response.headers["cache-control"]).toBe("no-store");

    const first = await client.next();
    expect(first.title).toBe("homelab · nk status");
    expect(first.status).toContain(`<tr data-node="n2">`);
    expect(first.events).toContain("revision accepted");

    t.status.updateNode("n2", { phase: "failed", lastError: "build failed: attribute missing" });
    const second = await client.next();
    expect(second.status).toMatch(/<tr data-node="n2" class="row-bad">.*failed.*build failed: attribute missing/);

    t.status.emit(makeEvent(2, { kind: "apply-failed", node: "n2", message: "n2 <build> failed" }));
    const third = await client.next();
    expect(third.events).toContain("n2 &lt;build&gt; failed");
    expect(third.events?.indexOf("n2 &lt;build&gt; failed")).toBeLessThan(third.events?.indexOf("revision accepted") ?? -1);
    client.close();
  });

  it("coalesces a burst of changes into one update carrying the last state", async () => {
    await start();
    const client = await connect(`${base}/events/stream`);
    await client.next();
    for (let i = 1; i <= 50; i++) t.status.updateNode("n1", { phase: `step-${i}` });
    const burst = await client.next();
    expect(burst.status).toContain("step-50");
    expect(burst.status).not.toContain("step-49");
    t.status.updateNode("n1", { phase: "confirmed-again" });
    const after = await client.next();
    // Had the burst been sent piecemeal, this would be step-1's or a later step's update.
    expect(after.status).toContain("confirmed-again");
    client.close();
  });

  it("lets every client catch up on reconnect and unsubscribes when the last one leaves", async () => {
    await start();
    const a = await connect(`${base}/events/stream`);
    await a.next();
    expect(t.status.listenerCount).toBe(2);
    a.close();
    await a.ended();
    await expect.poll(() => t.status.listenerCount, { timeout: 2000 }).toBe(0);

    t.status.updateNode("n3", { leaseState: "draining" });
    const b = await connect(`${base}/events/stream`);
    const full = await b.next();
    expect(full.status).toMatch(/<tr data-node="n3">.*draining/);
    b.close();
  });

  it("ends open streams when the server closes", async () => {
    await start();
    const client = await connect(`${base}/events/stream`);
    await client.next();
    await t.app.close();
    await client.ended();
    expect(t.status.listenerCount).toBe(0);
  });
});
