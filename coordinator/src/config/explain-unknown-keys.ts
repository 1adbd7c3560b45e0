// zod reports a misspelt key as `http: Unrecognized key: "publicStaus"`, at its parent and with nothing to go on. The
// agent's checker and the inventory name the key's own path and the keys expected there; this does the same for the
// coordinator's zod schema, and adds the nearest known key.
import type { z } from "zod";
import type { ConfigIssue, ConfigSchema } from "../../../shared/src/config/index.js";
import { nearestName } from "../../../shared/src/names/index.js";

type Schema = z.ZodType;
const WRAPPERS = new Set(["default", "prefault", "optional", "nullable"]);

function unwrap(schema: Schema): Schema {
  let s = schema as Schema & { unwrap?: () => Schema };
  while (WRAPPERS.has(s.def.type) && s.unwrap) s = s.unwrap() as Schema & { unwrap?: () => Schema };
  return s;
}

/** The keys an object at `path` may hold, following the raw config through discriminated unions by their `kind`. */
function keysAt(schema: Schema, path: readonly PropertyKey[], raw: unknown): string[] | null {
  let s = unwrap(schema);
  let value = raw;
  for (let i = 0; ; i++) {
    if (s.def.type === "union") {
      const kind = (value as { kind?: unknown } | null)?.kind;
      const options = (s as unknown as { options: Schema[] }).options;
      const match = options.find((o) => (unwrap(o) as unknown as { shape?: Record<string, { value?: unknown }> }).shape?.kind?.value === kind);
      if (!match) return null;
      s = unwrap(match);
    }
    const shape = (s as unknown as { shape?: Record<string, Schema> }).shape;
    if (!shape) return null;
    if (i === path.length) return Object.keys(shape);
    const key = String(path[i]);
    if (!shape[key]) return null;
    s = unwrap(shape[key]);
    value = (value as Record<string, unknown> | null)?.[key];
  }
}

/** One issue per unknown key, at its own path: the keys expected there, and the nearest if one is near. */
export function explainUnknownKeys(issues: readonly ConfigIssue[], schema: Schema, raw: unknown): ConfigIssue[] {
  return issues.flatMap((issue) => {
    const zodIssue = issue as ConfigIssue & { code?: string; keys?: string[] };
    const keys = zodIssue.code === "unrecognized_keys" ? (zodIssue.keys ?? null) : null;
    const known = keys ? keysAt(schema, issue.path, raw) : null;
    if (!keys || !known) return [issue];
    return keys.map((key) => {
      const near = nearestName(key, known);
      return { path: [...issue.path, key], message: `unknown key (${near ? `did you mean ${near}? ` : ""}expected one of ${known.join(", ")}); remove it or fix its spelling` };
    });
  });
}

/** `schema` as the config loader takes it, with unknown keys explained. */
export function withExplainedKeys<T>(schema: z.ZodType<T>): ConfigSchema<T> {
  return {
    safeParse(raw: unknown) {
      const result = schema.safeParse(raw);
      return result.success ? { success: true, data: result.data } : { success: false, error: { issues: explainUnknownKeys(result.error.issues, schema, raw) } };
    },
  };
}
