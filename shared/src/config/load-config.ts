// Loads a daemon's YAML config file and checks it against its schema, reporting every problem by dot-path.
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import type { z } from "zod";
import { NkError } from "../errors/index.js";

/** `grpc.listen: expected string, got number` lines, one per problem. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((i) => `${i.path.length > 0 ? i.path.join(".") : "(top level)"}: ${i.message}`);
}

export function checkConfig<S extends z.ZodType>(schema: S, raw: unknown, source: string): z.output<S> {
  const result = schema.safeParse(raw ?? {});
  if (!result.success) {
    throw new NkError("CONFIG_INVALID", `${source} is invalid:\n  ${formatIssues(result.error.issues).join("\n  ")}`);
  }
  return result.data;
}

export async function loadConfigFile<S extends z.ZodType>(schema: S, path: string | undefined, overrides: Record<string, unknown> = {}): Promise<z.output<S>> {
  let raw: Record<string, unknown> = {};
  if (path) {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      throw new NkError("CONFIG_INVALID", `cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      raw = (parse(text) as Record<string, unknown> | null) ?? {};
    } catch (err) {
      throw new NkError("CONFIG_INVALID", `${path} is not valid YAML: ${(err as Error).message.split("\n")[0]}`, { cause: err });
    }
  }
  return checkConfig(schema, deepMerge(raw, overrides), path ?? "the configuration");
}

/** Command-line overrides win over the file, key by key. */
function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] =
      value && typeof value === "object" && !Array.isArray(value) && current && typeof current === "object" && !Array.isArray(current)
        ? deepMerge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

/** Reads a secret from its file (secrets are configured only as *File), trimming the trailing newline. */
export async function readSecretFile(path: string, what: string): Promise<string> {
  try {
    const value = (await readFile(path, "utf8")).trim();
    if (!value) throw new NkError("CONFIG_INVALID", `${what} file ${path} is empty`);
    return value;
  } catch (err) {
    if (err instanceof NkError) throw err;
    throw new NkError("CONFIG_INVALID", `cannot read ${what} file ${path}: ${(err as Error).message}`, { cause: err });
  }
}
