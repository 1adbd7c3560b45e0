// Reads cluster checks and node checks: command argv, HTTP probes and Prometheus alert gates.
import type { CheckSpec, CheckTarget, ClusterCheck, NodeCheck, PromqlOp } from "./model.js";
import type { Located, YamlReader } from "./yaml-reader.js";

const DEFAULT_TIMEOUT_SECONDS = 30;
const CHECK_NAME = /^[a-z0-9]([a-z0-9_-]{0,62})$/;

/** A command is an argv list, or a string split on whitespace; it never goes through a shell. */
export function readCommand(r: YamlReader, loc: Located | undefined): string[] | undefined {
  if (!loc || loc.node === null) return undefined;
  const words = typeof (loc.node as { value?: unknown }).value === "string" ? r.string(loc)?.trim().split(/\s+/) : r.stringList(loc);
  if (words && (words.length === 0 || words[0] === "")) {
    r.report(loc.pos, loc.path, "must name a command");
    return undefined;
  }
  return words;
}

function readName(r: YamlReader, fields: Map<string, Located>, parent: Located): string | undefined {
  const name = r.require(r.string(fields.get("name")), parent, "name", "a short check name");
  if (name !== undefined && !CHECK_NAME.test(name)) {
    r.report(fields.get("name")!.pos, `${parent.path}.name`, `"${name}" is not a valid check name (lower-case letters, digits, '-' and '_')`);
    return undefined;
  }
  return name;
}

function readTimeout(r: YamlReader, fields: Map<string, Located>): number {
  return r.integer(fields.get("timeout_seconds"), 1, 3600) ?? DEFAULT_TIMEOUT_SECONDS;
}

export function readNodeChecks(r: YamlReader, loc: Located | undefined): NodeCheck[] {
  const items = loc ? r.seq(loc) : null;
  const out: NodeCheck[] = [];
  for (const item of items ?? []) {
    const f = r.map(item, ["name", "command", "expect", "timeout_seconds"]);
    if (!f) continue;
    const name = readName(r, f, item);
    const command = r.require(readCommand(r, f.get("command")), item, "command", "argv list or command string");
    const expect = r.string(f.get("expect"), { coerce: true }) ?? "";
    if (name === undefined || command === undefined) continue;
    const check: NodeCheck = { name, command, expect, timeoutSeconds: readTimeout(r, f) };
    r.origins.set(check, item.path);
    out.push(check);
  }
  return out;
}

function readTarget(r: YamlReader, loc: Located | undefined): CheckTarget {
  const v = r.string(loc);
  if (v === undefined) return "any-server";
  if (v === "any-server" || v === "all-servers" || v === "all") return v;
  return { node: v };
}

function readSpec(r: YamlReader, f: Map<string, Located>, item: Located): CheckSpec | undefined {
  const kinds = ["command", "http", "prometheus", "promql"].filter((k) => f.has(k));
  if (kinds.length !== 1) {
    const detail = kinds.length === 0 ? "none is set" : `${kinds.join(" and ")} are set`;
    r.report(item.pos, item.path, `a check needs exactly one of command, http, prometheus, promql (${detail})`);
    return undefined;
  }
  if (f.has("command")) {
    const command = readCommand(r, f.get("command"));
    const expect = r.string(f.get("expect"), { coerce: true }) ?? "";
    return command ? { kind: "command", command, expect } : undefined;
  }
  if (f.has("http")) {
    const loc = f.get("http")!;
    const h = r.map(loc, ["url", "expect_status", "expect_body"]);
    if (!h) return undefined;
    const url = r.require(readUrl(r, h.get("url")), loc, "url", "http(s) URL");
    const expectStatus = r.integer(h.get("expect_status"), 100, 599) ?? 200;
    const expectBody = r.string(h.get("expect_body"));
    if (url === undefined) return undefined;
    return expectBody === undefined ? { kind: "http", url, expectStatus } : { kind: "http", url, expectStatus, expectBody };
  }
  if (f.has("promql")) return readPromql(r, f.get("promql")!);
  const loc = f.get("prometheus")!;
  const p = r.map(loc, ["url", "include", "exclude", "alertmanager", "silenced_block"]);
  if (!p) return undefined;
  const url = r.require(readUrl(r, p.get("url")), loc, "url", "Prometheus base URL");
  const alertmanager = readUrl(r, p.get("alertmanager"));
  const silencedBlocks = r.boolean(p.get("silenced_block")) ?? false;
  if (url === undefined) return undefined;
  return { kind: "prometheus", url, include: r.stringList(p.get("include")) ?? [], exclude: r.stringList(p.get("exclude")) ?? [], ...(alertmanager ? { alertmanager } : {}), silencedBlocks };
}

const COMPARISON = /^\s*(==|!=|<=|>=|<|>)\s*(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)\s*$/;

/** `promql: { url, query, expect: "< 0.8", on_empty: fail }`. */
function readPromql(r: YamlReader, loc: Located): CheckSpec | undefined {
  const p = r.map(loc, ["url", "query", "expect", "on_empty"]);
  if (!p) return undefined;
  const url = r.require(readUrl(r, p.get("url")), loc, "url", "Prometheus base URL");
  const query = r.require(r.string(p.get("query")), loc, "query", "a PromQL expression");
  const expect = r.require(r.string(p.get("expect"), { coerce: true }), loc, "expect", 'a comparison every sample must pass, e.g. "== 0" or "< 0.8"');
  const onEmpty = r.oneOf(p.get("on_empty"), ["pass", "fail"] as const) ?? "fail";
  if (query !== undefined && query.trim() === "") r.report(p.get("query")!.pos, `${loc.path}.query`, "must not be empty");
  const m = expect === undefined ? null : COMPARISON.exec(expect);
  if (expect !== undefined && !m) r.report(p.get("expect")!.pos, `${loc.path}.expect`, `expected a comparison such as "== 0", "< 0.8" or ">= 3" (==, !=, <, <=, >, >= and a number), got "${expect}"`);
  if (url === undefined || query === undefined || !m || query.trim() === "") return undefined;
  return { kind: "promql", url, query, op: m[1] as PromqlOp, value: Number(m[2]), onEmpty };
}

function readUrl(r: YamlReader, loc: Located | undefined): string | undefined {
  const v = r.string(loc);
  if (v === undefined || !loc) return undefined;
  if (!/^https?:\/\/[^\s]+$/.test(v)) {
    r.report(loc.pos, loc.path, `expected an http:// or https:// URL, got "${v}"`);
    return undefined;
  }
  return v;
}

export function readClusterChecks(r: YamlReader, loc: Located | undefined): ClusterCheck[] {
  const items = loc ? r.seq(loc) : null;
  const out: ClusterCheck[] = [];
  for (const item of items ?? []) {
    const f = r.map(item, ["name", "command", "expect", "on", "timeout_seconds", "http", "prometheus", "promql"]);
    if (!f) continue;
    const name = readName(r, f, item);
    const spec = readSpec(r, f, item);
    if (spec && spec.kind !== "command") {
      for (const key of ["expect", "on"]) {
        const extra = f.get(key);
        if (extra) r.report(extra.pos, extra.path, `only applies to command checks`);
      }
    }
    const on = readTarget(r, f.get("on"));
    if (name === undefined || spec === undefined) continue;
    const check: ClusterCheck = { name, spec, on, timeoutSeconds: readTimeout(r, f) };
    r.origins.set(check, item.path);
    out.push(check);
  }
  return out;
}
