// Window arithmetic: plain windows, windows that wrap past midnight, next opening, closing and wording.
import { describe, expect, it } from "vitest";
import type { MaintenanceWindow } from "../../../shared/src/inventory/index.js";
import { formatWindow, insideWindow, nextWindowOpen, windowCloses } from "./maintenance-window.js";

/** 2024-06-01 is a Saturday. */
const at = (day: number, h: number, m = 0): number => Date.UTC(2024, 5, day, h, m);
const weekend: MaintenanceWindow = { days: ["sat", "sun"], startMinute: 22 * 60 + 30, endMinute: 4 * 60 };
const office: MaintenanceWindow = { days: ["mon", "tue", "wed", "thu", "fri"], startMinute: 9 * 60, endMinute: 17 * 60 };

describe("insideWindow", () => {
  it("is always inside without a window", () => {
    expect(insideWindow(null, at(1, 12))).toBe(true);
  });

  it("handles a window within one day, start inclusive and end exclusive", () => {
    expect(insideWindow(office, at(3, 9))).toBe(true); // Monday 09:00
    expect(insideWindow(office, at(3, 16, 59))).toBe(true);
    expect(insideWindow(office, at(3, 17))).toBe(false);
    expect(insideWindow(office, at(3, 8, 59))).toBe(false);
    expect(insideWindow(office, at(1, 12))).toBe(false); // Saturday
  });

  it("lets a window wrap past midnight, counting it on the day it opens", () => {
    expect(insideWindow(weekend, at(1, 22, 29))).toBe(false); // Sat before opening
    expect(insideWindow(weekend, at(1, 22, 30))).toBe(true); // Sat opening
    expect(insideWindow(weekend, at(2, 2))).toBe(true); // Sun 02:00, opened Sat
    expect(insideWindow(weekend, at(2, 4))).toBe(false); // Sun 04:00, closed
    expect(insideWindow(weekend, at(2, 23))).toBe(true); // Sun night
    expect(insideWindow(weekend, at(3, 3, 59))).toBe(true); // Mon 03:59, opened Sun
    expect(insideWindow(weekend, at(1, 2))).toBe(false); // Sat 02:00 would have opened Fri
    expect(insideWindow(weekend, at(3, 23))).toBe(false); // Mon night
  });

  it("is never inside a window without days", () => {
    expect(insideWindow({ days: [], startMinute: 0, endMinute: 60 }, at(1, 0, 30))).toBe(false);
  });
});

describe("nextWindowOpen and windowCloses", () => {
  it("finds the next opening, skipping days not listed", () => {
    expect(nextWindowOpen(weekend, at(3, 12))).toBe(at(8, 22, 30)); // Mon → next Sat
    expect(nextWindowOpen(weekend, at(1, 12))).toBe(at(1, 22, 30)); // Sat noon → tonight
    expect(nextWindowOpen(office, at(1, 12))).toBe(at(3, 9)); // Sat → Mon 09:00
  });

  it("finds the closing of the current occurrence, across midnight", () => {
    expect(windowCloses(weekend, at(1, 23))).toBe(at(2, 4));
    expect(windowCloses(weekend, at(2, 1))).toBe(at(2, 4));
    expect(windowCloses(office, at(4, 10))).toBe(at(4, 17));
    expect(windowCloses(office, at(4, 18))).toBeUndefined();
  });

  it("never opens without days", () => {
    expect(nextWindowOpen({ days: [], startMinute: 0, endMinute: 60 }, at(1, 0))).toBeUndefined();
  });
});

describe("formatWindow", () => {
  it("says days in week order with UTC times", () => {
    expect(formatWindow({ ...weekend, days: ["sun", "sat"] })).toBe("sat,sun 22:30-04:00 UTC");
    expect(formatWindow({ days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], startMinute: 60, endMinute: 300 })).toBe("every day 01:00-05:00 UTC");
  });
});
