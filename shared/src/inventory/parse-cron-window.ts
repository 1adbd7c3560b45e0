// Reads a cron-like maintenance window: `cron` (five fields or a macro) and how long each opening lasts.
import { parseCron } from "./cron-expression.js";
import type { CronWindow } from "./model.js";
import type { Located, YamlReader } from "./yaml-reader.js";

/** An opening may last a week at most: longer is "always open" and better said by no window at all. */
const MAX_DURATION_MINUTES = 7 * 24 * 60;

/** "4h", "90m", "1h30m", "2d" → minutes; null when it is not such a duration. */
export function parseDurationMinutes(text: string): number | null {
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$/.exec(text.trim());
  if (!m || (!m[1] && !m[2] && !m[3])) return null;
  return Number(m[1] ?? 0) * 1440 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

export function readCronWindow(r: YamlReader, loc: Located, f: Map<string, Located>, common: Pick<CronWindow, "timezone" | "exclude">): CronWindow | null {
  for (const key of ["days", "start", "end"]) {
    if (f.has(key)) r.report(f.get(key)!.pos, `${loc.path}.${key}`, `a cron window takes cron and duration, not ${key}: put the days and the start time into the cron expression`);
  }
  const text = r.require(r.string(f.get("cron")), loc, "cron", 'five fields, minute hour day-of-month month day-of-week, e.g. "0 2 * * sat,sun"');
  const parsed = text === undefined ? undefined : parseCron(text);
  if (parsed && !parsed.ok) r.report(f.get("cron")!.pos, `${loc.path}.cron`, `${parsed.message} (fields: minute hour day-of-month month day-of-week)`);
  const raw = r.require(r.string(f.get("duration"), { coerce: true }), loc, "duration", 'how long each opening lasts, e.g. "4h", "90m" or "1h30m"');
  const minutes = raw === undefined ? null : parseDurationMinutes(raw);
  if (raw !== undefined && minutes === null) r.report(f.get("duration")!.pos, `${loc.path}.duration`, `expected a duration such as 4h, 90m, 1h30m or 1d, got "${raw}"`);
  else if (minutes !== null && (minutes < 1 || minutes > MAX_DURATION_MINUTES)) {
    r.report(f.get("duration")!.pos, `${loc.path}.duration`, `expected between 1m and 7d, got "${raw}"`);
  }
  if (!parsed?.ok || minutes === null || minutes < 1 || minutes > MAX_DURATION_MINUTES) return null;
  return { cron: parsed.schedule, durationMinutes: minutes, ...common };
}
