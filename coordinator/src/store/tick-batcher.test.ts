import { describe, expect, it } from "vitest";
import { TickBatcher } from "./tick-batcher.js";

describe("TickBatcher", () => {
  it("sends what was submitted in one turn as batches within the weight limit, answering each item", async () => {
    const calls: number[][] = [];
    const batcher = new TickBatcher<number, number>(async (items) => (calls.push(items), items.map((x) => x * 10)), { maxWeight: 5, parallel: 4, weight: (x) => x });
    const outs = await Promise.all([1, 2, 2, 4, 1, 9].map((x) => batcher.submit(x)));
    expect(outs).toEqual([10, 20, 20, 40, 10, 90]);
    // 9 is over the limit alone: a batch holds at least one item.
    expect(calls).toEqual([[1, 2, 2], [4, 1], [9]]);
  });

  it("queues items while every slot is busy and sends them together once one frees", async () => {
    const calls: string[][] = [];
    const gates: Array<() => void> = [];
    const batcher = new TickBatcher<string, string>(
      (items) => {
        calls.push(items);
        return new Promise((resolve) => gates.push(() => resolve(items.map((x) => x.toUpperCase()))));
      },
      { maxWeight: 100, parallel: 1 },
    );
    const first = batcher.submit("a");
    await new Promise((r) => setImmediate(r));
    const later = ["b", "c", "d"].map((x) => batcher.submit(x));
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([["a"]]);
    gates.shift()!();
    expect(await first).toBe("A");
    // The freed slot sends the queue on a later turn.
    for (let turn = 0; turn < 5 && calls.length < 2; turn++) await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([["a"], ["b", "c", "d"]]);
    gates.shift()!();
    expect(await Promise.all(later)).toEqual(["B", "C", "D"]);
  });

  it("gives every item of a failed batch the error, and keeps serving later batches", async () => {
    let fail = true;
    const batcher = new TickBatcher<number, number>(async (items) => {
      if (fail) throw new Error("etcd unavailable");
      return items;
    }, { maxWeight: 10, parallel: 2 });
    const failed = await Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
    expect(failed.map((r) => r.status === "rejected" && (r.reason as Error).message)).toEqual(["etcd unavailable", "etcd unavailable"]);
    fail = false;
    expect(await batcher.submit(3)).toBe(3);
  });
});
