// Maintenance window arithmetic (pure): inside, next opening, closing, whether a whole disruption fits, wording.
import type { DailyWindow, MaintenanceWindow, Weekday } from "../../../shared/src/inventory/index.js";
import { cronCurrent, cronNextOpening } from "./cron-window.js";
import { addDays, formatInstant, isoDate, localDate, weekdayOf, zonedInstant, type CivilDate } from "./zoned-time.js";

/** Indexed like Date.getUTCDay(). */
const WEEKDAYS: readonly Weekday[] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const WEEK_ORDER: readonly Weekday[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/** How far ahead a next opening is looked for: excluded dates may skip weeks, not more than a year. */
const HORIZON_DAYS = 370;

export interface Occurrence {
  readonly open: number;
  readonly close: number;
}

/** A window that ends at or before its start runs past midnight; `days` name the day it opens. */
function wraps(w: DailyWindow): boolean {
  return w.endMinute <= w.startMinute;
}

/** The occurrence opening on local `date`, unless the window is not open that day. */
function occurrenceOn(w: DailyWindow, date: CivilDate): Occurrence | undefined {
  if (!w.days.includes(WEEKDAYS[weekdayOf(date)]!)) return undefined;
  if (w.exclude?.includes(isoDate(date))) return undefined;
  const open = zonedInstant(date, w.startMinute, w.timezone);
  const close = zonedInstant(wraps(w) ? addDays(date, 1) : date, w.endMinute, w.timezone);
  return close > open ? { open, close } : undefined;
}

/** The occurrence containing `now`, if any: today's, or yesterday's one that wrapped past midnight. */
function current(w: MaintenanceWindow, now: number): Occurrence | undefined {
  if ("cron" in w) return cronCurrent(w, now);
  const today = localDate(now, w.timezone);
  for (const shift of [-1, 0]) {
    const o = occurrenceOn(w, addDays(today, shift));
    if (o && now >= o.open && now < o.close) return o;
  }
  return undefined;
}

/** The first occurrence opening after `now` that lasts longer than `minMs`. */
function nextOpening(w: MaintenanceWindow, now: number, minMs = 0): Occurrence | undefined {
  if ("cron" in w) return cronNextOpening(w, now, minMs);
  const today = localDate(now, w.timezone);
  for (let i = 0; i <= HORIZON_DAYS; i++) {
    const o = occurrenceOn(w, addDays(today, i));
    if (o && o.open > now && o.close - o.open > minMs) return o;
  }
  return undefined;
}

/** True when grants may happen at `now`; no window means always. */
export function insideWindow(w: MaintenanceWindow | null, now: number): boolean {
  return w === null || current(w, now) !== undefined;
}

/** When the window next opens after `now`; undefined when it never does (no days). */
export function nextWindowOpen(w: MaintenanceWindow, now: number): number | undefined {
  return nextOpening(w, now)?.open;
}

/** When the window containing `now` closes; undefined when `now` is outside. */
export function windowCloses(w: MaintenanceWindow, now: number): number | undefined {
  return current(w, now)?.close;
}

function hhmm(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;
}

/** "sat,sun 22:30-04:00 UTC", "every day 01:00-05:00 Europe/Berlin except 2024-12-24", "cron 0 2 * * sat,sun for 4h UTC". */
export function formatWindow(w: MaintenanceWindow): string {
  const except = w.exclude && w.exclude.length > 0 ? ` except ${w.exclude.join(", ")}` : "";
  if ("cron" in w) return `cron ${w.cron.expression} for ${duration(w.durationMinutes * 60_000)} ${w.timezone ?? "UTC"}${except}`;
  const days = w.days.length === 7 ? "every day" : WEEK_ORDER.filter((d) => w.days.includes(d)).join(",") || "no days";
  return `${days} ${hhmm(w.startMinute)}-${hhmm(w.endMinute)} ${w.timezone ?? "UTC"}${except}`;
}

export interface WindowFit {
  /** Empty when a disruption of the asked length fits now. */
  readonly reason: string;
  /** When the answer may change: the next fitting opening, or the moment the current one stops fitting. */
  readonly wakeAtMs: number | null;
}

function duration(ms: number): string {
  const minutes = Math.ceil(ms / 60_000);
  return minutes >= 60 ? `${Math.floor(minutes / 60)}h${minutes % 60 ? `${minutes % 60}m` : ""}` : `${minutes}m`;
}

/**
 * Whether a disruption expected to take `needMs` can start at `now`: it must fit whole inside one occurrence
 * of some window. Otherwise the reason says when the rollout continues (the next opening long enough).
 */
export function fitWindows(windows: readonly MaintenanceWindow[], now: number, needMs: number): WindowFit {
  if (windows.length === 0) return { reason: "", wakeAtMs: null };
  const open = windows.map((w) => ({ w, o: current(w, now) })).filter((x): x is { w: MaintenanceWindow; o: Occurrence } => x.o !== undefined);
  const fitting = open.filter(({ o }) => o.close - now > needMs);
  if (fitting.length > 0) return { reason: "", wakeAtMs: Math.max(...fitting.map(({ o }) => o.close - needMs)) };
  const next = windows
    .map((w) => ({ w, o: nextOpening(w, now, needMs) }))
    .filter((x): x is { w: MaintenanceWindow; o: Occurrence } => x.o !== undefined)
    .sort((a, b) => a.o.open - b.o.open)[0];
  const continues = next ? `; continues at ${formatInstant(next.o.open, next.w.timezone)}` : "; no window long enough opens within a year";
  const closing = open[0];
  if (closing) {
    const when = formatInstant(closing.o.close, closing.w.timezone);
    return { reason: `maintenance window (${formatWindow(closing.w)}) closes at ${when}, too soon for a ${duration(needMs)} disruption${continues}`, wakeAtMs: next?.o.open ?? null };
  }
  const plural = windows.length > 1 ? "s" : "";
  return { reason: `outside maintenance window${plural} (${windows.map(formatWindow).join("; ")})${continues}`, wakeAtMs: next?.o.open ?? null };
}
