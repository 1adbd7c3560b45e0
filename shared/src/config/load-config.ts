// Loads a daemon's YAML config file and checks it against its schema, reporting every problem by dot-path.
import { readFile, stat } from "node:fs/promises";
import { NkError } from "../errors/index.js";
import { fsReason } from "../fs/index.js";
import { configError } from "./config-error.js";
import type { ConfigSchema } from "./config-issue.js";
import { settingLines } from "./setting-lines.js";
import { valueAt } from "./value-at.js";

/**
 * Checks `raw` against the schema. `flags`: the settings given on the command line, by dot-path (`grpc.listen` →
 * `--grpc-listen`): a problem with one of those names the flag, not the file that does not hold it.
 */
export function checkConfig<T>(schema: ConfigSchema<T>, raw: unknown, source: string, flags: ReadonlyMap<string, string> = new Map()): T {
  const result = schema.safeParse(raw ?? {});
  if (result.success) return result.data;
  throw configError(result.error.issues, { source, flags, settings: raw });
}

/**
 * Reads the config file (if any) and checks it with `overrides` from the command line merged over it. `flags` names
 * each override's flag by its dot-path, for the errors (see checkConfig).
 */
export async function loadConfigFile<T>(schema: ConfigSchema<T>, path: string | undefined, overrides: Record<string, unknown> = {}, flags: Readonly<Record<string, string>> = {}): Promise<T> {
  let raw: Record<string, unknown> = {};
  let text: string | undefined;
  if (path) {
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      throw new NkError("CONFIG_INVALID", `cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
    }
    raw = settingsOf(await parseConfigText(text, path), path);
  }
  const given = new Map(Object.entries(flags).filter(([dotPath]) => valueAt(overrides, dotPath.split(".")) !== undefined));
  const settings = deepMerge(raw, overrides);
  const result = schema.safeParse(settings);
  if (result.success) return result.data;
  // The file's lines, for the error only.
  const lineOf = text === undefined ? undefined : await settingLines(text);
  throw configError(result.error.issues, { source: path ?? "the configuration", flags: given, settings, lineOf });
}

/** The parsed file as settings: an empty file and one that is not a mapping are said so, not checked key by key. */
function settingsOf(parsed: unknown, path: string): Record<string, unknown> {
  if (parsed === null || parsed === undefined) throw new NkError("CONFIG_INVALID", `${path} holds no settings (it is empty or only comments)`);
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    const got = Array.isArray(parsed) ? "a list" : `a single ${typeof parsed}`;
    throw new NkError("CONFIG_INVALID", `${path}: expected a mapping of settings (key: value lines), got ${got}${typeof parsed === "string" ? " (a ':' missing after a key?)" : ""}`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * JSON (what the NixOS module writes) is read without the YAML library, so the agent never loads it; anything
 * else, and JSON with a repeated key (which YAML refuses), goes through the YAML parser and its errors.
 */
async function parseConfigText(text: string, path: string): Promise<unknown> {
  const json = parseJsonObject(text);
  if (json) return json;
  const { parse } = await import("yaml");
  try {
    return parse(text) as unknown;
  } catch (err) {
    throw new NkError("CONFIG_INVALID", `${path} is not valid YAML (nor JSON): ${(err as Error).message.split("\n")[0]}`, { cause: err });
  }
}

function parseJsonObject(text: string): Record<string, unknown> | null {
  if (!text.trimStart().startsWith("{")) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
  // Every string token, in order; one followed by ":" is a key. Fewer keys parsed than written = a repeat.
  const written = [...text.matchAll(/"(?:[^"\\]|\\.)*"(\s*:)?/g)].filter((m) => m[1] !== undefined).length;
  return written === countKeys(value) ? (value as Record<string, unknown>) : null;
}

function countKeys(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return (Array.isArray(value) ? 0 : children.length) + children.reduce<number>((n, c) => n + countKeys(c), 0);
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

/** A bearer token as it may go in a header: one word of printable ASCII (what nkctl, the installer and the daemons check). */
export function isTokenText(value: string): boolean {
  return /^[\x21-\x7e]+$/.test(value);
}

/**
 * A bearer token from its file: one word of printable ASCII. A file holding more (nkctl's enrolment instructions
 * saved with `>`, say) would otherwise go out as a header the coordinator refuses with nothing to say why. The message
 * says how many lines the file has, never what is in it.
 */
export async function readTokenFile(path: string, what: string, howToWrite: string): Promise<string> {
  const value = await readSecretFile(path, what);
  if (isTokenText(value)) return value;
  const lines = value.split("\n").length;
  throw new NkError("CONFIG_INVALID", `${what} file ${path} is not one word of printable ASCII (${lines} line${lines === 1 ? "" : "s"}, spaces or other characters): it must hold only the token; ${howToWrite}`);
}

/**
 * A secret setting's value is shown in an error only when it reads as a path (absolute or ./ ../ relative, no
 * whitespace): a token or password written where its file's path belongs must not be repeated, whatever its length or
 * characters (base64 holds '/', a PEM key spans lines).
 */
function looksLikePath(path: string): boolean {
  return /^(\/|\.\/|\.\.\/)/.test(path) && !/\s/.test(path) && path.length <= 4096;
}

/**
 * A warning when a secret's file lets every user of the machine read or write it (its group is left alone: a
 * service's group may be given a secret on purpose). Undefined when it does not, or cannot be looked at.
 */
export async function secretFileExposure(path: string, what: string): Promise<string | undefined> {
  const mode = (await stat(path).catch(() => null))?.mode;
  if (mode === undefined || (mode & 0o006) === 0) return undefined;
  const can = [mode & 0o004 ? "read" : "", mode & 0o002 ? "write" : ""].filter(Boolean).join(" and ");
  return `${what} file ${path} has mode ${(mode & 0o777).toString(8).padStart(4, "0")}: every user of this machine can ${can} it; run chmod o-rwx ${path} (0600 or 0400, owned by the service's user)`;
}

/** Reads a secret from its file (secrets are configured only as *File), trimming the trailing newline. */
export async function readSecretFile(path: string, what: string): Promise<string> {
  try {
    const value = (await readFile(path, "utf8")).trim();
    if (!value) throw new NkError("CONFIG_INVALID", `${what} file ${path} is empty`);
    return value;
  } catch (err) {
    if (err instanceof NkError) throw err;
    if (!looksLikePath(path)) {
      // Neither the value nor the system's message (which repeats it) nor the cause goes into the error.
      const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
      throw new NkError("CONFIG_INVALID", `the ${what} file setting is not a path nk can read (${code}; the value is not shown, in case it is the secret itself): give the absolute path of a file (mode 0600) that holds the secret`);
    }
    throw new NkError("CONFIG_INVALID", `cannot read ${what} file ${path}: ${fsReason(err)}`, { cause: err });
  }
}
