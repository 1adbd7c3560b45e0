// The suite's file order: longest expected first, from vitest's cached durations where it has them, else from the
// committed figures, else (unknown, short files) in vitest's own order.
import { describe, expect, it } from "vitest";
import type { TestSpecification, Vitest } from "vitest/node";
import { EXPECTED_MS, LongestFirstSequencer } from "./longest-first-sequencer.js";

const ROOT = "/repo";
const project = { name: "", config: { sequence: { groupOrder: 0 }, isolate: true } };
const spec = (path: string): TestSpecification => ({ moduleId: `${ROOT}/${path}`, project }) as unknown as TestSpecification;

/** A vitest context with the given cached durations (ms) and file sizes, as the base sequencer reads them. */
function sequencer(cached: Record<string, number>, sizes: Record<string, number> = {}): LongestFirstSequencer {
  const cache = {
    getFileTestResults: (key: string) => (key.slice(1) in cached ? { duration: cached[key.slice(1)]!, failed: false } : undefined),
    getFileStats: (key: string) => (key.slice(1) in sizes ? { size: sizes[key.slice(1)]! } : undefined),
  };
  return new LongestFirstSequencer({ cache, config: { root: ROOT } } as unknown as Vitest);
}
const order = async (s: LongestFirstSequencer, paths: string[]) => (await s.sort(paths.map(spec))).map((f) => f.moduleId.slice(ROOT.length + 1));

describe("longest-first sequencer", () => {
  it("on a fresh clone (no cache) puts the long files first, the chaos runs before bigger but shorter files", async () => {
    const paths = ["shared/src/a.test.ts", "test/lease/node-lost.test.ts", "test/chaos/chaos-ha.test.ts", "test/chaos/chaos.test.ts", "test/nkctl-offline.test.ts"];
    const sizes = { "shared/src/a.test.ts": 9_000, "test/lease/node-lost.test.ts": 5_000, "test/chaos/chaos-ha.test.ts": 1_000, "test/chaos/chaos.test.ts": 1_000, "test/nkctl-offline.test.ts": 12_000 };
    const sorted = await order(sequencer({}, sizes), paths);
    expect(sorted.at(-1)).toBe("shared/src/a.test.ts");
    const known = sorted.slice(0, -1);
    expect(known.map((p) => EXPECTED_MS[p])).toEqual(known.map((p) => EXPECTED_MS[p]).sort((a, b) => b! - a!));
  });

  it("prefers a cached duration over the committed figure, and keeps vitest's order among unknown files", async () => {
    const sorted = await order(sequencer({ "test/chaos/chaos.test.ts": 1_000, "shared/src/slow.test.ts": 50_000 }, { "shared/src/big.test.ts": 2_000, "shared/src/small.test.ts": 10 }), [
      "shared/src/small.test.ts",
      "test/chaos/chaos.test.ts",
      "shared/src/big.test.ts",
      "test/nkctl-offline.test.ts",
      "shared/src/slow.test.ts",
    ]);
    expect(sorted).toEqual(["shared/src/slow.test.ts", "test/nkctl-offline.test.ts", "test/chaos/chaos.test.ts", "shared/src/big.test.ts", "shared/src/small.test.ts"]);
  });
});
