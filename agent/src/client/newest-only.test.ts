import { expect, it } from "vitest";
import { newestOnly } from "./newest-only.js";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const flush = () => new Promise((r) => setImmediate(r));

/** "old" then "new" arrive; each preparation ends when the test opens its gate. */
function oldThenNew(): { open: (m: "old" | "new") => Promise<unknown>; handed: string[] } {
  const gates = { old: deferred(), new: deferred() };
  const handed: string[] = [];
  const onMessage = newestOnly((m: "old" | "new") => gates[m].promise, (m) => handed.push(m));
  onMessage("old");
  onMessage("new");
  return {
    open: (m) => {
      gates[m].resolve();
      return flush();
    },
    handed,
  };
}

// Found by the long chaos run (seed 20380068): a restarted agent got its old bundle and, 30 ms later, the new one a
// push had just produced; the old one's secret fetch finished last and the node rested on it until the next push.
it("hands on only the newest message when an older one finishes preparing last", async () => {
  const { open, handed } = oldThenNew();
  await open("new");
  await open("old");
  expect(handed).toEqual(["new"]);
});

it("drops an older message that finishes first, then hands on the newer one", async () => {
  const { open, handed } = oldThenNew();
  await open("old");
  expect(handed).toEqual([]);
  await open("new");
  expect(handed).toEqual(["new"]);
});

it("hands on every message that arrives after the previous one was handed on", async () => {
  const handed: string[] = [];
  const onMessage = newestOnly((_m: string) => Promise.resolve(), (m) => handed.push(m));
  for (const m of ["a", "b", "c"]) {
    onMessage(m);
    await flush();
  }
  expect(handed).toEqual(["a", "b", "c"]);
});

it("never hands on a message whose preparation failed; retries it while it is the newest", async () => {
  const handed: string[] = [];
  const failures: string[] = [];
  const timers: (() => void)[] = [];
  let fetches = 0;
  const onMessage = newestOnly(
    (m: string) => (m === "b" && ++fetches < 3 ? Promise.reject(new Error("coordinator unavailable")) : Promise.resolve()),
    (m) => handed.push(m),
    { delayMs: (n) => n * 1000, setTimer: (_ms, fn) => void timers.push(fn), onFailed: (m, err, wait) => failures.push(`${m}: ${(err as Error).message} (${wait})`) },
  );
  onMessage("b");
  await flush();
  expect(handed).toEqual([]);
  timers.shift()!();
  await flush();
  expect(failures).toEqual(["b: coordinator unavailable (1000)", "b: coordinator unavailable (2000)"]);
  timers.shift()!();
  await flush();
  expect(handed).toEqual(["b"]);
  expect(timers).toHaveLength(0);
});

it("drops the retry of a failed message once a newer one arrived", async () => {
  const handed: string[] = [];
  const timers: (() => void)[] = [];
  const onMessage = newestOnly(
    (m: string) => (m === "old" ? Promise.reject(new Error("no secrets")) : Promise.resolve()),
    (m) => handed.push(m),
    { delayMs: () => 5, setTimer: (_ms, fn) => void timers.push(fn), onFailed: () => undefined },
  );
  onMessage("old");
  await flush();
  onMessage("new");
  await flush();
  timers.shift()!();
  await flush();
  expect(handed).toEqual(["new"]);
});
