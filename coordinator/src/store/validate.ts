// Tiny structural checks for data read back from disk, reporting the dot-path of the first problem.

export type Check<T> = (value: unknown, path: string) => T;

/** Thrown by checks; callers wrap it into NkError("STATE_CORRUPT") naming the file. */
export class ShapeError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path || "(root)"}: ${problem}`);
    this.name = "ShapeError";
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing (the field is missing)";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`;
}

function join(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

export const str: Check<string> = (v, p) => {
  if (typeof v !== "string") throw new ShapeError(p, `expected a string, found ${describe(v)}`);
  return v;
};

/** Non-negative safe integer: times in ms, counters, sizes. */
export const int: Check<number> = (v, p) => {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new ShapeError(p, `expected a non-negative integer, found ${describe(v)}`);
  return v;
};

export const bool: Check<boolean> = (v, p) => {
  if (typeof v !== "boolean") throw new ShapeError(p, `expected a boolean, found ${describe(v)}`);
  return v;
};

export function oneOf<T extends string>(...allowed: T[]): Check<T> {
  return (v, p) => {
    if (typeof v !== "string" || !(allowed as string[]).includes(v)) throw new ShapeError(p, `expected one of ${allowed.join(", ")}, found ${describe(v)}`);
    return v as T;
  };
}

export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (v, p) => (v === undefined ? undefined : check(v, p));
}

function plainObject(v: unknown, p: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ShapeError(p, `expected an object, found ${describe(v)}`);
  return v as Record<string, unknown>;
}

type Shape = Record<string, Check<unknown>>;
type Out<S extends Shape> = { [K in keyof S]: ReturnType<S[K]> };

/** An object with the given keys; absent optional keys are left out, unknown keys are dropped. */
export function obj<S extends Shape>(shape: S): Check<Out<S>> {
  return (v, p) => {
    const input = plainObject(v, p);
    const out: Record<string, unknown> = {};
    for (const [key, check] of Object.entries(shape)) {
      const value = check(input[key], join(p, key));
      if (value !== undefined) out[key] = value;
    }
    return out as Out<S>;
  };
}

export function arr<T>(check: Check<T>): Check<T[]> {
  return (v, p) => {
    if (!Array.isArray(v)) throw new ShapeError(p, `expected an array, found ${describe(v)}`);
    return v.map((item, i) => check(item, join(p, i)));
  };
}

/** A JSON object used as a map; returned as a Map so keys like "__proto__" stay inert. */
export function map<T>(check: Check<T>): Check<Map<string, T>> {
  return (v, p) => {
    const input = plainObject(v, p);
    const out = new Map<string, T>();
    for (const [key, value] of Object.entries(input)) out.set(key, check(value, join(p, key)));
    return out;
  };
}

/** fromEntries defines own properties, so no key can reach the prototype. */
export const strMap: Check<Record<string, string>> = (v, p) => Object.fromEntries(map(str)(v, p));
