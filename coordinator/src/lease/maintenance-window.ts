// Maintenance window arithmetic (UTC, pure): is a time inside, when does it open or close next, how to say it.
import type { MaintenanceWindow, Weekday } from "../../../shared/src/inventory/index.js";

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** Indexed like Date.getUTCDay(). */
const WEEKDAYS: readonly Weekday[] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const WEEK_ORDER: readonly Weekday[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

function weekday(ms: number): Weekday {
  return WEEKDAYS[new Date(ms).getUTCDay()] ?? "sun";
}

/** A window that ends at or before its start runs past midnight; `days` name the day it opens. */
function wraps(w: MaintenanceWindow): boolean {
  return w.endMinute <= w.startMinute;
}

/** The [open, close) interval of the window that opened on the day starting at `day`. */
function occurrence(w: MaintenanceWindow, day: number): { open: number; close: number } {
  const open = day + w.startMinute * MINUTE_MS;
  const close = (wraps(w) ? day + DAY_MS : day) + w.endMinute * MINUTE_MS;
  return { open, close };
}

/** The occurrence containing `now`, if any: today's, or yesterday's one that wrapped past midnight. */
function current(w: MaintenanceWindow, now: number): { open: number; close: number } | undefined {
  const today = dayStart(now);
  for (const day of [today - DAY_MS, today]) {
    if (!w.days.includes(weekday(day))) continue;
    const o = occurrence(w, day);
    if (now >= o.open && now < o.close) return o;
  }
  return undefined;
}

/** True when grants may happen at `now`; no window means always. */
export function insideWindow(w: MaintenanceWindow | null, now: number): boolean {
  return w === null || current(w, now) !== undefined;
}

/** When the window next opens after `now`; undefined when it never does (no days). */
export function nextWindowOpen(w: MaintenanceWindow, now: number): number | undefined {
  const today = dayStart(now);
  for (let i = 0; i <= 7; i++) {
    const day = today + i * DAY_MS;
    if (!w.days.includes(weekday(day))) continue;
    const { open } = occurrence(w, day);
    if (open > now) return open;
  }
  return undefined;
}

/** When the window containing `now` closes; undefined when `now` is outside. */
export function windowCloses(w: MaintenanceWindow, now: number): number | undefined {
  return current(w, now)?.close;
}

function hhmm(minute: number): string {
  const h = Math.floor(minute / 60);
  const m = minute % 60;
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
}

/** "sat,sun 22:30-04:00 UTC", "every day 01:00-05:00 UTC". */
export function formatWindow(w: MaintenanceWindow): string {
  const days = w.days.length === 7 ? "every day" : WEEK_ORDER.filter((d) => w.days.includes(d)).join(",") || "no days";
  return `${days} ${hhmm(w.startMinute)}-${hhmm(w.endMinute)} UTC`;
}
