// The VIP invariant checker over hand-made histories: a rollout that hands over first, and ones that do not.
import { describe, expect, it } from "vitest";
import type { DisruptionWindow } from "../support/disruption-windows.js";
import { vipViolations, type VipSample } from "./vip-invariant.js";

const T = Date.UTC(2026, 0, 1, 2, 0, 0);
const sample = (ms: number, holder: string | null): VipSample => ({ fromMs: T + ms, toMs: T + ms + 10, holder });
/** n1 (the first carrier) then n2 are drained and rebooted, one after the other. */
const WINDOWS: DisruptionWindow[] = [
  { node: "n1", fromMs: T + 1_000, toMs: T + 20_000 },
  { node: "n2", fromMs: T + 21_000, toMs: T + 40_000 },
];

describe("vipViolations", () => {
  it("accepts a rollout in which each holder hands the VIP over before its window", () => {
    const history = [sample(0, null), sample(100, "n1"), sample(900, "n2"), sample(10_000, "n2"), sample(20_500, "n1"), sample(30_000, "n1"), sample(45_000, "n1")];
    expect(vipViolations(history, WINDOWS, 0)).toEqual([]);
  });

  it("flags a holder that stays inside its own window, and a VIP nobody holds, beyond one failover", () => {
    const history = [sample(100, "n1"), sample(2_000, "n1"), sample(9_000, "n1"), sample(9_100, "n2"), sample(25_000, null), sample(31_000, null), sample(31_100, "n3")];
    expect(vipViolations(history, WINDOWS, 4_000)).toEqual([
      "n1 held the VIP inside its disruption window (02:00:01.000 to 02:00:20.000) from 02:00:02.000 to 02:00:09.010, longer than one VRRP failover (4000 ms)",
      "no node held the VIP from 02:00:25.000 to 02:00:31.010, longer than one VRRP failover (4000 ms)",
    ]);
  });

  it("allows one VRRP failover (a holder that went down without handing over), but nothing with no allowance", () => {
    const history = [sample(100, "n1"), sample(1_500, "n1"), sample(4_000, "n2"), sample(21_500, "n2"), sample(23_000, "n1")];
    expect(vipViolations(history, WINDOWS)).toEqual([]);
    expect(vipViolations(history, WINDOWS, 0)).toHaveLength(2);
  });

  it("has nothing to check before any node held the VIP", () => {
    expect(vipViolations([sample(0, null), sample(10_000, null)], WINDOWS, 0)).toEqual([]);
  });
});
