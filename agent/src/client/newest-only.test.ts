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

it("hands on every message that arrives after the previous one was handed on, and after a failed preparation", async () => {
  const handed: string[] = [];
  const onMessage = newestOnly((m: string) => (m === "b" ? Promise.reject(new Error("no secrets")) : Promise.resolve()), (m) => handed.push(m));
  onMessage("a");
  await flush();
  onMessage("b");
  await flush();
  onMessage("c");
  await flush();
  expect(handed).toEqual(["a", "b", "c"]);
});
