// disruptionHalt: the reason agents log when told to hold back.
import { describe, expect, it } from "vitest";
import { disruptionHalt } from "./disruption-halt.js";

describe("disruptionHalt", () => {
  it("lets agents go on when the rollout is neither paused nor halted", () => {
    expect(disruptionHalt({ revision: "r1", lastReleaseAtMs: 5 })).toEqual({ halt: false, reason: "" });
  });

  it("names a halt's reason", () => {
    expect(disruptionHalt({ halted: { reason: "n2 rolled back", revision: "r1", atMs: 1 } })).toEqual({ halt: true, reason: "halted: n2 rolled back" });
  });

  it("names the pause when the rollout is both paused and halted", () => {
    expect(disruptionHalt({ paused: { reason: "maintenance", atMs: 1 }, halted: { reason: "n2 rolled back", revision: "r1", atMs: 1 } })).toEqual({ halt: true, reason: "paused: maintenance" });
  });
});
