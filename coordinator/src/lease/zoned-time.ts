// Wall-clock arithmetic in an IANA time zone (pure; Intl supplies the zone rules, including DST).
const MINUTE_MS = 60_000;
const formats = new Map<string, Intl.DateTimeFormat>();

function format(tz: string): Intl.DateTimeFormat {
  let f = formats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
    formats.set(tz, f);
  }
  return f;
}

/** A civil date: year, month 1-12, day 1-31. */
export interface CivilDate {
  readonly y: number;
  readonly m: number;
  readonly d: number;
}

/** The wall clock in `tz` at `ms`, as if it were UTC (so Date's UTC getters read it). */
function wallMs(ms: number, tz: string | undefined): number {
  if (!tz || tz === "UTC") return ms;
  const parts: Record<string, number> = {};
  for (const p of format(tz).formatToParts(new Date(ms))) if (p.type !== "literal") parts[p.type] = Number(p.value);
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) + (ms % 1000);
}

export function localDate(ms: number, tz: string | undefined): CivilDate {
  const w = new Date(wallMs(ms, tz));
  return { y: w.getUTCFullYear(), m: w.getUTCMonth() + 1, d: w.getUTCDate() };
}

/** The date `days` after `date` (negative goes back). */
export function addDays(date: CivilDate, days: number): CivilDate {
  const t = new Date(Date.UTC(date.y, date.m - 1, date.d + days));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

/** 0 = Sunday, like Date.getUTCDay(). */
export function weekdayOf(date: CivilDate): number {
  return new Date(Date.UTC(date.y, date.m - 1, date.d)).getUTCDay();
}

export function isoDate(date: CivilDate): string {
  return `${date.y}-${String(date.m).padStart(2, "0")}-${String(date.d).padStart(2, "0")}`;
}

/**
 * The instant at which `tz`'s wall clock shows `minute` past midnight of `date`. A wall time in a DST gap
 * does not exist and moves forward by the gap (02:30 becomes 03:30); in an overlap the earlier instant is taken.
 */
export function zonedInstant(date: CivilDate, minute: number, tz: string | undefined): number {
  const wall = Date.UTC(date.y, date.m - 1, date.d) + minute * MINUTE_MS;
  if (!tz || tz === "UTC") return wall;
  // The offsets a day either side: zones change offset at most once in two days.
  const offset = (t: number): number => wallMs(t, tz) - t;
  const before = offset(wall - 86_400_000);
  const after = offset(wall + 86_400_000);
  const exact = [wall - before, wall - after].filter((t) => wallMs(t, tz) === wall);
  return exact.length > 0 ? Math.min(...exact) : wall - before;
}

/** "2024-06-01 22:30 Europe/Berlin". */
export function formatInstant(ms: number, tz: string | undefined): string {
  const w = new Date(wallMs(ms, tz));
  const hh = String(w.getUTCHours()).padStart(2, "0");
  const mm = String(w.getUTCMinutes()).padStart(2, "0");
  return `${isoDate({ y: w.getUTCFullYear(), m: w.getUTCMonth() + 1, d: w.getUTCDate() })} ${hh}:${mm} ${tz ?? "UTC"}`;
}
