// Cron windows: openings on the zone's wall clock, DST changes, excluded dates, overlapping openings, whole fit.
import { describe, expect, it } from "vitest";
import { parseCron, type CronWindow } from "../../../shared/src/inventory/index.js";
import { decideGrants } from "./grant-decision.js";
import { fitWindows, formatWindow, insideWindow, nextWindowOpen, windowCloses } from "./maintenance-window.js";

const MIN = 60_000;

function cron(expression: string, durationMinutes: number, extra: Partial<CronWindow> = {}): CronWindow {
  const r = parseCron(expression);
  if (!r.ok) throw new Error(r.message);
  return { cron: r.schedule, durationMinutes, ...extra };
}

const weekends = cron("0 2 * * sat,sun", 240, { timezone: "Europe/Berlin" });

describe("cron windows", () => {
  it("opens at each matching local time for its duration", () => {
    // June: Berlin is UTC+2, so Sat 2025-06-07 02:00-06:00 local is 00:00-04:00 UTC.
    expect(nextWindowOpen(weekends, Date.UTC(2025, 5, 6, 12, 0))).toBe(Date.UTC(2025, 5, 7, 0, 0));
    expect(insideWindow(weekends, Date.UTC(2025, 5, 7, 1, 0))).toBe(true);
    expect(windowCloses(weekends, Date.UTC(2025, 5, 7, 1, 0))).toBe(Date.UTC(2025, 5, 7, 4, 0));
    expect(insideWindow(weekends, Date.UTC(2025, 5, 7, 4, 0))).toBe(false);
    expect(nextWindowOpen(weekends, Date.UTC(2025, 5, 7, 5, 0))).toBe(Date.UTC(2025, 5, 8, 0, 0));
    // January: UTC+1.
    expect(nextWindowOpen(weekends, Date.UTC(2025, 0, 9, 12, 0))).toBe(Date.UTC(2025, 0, 11, 1, 0));
    expect(formatWindow(weekends)).toBe("cron 0 2 * * sat,sun for 4h Europe/Berlin");
  });

  it("keeps to the wall clock across both DST changes", () => {
    // 2025-03-30 02:30 Berlin does not exist: the opening moves forward by the gap, to 03:30 CEST (01:30 UTC)...
    const sundays = cron("30 2 * * sun", 60, { timezone: "Europe/Berlin" });
    expect(nextWindowOpen(sundays, Date.UTC(2025, 2, 29, 12, 0))).toBe(Date.UTC(2025, 2, 30, 1, 30));
    // ...and lasts its hour of real time.
    expect(windowCloses(sundays, Date.UTC(2025, 2, 30, 2, 0))).toBe(Date.UTC(2025, 2, 30, 2, 30));
    expect(nextWindowOpen(sundays, Date.UTC(2025, 2, 30, 3, 0))).toBe(Date.UTC(2025, 3, 6, 0, 30)); // 02:30 CEST
    // 2025-10-26 02:30 happens twice: the window opens once, at the first (CEST, 00:30 UTC).
    expect(nextWindowOpen(sundays, Date.UTC(2025, 9, 25, 12, 0))).toBe(Date.UTC(2025, 9, 26, 0, 30));
    expect(nextWindowOpen(sundays, Date.UTC(2025, 9, 26, 0, 45))).toBe(Date.UTC(2025, 10, 2, 1, 30)); // 02:30 CET
    // A 3-hour opening at 01:00 CEST that night ends three real hours later, at 03:00 CET (02:00 UTC).
    const night = cron("0 1 26 oct *", 180, { timezone: "Europe/Berlin" });
    expect(windowCloses(night, Date.UTC(2025, 9, 25, 23, 30))).toBe(Date.UTC(2025, 9, 26, 2, 0));
    expect(insideWindow(night, Date.UTC(2025, 9, 26, 2, 0))).toBe(false);
  });

  it("skips excluded local dates and matches either day field when both are given", () => {
    const saturdays = cron("0 2 * * sat", 60, { exclude: ["2025-06-07"] });
    expect(nextWindowOpen(saturdays, Date.UTC(2025, 5, 6, 12, 0))).toBe(Date.UTC(2025, 5, 14, 2, 0));
    const fridayOr13th = cron("0 3 13 * fri", 60);
    expect(nextWindowOpen(fridayOr13th, Date.UTC(2025, 5, 7, 0, 0))).toBe(Date.UTC(2025, 5, 13, 3, 0));
    expect(nextWindowOpen(fridayOr13th, Date.UTC(2025, 6, 5, 0, 0))).toBe(Date.UTC(2025, 6, 11, 3, 0)); // Fri 11 July
    expect(nextWindowOpen(fridayOr13th, Date.UTC(2025, 6, 12, 0, 0))).toBe(Date.UTC(2025, 6, 13, 3, 0)); // Sun 13 July
  });

  it("joins openings that overlap or touch into one stretch", () => {
    const hourlyLong = cron("0 * * * *", 90);
    const now = Date.UTC(2025, 5, 7, 10, 15);
    expect(insideWindow(hourlyLong, now)).toBe(true);
    expect(fitWindows([hourlyLong], now, 6 * 60 * MIN).reason).toBe("");
    const everyMinute = cron("* * * * *", 1);
    expect(fitWindows([everyMinute], now, 24 * 60 * MIN).reason).toBe("");
    // Two hours on, two hours off: no stretch is longer than two hours.
    const alternate = cron("0 */4 * * *", 120);
    expect(fitWindows([alternate], Date.UTC(2025, 5, 7, 4, 30), 150 * MIN)).toEqual({
      reason: "maintenance window (cron 0 */4 * * * for 2h UTC) closes at 2025-06-07 06:00 UTC, too soon for a 2h30m disruption; no window long enough opens within a year",
      wakeAtMs: null,
    });
  });

  it("grants only when the whole expected disruption fits, and says when the rollout continues", () => {
    const base = { queue: [{ node: "a1", role: "agent" as const }], holders: [], rollout: {}, health: new Map(), clusterChecks: { ok: true, failing: [] } };
    const limits = { maxUnavailable: 1, maxUnavailableServers: 1, settleSeconds: 0, windows: [weekends], expectedDisruptionSeconds: 1800 };
    expect(decideGrants({ ...base, now: Date.UTC(2025, 5, 7, 3, 0), limits }).grants).toHaveLength(1);
    const late = decideGrants({ ...base, now: Date.UTC(2025, 5, 7, 3, 45), limits });
    expect(late.grants).toEqual([]);
    expect(late.headReason).toBe("maintenance window (cron 0 2 * * sat,sun for 4h Europe/Berlin) closes at 2025-06-07 06:00 Europe/Berlin, too soon for a 30m disruption; continues at 2025-06-08 02:00 Europe/Berlin");
    expect(late.wakeAtMs).toBe(Date.UTC(2025, 5, 8, 0, 0));
    const weekday = decideGrants({ ...base, now: Date.UTC(2025, 5, 4, 12, 0), limits });
    expect(weekday.headReason).toBe("outside maintenance window (cron 0 2 * * sat,sun for 4h Europe/Berlin); continues at 2025-06-07 02:00 Europe/Berlin");
    expect(weekday.wakeAtMs).toBe(Date.UTC(2025, 5, 7, 0, 0));
  });
});
