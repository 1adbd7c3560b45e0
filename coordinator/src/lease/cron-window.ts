// Cron window arithmetic (pure): openings at each local time a cron expression matches, merged where they overlap.
import { cronMatchesDay, type CronWindow } from "../../../shared/src/inventory/index.js";
import { addDays, isoDate, localDate, weekdayOf, zonedInstant, type CivilDate } from "./zoned-time.js";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** How far ahead a next opening is looked for, as for daily windows. */
const HORIZON_DAYS = 370;
/** Openings that overlap form one stretch; it is followed this far at most and counts as closing there. */
const STRETCH_MS = 8 * DAY_MS;
const CACHE_DAYS = 512;

export interface Opening {
  readonly open: number;
  readonly close: number;
}

const dayCache = new Map<string, readonly number[]>();

/** The instants the window opens on local `date`, ascending; remembered, as every grant decision asks again. */
function opensOn(w: CronWindow, date: CivilDate): readonly number[] {
  const iso = isoDate(date);
  if (!cronMatchesDay(w.cron, date.m, date.d, weekdayOf(date)) || w.exclude?.includes(iso)) return [];
  const key = `${w.cron.expression}\0${w.timezone ?? ""}\0${iso}`;
  const known = dayCache.get(key);
  if (known) return known;
  const first = zonedInstant(date, 0, w.timezone);
  // One offset all day (no DST change): plain arithmetic; otherwise each wall time through the zone rules.
  const uniform = zonedInstant(date, 1439, w.timezone) - first === 1439 * MINUTE_MS;
  const opens = new Set<number>();
  for (const h of w.cron.hours) for (const m of w.cron.minutes) opens.add(uniform ? first + (h * 60 + m) * MINUTE_MS : zonedInstant(date, h * 60 + m, w.timezone));
  const sorted = [...opens].sort((a, b) => a - b);
  if (dayCache.size >= CACHE_DAYS) dayCache.clear();
  dayCache.set(key, sorted);
  return sorted;
}

/** Index of the first element of ascending `xs` greater than `t` (xs.length if none). */
function firstAbove(xs: readonly number[], t: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! > t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The latest opening at or before `t`, looking back `days` local days. */
function latestAtOrBefore(w: CronWindow, t: number, days: number): number | undefined {
  const today = localDate(t, w.timezone);
  for (let i = 0; i <= days; i++) {
    const opens = opensOn(w, addDays(today, -i));
    const k = firstAbove(opens, t);
    if (k > 0) return opens[k - 1];
  }
  return undefined;
}

/** The first opening after `t`, looking ahead `days` local days. */
function firstAfter(w: CronWindow, t: number, days: number): number | undefined {
  const today = localDate(t, w.timezone);
  for (let i = 0; i <= days; i++) {
    const opens = opensOn(w, addDays(today, i));
    const k = firstAbove(opens, t);
    if (k < opens.length) return opens[k];
  }
  return undefined;
}

function durationMs(w: CronWindow): number {
  return w.durationMinutes * MINUTE_MS;
}

function lookback(w: CronWindow): number {
  return Math.ceil(durationMs(w) / DAY_MS) + 1;
}

/** Where the stretch of overlapping (or touching) openings that starts at `open` ends. */
function stretchClose(w: CronWindow, open: number): number {
  const limit = open + STRETCH_MS;
  let close = open + durationMs(w);
  while (close < limit) {
    const latest = latestAtOrBefore(w, close, lookback(w));
    if (latest === undefined || latest + durationMs(w) <= close) break;
    close = latest + durationMs(w);
  }
  return Math.min(close, limit);
}

/** The stretch containing `now`, if the window is open. */
export function cronCurrent(w: CronWindow, now: number): Opening | undefined {
  const latest = latestAtOrBefore(w, now, lookback(w));
  if (latest === undefined || latest + durationMs(w) <= now) return undefined;
  return { open: latest, close: stretchClose(w, latest) };
}

/** The first stretch opening after `now` (after the one open now) that lasts longer than `minMs`. */
export function cronNextOpening(w: CronWindow, now: number, minMs = 0): Opening | undefined {
  const end = now + HORIZON_DAYS * DAY_MS;
  let from = cronCurrent(w, now)?.close ?? now;
  while (from < end) {
    const open = firstAfter(w, from, Math.ceil((end - from) / DAY_MS));
    if (open === undefined || open > end) return undefined;
    const close = stretchClose(w, open);
    if (close - open > minMs) return { open, close };
    from = close;
  }
  return undefined;
}
