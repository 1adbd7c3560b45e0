// Five-field cron expressions (minute hour day-of-month month day-of-week) as Vixie cron reads them, parsed to sets.

/** The matching values of each field, sorted; `*`-led day fields are kept apart for cron's day rule. */
export interface CronSchedule {
  readonly expression: string;
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  /** 1-31. */
  readonly daysOfMonth: readonly number[];
  /** 1-12. */
  readonly months: readonly number[];
  /** 0-6, Sunday 0 (7 is read as Sunday too). */
  readonly daysOfWeek: readonly number[];
  /** The day-of-month field starts with `*`: then only day-of-week restricts the day (and the other way round). */
  readonly anyDayOfMonth: boolean;
  readonly anyDayOfWeek: boolean;
}

export type CronParse = { readonly ok: true; readonly schedule: CronSchedule } | { readonly ok: false; readonly field: string; readonly message: string };

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Where `names[0]` counts from. */
  readonly namesFrom?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], namesFrom: 1 },
  { name: "day-of-week", min: 0, max: 7, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"], namesFrom: 0 },
];

const MACROS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

class FieldError extends Error {}

function value(text: string, f: FieldSpec): number {
  const named = f.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return named + (f.namesFrom ?? 0);
  if (!/^\d+$/.test(text)) {
    const names = f.names ? ` or a name (${f.names.join(", ")})` : "";
    throw new FieldError(`expected a number ${f.min}-${f.max}${names}, got "${text}"`);
  }
  const n = Number(text);
  if (n < f.min || n > f.max) throw new FieldError(`${n} is out of range ${f.min}-${f.max}`);
  return n;
}

/** One comma-separated item: `*`, `N`, `A-B`, each optionally `/STEP` (`N/STEP` runs from N to the end). */
function item(text: string, f: FieldSpec): number[] {
  const [range, stepText, extra] = text.split("/");
  if (extra !== undefined || range === "") throw new FieldError(`expected *, N, A-B or one of them with /STEP, got "${text}"`);
  let step = 1;
  if (stepText !== undefined) {
    if (!/^\d+$/.test(stepText) || Number(stepText) < 1) throw new FieldError(`expected a step of 1 or more after "/", got "${stepText}"`);
    step = Number(stepText);
  }
  let from: number;
  let to: number;
  if (range === "*") [from, to] = [f.min, f.max];
  else if (range!.includes("-")) {
    const [a, b, more] = range!.split("-");
    if (more !== undefined || !a || !b) throw new FieldError(`expected a range A-B, got "${range}"`);
    [from, to] = [value(a, f), value(b, f)];
    if (to < from) throw new FieldError(`range ${range} runs backwards; write it as two items (e.g. ${a}-${f.max},${f.min}-${b})`);
  } else {
    from = value(range!, f);
    to = stepText === undefined ? from : f.max;
  }
  const out: number[] = [];
  for (let n = from; n <= to; n += step) out.push(n);
  return out;
}

function field(text: string, f: FieldSpec): number[] {
  const values = new Set<number>();
  for (const part of text.split(",")) {
    if (part === "") throw new FieldError(`empty item in "${text}"`);
    for (const n of item(part, f)) values.add(f.name === "day-of-week" && n === 7 ? 0 : n);
  }
  return [...values].sort((a, b) => a - b);
}

/**
 * Parses `minute hour day-of-month month day-of-week` (lists, ranges, steps, month and weekday names, 7 for Sunday)
 * or a macro (@daily, @weekly, ...). As in cron, when both day fields are restricted a day matching either counts.
 */
export function parseCron(expression: string): CronParse {
  const text = expression.trim();
  const expanded = MACROS[text.toLowerCase()] ?? text;
  if (text.startsWith("@") && !MACROS[text.toLowerCase()]) {
    return { ok: false, field: "cron", message: `unknown macro "${text}"; expected one of ${Object.keys(MACROS).join(", ")} or five fields` };
  }
  const parts = expanded.split(/\s+/).filter((p) => p !== "");
  if (parts.length !== 5) {
    return { ok: false, field: "cron", message: `expected five fields (minute hour day-of-month month day-of-week, e.g. "0 2 * * sat,sun"), got ${parts.length}` };
  }
  const sets: number[][] = [];
  for (const [i, f] of FIELDS.entries()) {
    try {
      sets.push(field(parts[i]!, f));
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      return { ok: false, field: f.name, message: `${f.name} (field ${i + 1}, "${parts[i]}"): ${err.message}` };
    }
  }
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = sets as [number[], number[], number[], number[], number[]];
  return {
    ok: true,
    schedule: { expression: text, minutes, hours, daysOfMonth, months, daysOfWeek, anyDayOfMonth: parts[2]!.startsWith("*"), anyDayOfWeek: parts[4]!.startsWith("*") },
  };
}

/** Whether a day (month 1-12, day 1-31, weekday 0-6 with Sunday 0) matches the schedule's day fields. */
export function cronMatchesDay(s: CronSchedule, month: number, day: number, weekday: number): boolean {
  if (!s.months.includes(month)) return false;
  const dom = s.daysOfMonth.includes(day);
  const dow = s.daysOfWeek.includes(weekday);
  if (s.anyDayOfMonth && s.anyDayOfWeek) return true;
  if (s.anyDayOfMonth) return dow;
  if (s.anyDayOfWeek) return dom;
  return dom || dow;
}
