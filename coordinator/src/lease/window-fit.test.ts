// Windows in a time zone, excluded dates, several windows, and the rule that a whole disruption must fit.
import { describe, expect, it } from "vitest";
import type { MaintenanceWindow } from "../../../shared/src/inventory/index.js";
import { decideGrants } from "./grant-decision.js";
import { fitWindows, insideWindow, nextWindowOpen } from "./maintenance-window.js";
import { zonedInstant } from "./zoned-time.js";

const MIN = 60_000;
const berlinNights: MaintenanceWindow = { days: ["mon", "tue", "wed", "thu", "fri"], startMinute: 22 * 60, endMinute: 2 * 60, timezone: "Europe/Berlin" };
const nyMornings: MaintenanceWindow = { days: ["sat"], startMinute: 6 * 60, endMinute: 7 * 60, timezone: "America/New_York", exclude: ["2024-06-08"] };

describe("windows in a time zone", () => {
  it("reads days and times on the zone's wall clock, summer and winter", () => {
    // Berlin is UTC+2 in June, UTC+1 in January.
    expect(insideWindow(berlinNights, Date.UTC(2024, 5, 3, 20, 0))).toBe(true); // Mon 22:00 CEST
    expect(insideWindow(berlinNights, Date.UTC(2024, 5, 3, 19, 59))).toBe(false);
    expect(insideWindow(berlinNights, Date.UTC(2024, 0, 8, 21, 0))).toBe(true); // Mon 22:00 CET
    expect(insideWindow(berlinNights, Date.UTC(2024, 0, 8, 20, 30))).toBe(false);
    // Sat 01:00 Berlin belongs to Friday's window.
    expect(insideWindow(berlinNights, Date.UTC(2024, 5, 7, 23, 0))).toBe(true);
    expect(insideWindow(berlinNights, Date.UTC(2024, 5, 8, 20, 30))).toBe(false); // Sat 22:30: not listed
  });

  it("handles the night the clocks go forward", () => {
    // 2024-03-31 02:30 Berlin does not exist: it moves forward by the gap, to 03:30 CEST = 01:30 UTC.
    expect(zonedInstant({ y: 2024, m: 3, d: 31 }, 2 * 60 + 30, "Europe/Berlin")).toBe(Date.UTC(2024, 2, 31, 1, 30));
    expect(zonedInstant({ y: 2024, m: 3, d: 31 }, 4 * 60, "Europe/Berlin")).toBe(Date.UTC(2024, 2, 31, 2, 0));
    // 2024-10-27 02:30 happens twice: the earlier (CEST, 00:30 UTC) is taken.
    expect(zonedInstant({ y: 2024, m: 10, d: 27 }, 2 * 60 + 30, "Europe/Berlin")).toBe(Date.UTC(2024, 9, 27, 0, 30));
  });

  it("skips excluded local dates", () => {
    // Sat 2024-06-08 is excluded: from Friday the next opening is Sat 2024-06-15 06:00 EDT (10:00 UTC).
    expect(nextWindowOpen(nyMornings, Date.UTC(2024, 5, 7, 12, 0))).toBe(Date.UTC(2024, 5, 15, 10, 0));
    expect(insideWindow(nyMornings, Date.UTC(2024, 5, 8, 10, 30))).toBe(false);
    expect(insideWindow(nyMornings, Date.UTC(2024, 5, 15, 10, 30))).toBe(true);
  });
});

describe("fitWindows", () => {
  it("fits anything when there is no window", () => {
    expect(fitWindows([], Date.UTC(2024, 5, 1), 3_600_000)).toEqual({ reason: "", wakeAtMs: null });
  });

  it("grants only while the whole disruption still fits, and says when it continues", () => {
    const mon2330 = Date.UTC(2024, 5, 3, 21, 30); // Mon 23:30 Berlin; closes Tue 02:00 = 00:00 UTC
    expect(fitWindows([berlinNights], mon2330, 60 * MIN)).toEqual({ reason: "", wakeAtMs: Date.UTC(2024, 5, 3, 23, 0) });
    const late = Date.UTC(2024, 5, 3, 23, 30); // Tue 01:30 Berlin: 30 minutes left
    expect(fitWindows([berlinNights], late, 60 * MIN)).toEqual({
      reason: "maintenance window (mon,tue,wed,thu,fri 22:00-02:00 Europe/Berlin) closes at 2024-06-04 02:00 Europe/Berlin, too soon for a 1h disruption; continues at 2024-06-04 22:00 Europe/Berlin",
      wakeAtMs: Date.UTC(2024, 5, 4, 20, 0),
    });
  });

  it("takes the earliest of several windows that is long enough", () => {
    const fri = Date.UTC(2024, 5, 7, 12, 0);
    const fit = fitWindows([berlinNights, nyMornings], fri, 30 * MIN);
    expect(fit.wakeAtMs).toBe(Date.UTC(2024, 5, 7, 20, 0)); // Fri 22:00 Berlin
    expect(fit.reason).toBe(
      "outside maintenance windows (mon,tue,wed,thu,fri 22:00-02:00 Europe/Berlin; sat 06:00-07:00 America/New_York except 2024-06-08); continues at 2024-06-07 22:00 Europe/Berlin",
    );
    // A 5-hour disruption fits neither window.
    expect(fitWindows([berlinNights, nyMornings], fri, 5 * 60 * MIN)).toEqual({
      reason: "outside maintenance windows (mon,tue,wed,thu,fri 22:00-02:00 Europe/Berlin; sat 06:00-07:00 America/New_York except 2024-06-08); no window long enough opens within a year",
      wakeAtMs: null,
    });
  });

  it("is what the grant rule asks, with the expected disruption from the limits", () => {
    const base = { queue: [{ node: "a1", role: "agent" as const }], holders: [], rollout: {}, health: new Map(), clusterChecks: { ok: true, failing: [] } };
    const limits = { maxUnavailable: 1, maxUnavailableServers: 1, settleSeconds: 0, windows: [berlinNights], expectedDisruptionSeconds: 3600 };
    expect(decideGrants({ ...base, now: Date.UTC(2024, 5, 3, 21, 30), limits }).grants).toHaveLength(1);
    const d = decideGrants({ ...base, now: Date.UTC(2024, 5, 3, 23, 30), limits });
    expect(d.grants).toEqual([]);
    expect(d.headReason).toContain("too soon for a 1h disruption; continues at 2024-06-04 22:00 Europe/Berlin");
    expect(d.wakeAtMs).toBe(Date.UTC(2024, 5, 4, 20, 0));
  });
});
