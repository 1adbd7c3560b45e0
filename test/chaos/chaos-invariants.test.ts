// The settled-state invariant on what a node runs after it rolled back, or refused a bundle it had rolled back from.
import { describe, expect, it } from "vitest";
import { settledViolations, type MachineView } from "./chaos-invariants.js";

const GOOD = "a".repeat(64);
const BAD = "b".repeat(64);
const NEWER = "c".repeat(64);
const system = (sha: string) => `/nix/store/${sha.slice(0, 32)}-nixos-system-n1-sim`;

function machine(current: string, generations: string[]): MachineView {
  return {
    currentSystem: system(current),
    bootDefault: system(current),
    activatedBy: "switch",
    currentSha256: current,
    generationSystems: generations.map(system),
    newestSha256: generations.at(-1)!,
    faults: { [BAD]: ["activation-error"] },
  };
}

describe("settledViolations after a rollback", () => {
  it("accepts a rollback onto the generation before the bad one", () => {
    expect(settledViolations("n1", machine(GOOD, [GOOD, BAD]), BAD)).toEqual([]);
  });

  it("flags a node that reports rolled back but still runs the bad bundle", () => {
    expect(settledViolations("n1", machine(BAD, [GOOD, BAD]), BAD)).toEqual([
      `n1 settled on bundle ${BAD.slice(0, 12)}, which is bad (["activation-error"], reached by switch)`,
      `n1 reports rolled back but still runs ${BAD.slice(0, 12)}`,
      `n1 rolled back onto ${system(BAD)}, which is no generation of it before ${BAD.slice(0, 12)}`,
    ]);
  });

  it("flags a rollback onto a system that was never one of its generations", () => {
    expect(settledViolations("n1", machine(NEWER, [GOOD, BAD]), BAD)).toEqual([`n1 rolled back onto ${system(NEWER)}, which is no generation of it before ${BAD.slice(0, 12)}`]);
  });

  // Found by the long chaos run (seed 20370039): the bad change, then a nixpkgs bump that n4 took, then a push that
  // reverted the bump and so brought back the very bundle n4 had rolled back from. n4 rightly refused it and stayed
  // on its newest generation, which the old check ("an earlier generation") called a violation.
  it("accepts a refusal of a known-bad bundle while the node rests on its newest generation", () => {
    expect(settledViolations("n1", machine(NEWER, [GOOD, BAD, GOOD, NEWER]), BAD)).toEqual([]);
  });
});
