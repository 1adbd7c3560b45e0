// A failed config check as one error. Each problem names where its value came from: the command-line flag that gave
// it, or the file's setting; a rule across settings names each setting it read, with the file's line, since its
// dot-path alone does not say which value to change. The first line says whether the file, the command line or both
// must change.
import { NkError } from "../errors/index.js";
import type { ConfigIssue } from "./config-issue.js";
import { valueAt } from "./value-at.js";

export interface IssueSources {
  /** The config file's path, or what the settings are called without one. */
  readonly source: string;
  /** The flags given on the command line, by the dot-path each set (`grpc.listen` → `--grpc-listen`). */
  readonly flags: ReadonlyMap<string, string>;
  /** The settings checked: one not set by a flag but present here came from the file. */
  readonly settings: unknown;
  /** A setting's line in the file, when its text is at hand. */
  readonly lineOf?: (path: readonly string[]) => number | undefined;
}

type Origin = "file" | "flag";
interface Named {
  readonly label: string;
  readonly origins: readonly Origin[];
}

/** `grpc.listen: expected string, got number` lines, one per problem. */
export function formatIssues(issues: readonly ConfigIssue[]): string[] {
  return issues.map((i) => `${dotPath(i.path)}: ${i.message}`);
}

function dotPath(path: readonly PropertyKey[]): string {
  return path.length > 0 ? path.map(String).join(".") : "(top level)";
}

export function configError(issues: readonly ConfigIssue[], sources: IssueSources): NkError {
  const flagOf = flagFinder(sources.flags);
  const named = issues.map((issue) => ({ issue, ...(issue.params?.involves ? nameRule(issue, issue.params.involves, sources, flagOf) : nameSetting(issue, flagOf)) }));
  const origins = new Set(named.flatMap((n) => n.origins));
  const where = !origins.has("flag") ? `${sources.source} is` : !origins.has("file") ? "the command line is" : `${sources.source} and the command line are`;
  return new NkError("CONFIG_INVALID", `${where} invalid:\n  ${named.map((n) => `${n.label}: ${n.issue.message}`).join("\n  ")}`);
}

/** The flag that set a path, or set a mapping above it. By path elements: a key written with a dot in it is the file's. */
function flagFinder(flags: ReadonlyMap<string, string>): (path: readonly string[]) => string | undefined {
  const flagPaths = [...flags].map(([dotted, flag]) => ({ path: dotted.split("."), flag }));
  return (path) => {
    const found = flagPaths.filter((f) => f.path.length <= path.length && f.path.every((key, i) => key === path[i]));
    return found.sort((a, b) => b.path.length - a.path.length)[0]?.flag;
  };
}

function nameSetting(issue: ConfigIssue, flagOf: (path: readonly string[]) => string | undefined): Named {
  const flag = flagOf(issue.path.map(String));
  return flag === undefined ? { label: dotPath(issue.path), origins: ["file"] } : { label: flag, origins: ["flag"] };
}

/** Each setting the rule read that was given, by its flag or its place in the file; defaults are not named. */
function nameRule(issue: ConfigIssue, involves: readonly string[], sources: IssueSources, flagOf: (path: readonly string[]) => string | undefined): Named {
  const given = involves.flatMap((dotted): Array<{ label: string; origin: Origin }> => {
    const path = dotted.split(".");
    const flag = flagOf(path);
    if (flag !== undefined) return [{ label: flag, origin: "flag" }];
    if (valueAt(sources.settings, path) === undefined) return [];
    const line = sources.lineOf?.(path);
    return [{ label: line === undefined ? dotted : `${dotted} (${sources.source}:${line})`, origin: "file" }];
  });
  // Nothing given (a required pair left out): the file is where to add it.
  if (given.length === 0) return { label: dotPath(issue.path), origins: ["file"] };
  return { label: [...new Set(given.map((g) => g.label))].join(" and "), origins: given.map((g) => g.origin) };
}
