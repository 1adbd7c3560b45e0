import { expect, it } from "vitest";
import { newestOnly } from "./newest-only.js";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const flush = () => new Promise((r) => setImmediate(r));

// Found by the long chaos run (seed 20380068): a restarted agent got its old bundle and, 30 ms later, the new one a
// push had just produced; the old one's secret fetch finished last and the node rested on it until the next push.
it("hands on only the newest message when an older one finishes preparing last", async () => {
  const gates = new Map<string, ReturnType<typeof deferred>>([["old", deferred()], ["new", deferred()]]);
  const handed: string[] = [];
  const onMessage = newestOnly((m: string) => gates.get(m)!.promise, (m) => handed.push(m));
  onMessage("old");
  onMessage("new");
  gates.get("new")!.resolve();
  await flush();
  gates.get("old")!.resolve();
  await flush();
  expect(handed).toEqual(["new"]);
});

it("drops an older message that finishes first, then hands on the newer one", async () => {
  const gates = new Map<string, ReturnType<typeof deferred>>([["old", deferred()], ["new", deferred()]]);
  const handed: string[] = [];
  const onMessage = newestOnly((m: string) => gates.get(m)!.promise, (m) => handed.push(m));
  onMessage("old");
  onMessage("new");
  gates.get("old")!.resolve();
  await flush();
  expect(handed).toEqual([]);
  gates.get("new")!.resolve();
  await flush();
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
