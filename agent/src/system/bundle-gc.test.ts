// The prune rule: kept by sha256 (applied, in flight) or by the system the bundle built; everything else goes.
import { describe, expect, it } from "vitest";
import { bundlesToRemove } from "./bundle-gc.js";

describe("bundlesToRemove", () => {
  it("keeps the applied and in-flight bundles and those that built a kept system, removes the rest", () => {
    const entries = [
      { name: "c".repeat(64), system: "/nix/store/c-sys" },
      { name: "a".repeat(64), system: "/nix/store/a-sys" },
      { name: "b".repeat(64), system: null },
      { name: "d".repeat(64), system: "/nix/store/booted" },
      { name: `${"e".repeat(64)}.tmp-41`, system: null },
      { name: "f".repeat(64), system: "/nix/store/old" },
    ];
    const keep = { sha256s: ["a".repeat(64), "b".repeat(64)], systems: ["/nix/store/booted", "/nix/store/current"] };
    expect(bundlesToRemove(entries, keep)).toEqual(["c".repeat(64), `${"e".repeat(64)}.tmp-41`, "f".repeat(64)]);
  });

  it("removes nothing from an empty root", () => {
    expect(bundlesToRemove([], { sha256s: [], systems: [] })).toEqual([]);
  });
});
