import { describe, expect, it } from "vitest";
import type { GetStatusResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { STABLE_MS, waitStatus } from "./status-wait.js";

/** A status source whose answer (its `cluster` field) follows `keyAt(ms since start)`; null answers as a failed call. */
function source(keyAt: (ms: number) => string | null) {
  const start = Date.now();
  const answers: Array<{ atMs: number; key: string | null }> = [];
  return {
    answers,
    async status(): Promise<GetStatusResponse> {
      const atMs = Date.now() - start;
      const key = keyAt(atMs);
      answers.push({ atMs, key });
      if (key === null) throw new Error("unavailable");
      return { cluster: key } as GetStatusResponse;
    },
  };
}
const keyOf = (s: GetStatusResponse): string | null => (s.cluster === "busy" ? null : s.cluster);

describe("waitStatus", () => {
  it("without stable, returns on the first answer that holds", async () => {
    const c = source(() => "a");
    const r = await waitStatus(c, 5_000, keyOf);
    expect(r.ok).toBe(true);
    expect(c.answers).toHaveLength(1);
  });

  it("with stable, needs one key to hold for STABLE_MS, polling more often than that", async () => {
    const c = source(() => "a");
    const started = Date.now();
    const r = await waitStatus(c, 5_000, keyOf, true);
    expect(r.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(STABLE_MS);
    expect(c.answers.at(-1)!.atMs - c.answers[0]!.atMs).toBeGreaterThanOrEqual(STABLE_MS);
    expect(c.answers.length).toBeGreaterThan(2);
  });

  it("with stable, starts the window again when the key changes or an answer does not hold", async () => {
    // a until 400 ms, busy until 600 ms, then b: only b, from its first answer on, counts.
    const c = source((ms) => (ms < 400 ? "a" : ms < 600 ? "busy" : "b"));
    const r = await waitStatus(c, 5_000, keyOf, true);
    expect(r.ok).toBe(true);
    expect(r.last?.cluster).toBe("b");
    const firstB = c.answers.find((a) => a.key === "b")!;
    expect(c.answers.at(-1)!.atMs - firstB.atMs).toBeGreaterThanOrEqual(STABLE_MS);
    const c2 = source((ms) => (ms < 500 ? "a" : ms < 800 ? null : "a"));
    const r2 = await waitStatus(c2, 5_000, keyOf, true);
    expect(r2.ok).toBe(true);
    const back = c2.answers.filter((a) => a.key === null).at(-1)!;
    expect(c2.answers.at(-1)!.atMs - back.atMs).toBeGreaterThan(STABLE_MS);
  });

  it("gives up after the timeout with the last answer", async () => {
    const c = source((ms) => `k${ms}`);
    const r = await waitStatus(c, 1_000, keyOf, true);
    expect(r.ok).toBe(false);
    expect(r.last?.cluster).toMatch(/^k/);
  });
});
