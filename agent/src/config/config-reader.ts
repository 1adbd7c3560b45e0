// Reads typed fields out of a parsed config, collecting one precise issue per bad field (path, expected, got).
import type { ConfigIssue } from "../../../shared/src/config/index.js";

type Path = readonly (string | number)[];
type Mapping = Record<string, unknown>;

function isMapping(v: unknown): v is Mapping {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The offending value as the error shows it: quoted and cut short, or its kind. */
export function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return v.length === 0 ? "an empty list" : `a list (${JSON.stringify(v).slice(0, 60)})`;
  if (typeof v === "object") return "a mapping";
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export interface TextRule {
  /** Why the field matters and how to set it; makes the field required. */
  readonly required?: string;
  readonly fallback?: string;
  readonly allowEmpty?: boolean;
  readonly pattern?: RegExp;
  /** What a valid value looks like, for a value that misses `pattern`. */
  readonly expected?: string;
}

export interface NumberRule {
  readonly integer?: boolean;
  readonly positive?: boolean;
  readonly min?: number;
  readonly max?: number;
  /** What the number means, shown with a bad value. */
  readonly hint: string;
}

export class ConfigReader {
  readonly issues: ConfigIssue[] = [];
  private readonly root: Mapping;

  constructor(raw: unknown, expected: string) {
    this.root = isMapping(raw) ? raw : {};
    if (!isMapping(raw)) this.fail([], `expected ${expected}; got ${describeValue(raw)}`);
  }

  /** `involves`: for a rule across settings, every setting it read (dot-paths), so the error says who gave each. */
  fail(path: Path, message: string, involves?: readonly string[]): void {
    this.issues.push(involves ? { path, message, params: { involves } } : { path, message });
  }

  get(path: Path): unknown {
    let v: unknown = this.root;
    for (const key of path) {
      if (typeof key === "number" ? !Array.isArray(v) : !isMapping(v)) return undefined;
      v = (v as Record<string | number, unknown>)[key];
    }
    return v;
  }

  has(path: Path): boolean {
    return this.get(path) !== undefined;
  }

  /** True if the field is a mapping; else one issue saying what it should be. */
  mapping(path: Path, expected: string): boolean {
    const v = this.get(path);
    if (isMapping(v)) return true;
    this.fail(path, `expected ${expected}; got ${describeValue(v)}`);
    return false;
  }

  /**
   * Unknown keys are errors: a typo would otherwise silently fall back to a default. `kindAt`: the setting whose
   * value decides the keys allowed (system.kind), named with each, since a flag may have set it.
   */
  onlyKeys(path: Path, allowed: readonly string[], kindAt?: Path): void {
    const v = path.length === 0 ? this.root : this.get(path);
    if (!isMapping(v)) return;
    const kind = kindAt ? ` with ${kindAt.join(".")} ${describeValue(this.get(kindAt))}` : "";
    for (const key of Object.keys(v)) {
      if (allowed.includes(key)) continue;
      const at = [...path, key];
      this.fail(at, `unknown key${kind} (expected one of ${allowed.join(", ")}); remove it or fix its spelling`, kindAt ? [at.join("."), kindAt.join(".")] : undefined);
    }
  }

  text(path: Path, rule: TextRule): string {
    const v = this.get(path);
    if (v === undefined) {
      if (rule.required !== undefined) this.fail(path, `missing: ${rule.required}`);
      return rule.fallback ?? "";
    }
    if (typeof v !== "string") this.fail(path, `expected ${rule.expected ?? "a string"}; got ${describeValue(v)}`);
    else if (v === "" && !rule.allowEmpty) this.fail(path, `expected ${rule.expected ?? "a non-empty string"}; got ""${rule.required ? ` (${rule.required})` : ""}`);
    else if (rule.pattern && !rule.pattern.test(v)) this.fail(path, `expected ${rule.expected ?? rule.pattern.source}; got ${describeValue(v)}`);
    else return v;
    return rule.fallback ?? "";
  }

  number(path: Path, fallback: number, rule: NumberRule): number {
    const v = this.get(path);
    if (v === undefined) return fallback;
    const ok =
      typeof v === "number" &&
      Number.isFinite(v) &&
      (!rule.integer || Number.isInteger(v)) &&
      (!rule.positive || v > 0) &&
      (rule.min === undefined || v >= rule.min) &&
      (rule.max === undefined || v <= rule.max);
    if (ok) return v;
    const kind = rule.integer ? (rule.positive ? "a positive integer" : "an integer") : rule.positive ? "a positive number" : "a number";
    const range = rule.min !== undefined && rule.max !== undefined ? ` from ${rule.min} to ${rule.max}` : "";
    this.fail(path, `expected ${kind}${range} (${rule.hint}); got ${describeValue(v)}`);
    return fallback;
  }

  oneOf<T extends string>(path: Path, values: readonly T[], what: string, fallback?: T): T | undefined {
    const v = this.get(path);
    if (v === undefined && fallback !== undefined) return fallback;
    if (v === undefined) this.fail(path, `missing: ${what}, one of ${values.join(", ")}`);
    else if (!values.includes(v as T)) this.fail(path, `expected one of ${values.join(", ")} (${what}); got ${describeValue(v)}`);
    else return v as T;
    return fallback;
  }

  /** A list read item by item; `required` (why it may not be absent or empty) or null for an optional list. */
  list<T>(path: Path, required: string | null, item: (index: number) => T): T[] {
    const v = this.get(path);
    if (v === undefined) {
      if (required !== null) this.fail(path, `missing: ${required}`);
      return [];
    }
    if (!Array.isArray(v)) {
      this.fail(path, `expected a list; got ${describeValue(v)}`);
      return [];
    }
    if (v.length === 0 && required !== null) this.fail(path, `expected ${required}; got an empty list`);
    return v.map((_, i) => item(i));
  }

  /** A non-empty list of strings (a command line). */
  textList(path: Path, expected: string): string[] {
    const v = this.get(path);
    if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string")) return v as string[];
    this.fail(path, `${v === undefined ? "missing" : `got ${describeValue(v)}`}: expected ${expected}`);
    return [];
  }
}
