import { describe, expect, it } from "vitest";
import { cronMatchesDay, parseCron, type CronSchedule } from "./cron-expression.js";

function schedule(text: string): CronSchedule {
  const r = parseCron(text);
  if (!r.ok) throw new Error(r.message);
  return r.schedule;
}

describe("parseCron", () => {
  it("reads lists, ranges, steps and names", () => {
    const s = schedule("0,30 22-23/1 1-7 jan-mar,DEC mon-fri");
    expect(s).toMatchObject({ minutes: [0, 30], hours: [22, 23], daysOfMonth: [1, 2, 3, 4, 5, 6, 7], months: [1, 2, 3, 12], daysOfWeek: [1, 2, 3, 4, 5], anyDayOfMonth: false, anyDayOfWeek: false });
    expect(schedule("*/15 */6 * * *")).toMatchObject({ minutes: [0, 15, 30, 45], hours: [0, 6, 12, 18], anyDayOfMonth: true, anyDayOfWeek: true });
    // N/STEP runs from N to the field's end; 7 is Sunday like 0.
    expect(schedule("5/20 2 * * 5-7")).toMatchObject({ minutes: [5, 25, 45], daysOfWeek: [0, 5, 6] });
    expect(schedule("@weekly")).toMatchObject({ expression: "@weekly", minutes: [0], hours: [0], daysOfWeek: [0] });
  });

  it("names the field and what it expected", () => {
    const bad = (text: string) => {
      const r = parseCron(text);
      return r.ok ? "ok" : `${r.field}: ${r.message}`;
    };
    expect(bad("60 2 * * *")).toBe('minute: minute (field 1, "60"): 60 is out of range 0-59');
    expect(bad("0 2 0 * *")).toBe('day-of-month: day-of-month (field 3, "0"): 0 is out of range 1-31');
    expect(bad("0 2 * foo *")).toBe('month: month (field 4, "foo"): expected a number 1-12 or a name (jan, feb, mar, apr, may, jun, jul, aug, sep, oct, nov, dec), got "foo"');
    expect(bad("0 2 * * 1,,2")).toBe('day-of-week: day-of-week (field 5, "1,,2"): empty item in "1,,2"');
    expect(bad("0 2 * * 1-2-3")).toBe('day-of-week: day-of-week (field 5, "1-2-3"): expected a range A-B, got "1-2-3"');
    expect(bad("0 2/3/4 * * *")).toBe('hour: hour (field 2, "2/3/4"): expected *, N, A-B or one of them with /STEP, got "2/3/4"');
    expect(bad("0 2 * * * *")).toBe('cron: expected five fields (minute hour day-of-month month day-of-week, e.g. "0 2 * * sat,sun"), got 6');
    expect(bad("@reboot")).toBe('cron: unknown macro "@reboot"; expected one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or five fields');
  });
});

describe("cronMatchesDay", () => {
  it("matches either day field when both are restricted, else the restricted one (cron's rule)", () => {
    const both = schedule("0 2 13 * fri");
    expect(cronMatchesDay(both, 6, 13, 5)).toBe(true);
    expect(cronMatchesDay(both, 6, 13, 1)).toBe(true);
    expect(cronMatchesDay(both, 6, 6, 5)).toBe(true);
    expect(cronMatchesDay(both, 6, 7, 6)).toBe(false);
    const dowOnly = schedule("0 2 */2 * fri");
    // A day-of-month field led by * does not restrict (Vixie cron), so only Fridays count.
    expect(cronMatchesDay(dowOnly, 6, 6, 5)).toBe(true);
    expect(cronMatchesDay(dowOnly, 6, 7, 6)).toBe(false);
    expect(cronMatchesDay(schedule("0 2 1 jan *"), 2, 1, 3)).toBe(false);
  });
});
