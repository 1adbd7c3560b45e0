// Reads the rollout policy keys: maintenance windows (days and hours or cron, time zone, excluded dates), pools and per-label limits.
import { isMap } from "yaml";
import type { BlockingPods, CanarySettings, MaintenanceWindow, PerLabelLimit, RolloutPool, UnavailableLimit, Weekday } from "./model.js";
import { readCronWindow } from "./parse-cron-window.js";
import type { Located, YamlReader } from "./yaml-reader.js";

const WEEKDAYS: readonly Weekday[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const POOL_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Whether the runtime knows `tz` as an IANA time zone. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function isDate(v: string): boolean {
  const m = v.match(/^(\d{4})-(\d{2})-(\d{2})$/);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

function readWindow(r: YamlReader, loc: Located): MaintenanceWindow | null {
  const f = r.map(loc, ["days", "start", "end", "timezone", "exclude", "cron", "duration"]);
  if (!f) return null;
  const timezone = r.string(f.get("timezone"));
  if (timezone !== undefined && !isTimeZone(timezone)) {
    r.report(f.get("timezone")!.pos, `${loc.path}.timezone`, `"${timezone}" is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)`);
  }
  const zone = timezone !== undefined && isTimeZone(timezone) && timezone !== "UTC" ? timezone : undefined;
  const exclude = (r.stringList(f.get("exclude")) ?? []).filter((d, i) => {
    if (isDate(d)) return true;
    r.report(f.get("exclude")!.pos, `${loc.path}.exclude[${i}]`, `expected a date YYYY-MM-DD (local to the window's time zone), got "${d}"`);
    return false;
  });
  const common = { ...(zone ? { timezone: zone } : {}), ...(exclude.length > 0 ? { exclude } : {}) };
  if (f.has("cron")) return readCronWindow(r, loc, f, common);
  if (f.has("duration")) r.report(f.get("duration")!.pos, `${loc.path}.duration`, "duration goes with cron; a window with days, start and end ends at its end");
  const days = (r.stringList(f.get("days")) ?? WEEKDAYS.slice()).filter((d, i) => {
    if ((WEEKDAYS as readonly string[]).includes(d)) return true;
    r.report(f.get("days")!.pos, `${loc.path}.days[${i}]`, `expected one of ${WEEKDAYS.join(", ")}, got "${d}"`);
    return false;
  }) as Weekday[];
  const minute = (key: "start" | "end"): number => {
    const v = r.require(r.string(f.get(key)), loc, key, `HH:MM in ${zone ?? "UTC"}`);
    const m = v?.match(/^([01][0-9]|2[0-3]):([0-5][0-9])$/);
    if (v !== undefined && !m) r.report(f.get(key)!.pos, `${loc.path}.${key}`, `expected HH:MM (${zone ?? "UTC"}), got "${v}"`);
    return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
  };
  const startMinute = minute("start");
  const endMinute = minute("end");
  if (startMinute === endMinute && f.has("start") && f.has("end")) r.report(f.get("end")!.pos, `${loc.path}.end`, "must differ from start");
  return { days, startMinute, endMinute, ...common };
}

/** `window:` (one) or `windows:` (a list); not both. */
export function readWindows(r: YamlReader, one: Located | undefined, many: Located | undefined): MaintenanceWindow[] {
  if (one?.node && many?.node) {
    r.report(many.pos, many.path, "give either window (one) or windows (a list), not both: move the window into the list");
    return [];
  }
  if (one?.node) {
    const w = readWindow(r, one);
    return w ? [w] : [];
  }
  if (!many?.node) return [];
  return (r.seq(many) ?? []).flatMap((item) => (item.node ? [readWindow(r, item)] : [])).filter((w): w is MaintenanceWindow => w !== null);
}

/** `3` or `"25%"`. */
function readLimit(r: YamlReader, loc: Located | undefined, parent: Located): UnavailableLimit | undefined {
  if (!loc?.node) {
    r.require(undefined, parent, "max_unavailable", 'a node count such as 1, or a percentage of the pool such as "25%"');
    return undefined;
  }
  const raw = r.string(loc, { coerce: true });
  if (raw === undefined) return undefined;
  const pct = raw.match(/^(\d{1,3})%$/);
  if (pct) {
    const percent = Number(pct[1]);
    if (percent >= 1 && percent <= 100) return { percent };
    r.report(loc.pos, loc.path, `a percentage must be between 1% and 100%, got "${raw}"`);
    return undefined;
  }
  if (/^\d+$/.test(raw) && Number(raw) >= 1 && Number(raw) <= 100_000) return { count: Number(raw) };
  r.report(loc.pos, loc.path, `expected a node count (1 or more) or a percentage such as "25%", got "${raw}"`);
  return undefined;
}

function readSelector(r: YamlReader, loc: Located | undefined, parent: Located): Record<string, string> | undefined {
  if (!loc?.node) {
    r.require(undefined, parent, "selector", "labels the pool's nodes carry, e.g. { zone: a }");
    return undefined;
  }
  const f = r.map(loc, "any");
  if (!f) return undefined;
  const out: Record<string, string> = {};
  for (const [key, value] of f) {
    if (!LABEL_KEY.test(key)) r.report(value.pos, value.path, `"${key}" is not a Kubernetes label key`);
    const v = r.string(value, { coerce: true });
    if (v !== undefined) out[key] = v;
  }
  if (f.size === 0) r.report(loc.pos, loc.path, "needs at least one label (an empty selector would match every node: use max_unavailable instead)");
  return out;
}

export function readPools(r: YamlReader, loc: Located | undefined): RolloutPool[] {
  if (!loc?.node) return [];
  const pools: RolloutPool[] = [];
  const names = new Map<string, number>();
  for (const item of r.seq(loc) ?? []) {
    const f = item.node ? r.map(item, ["name", "selector", "max_unavailable"]) : null;
    if (!f) continue;
    const name = r.require(r.string(f.get("name")), item, "name", "a pool name such as gpu or zone-a");
    if (name !== undefined && !POOL_NAME.test(name)) r.report(f.get("name")!.pos, `${item.path}.name`, `"${name}" is not a DNS label (lower-case letters, digits, '-')`);
    if (name !== undefined && names.has(name)) r.report(f.get("name")!.pos, `${item.path}.name`, `duplicate pool name "${name}" (first at line ${names.get(name)})`);
    if (name !== undefined && !names.has(name)) names.set(name, f.get("name")!.pos.line);
    const selector = readSelector(r, f.get("selector"), item);
    const maxUnavailable = readLimit(r, f.get("max_unavailable"), item);
    if (name === undefined || !selector || !maxUnavailable) continue;
    const pool: RolloutPool = { name, selector, maxUnavailable };
    r.origins.set(pool, item.path);
    pools.push(pool);
  }
  return pools;
}

/** `max_unavailable_per: zone` (one per value) or `{ label: zone, max: 2 }`. */
export function readPerLabel(r: YamlReader, loc: Located | undefined): PerLabelLimit | null {
  if (!loc?.node) return null;
  if (isMap(loc.node)) {
    const f = r.map(loc, ["label", "max"]);
    if (!f) return null;
    const label = r.require(r.string(f.get("label")), loc, "label", "a node label key such as zone");
    if (label !== undefined && !LABEL_KEY.test(label)) r.report(f.get("label")!.pos, `${loc.path}.label`, `"${label}" is not a Kubernetes label key`);
    const max = r.integer(f.get("max"), 1, 100_000) ?? 1;
    return label !== undefined && LABEL_KEY.test(label) ? { label, max } : null;
  }
  const label = r.string(loc);
  if (label === undefined) return null;
  if (!LABEL_KEY.test(label)) {
    r.report(loc.pos, loc.path, `"${label}" is not a Kubernetes label key (e.g. zone, topology.kubernetes.io/zone)`);
    return null;
  }
  return { label, max: 1 };
}

/** `canary: { nodes: [..] | count: N, then: pause | continue, soak_seconds }`. */
export function readCanary(r: YamlReader, loc: Located | undefined): CanarySettings | null {
  if (!loc?.node) return null;
  const f = r.map(loc, ["nodes", "count", "then", "soak_seconds"]);
  if (!f) return null;
  const nodes = r.stringList(f.get("nodes"));
  const count = r.integer(f.get("count"), 1, 100_000);
  const then = r.oneOf(f.get("then"), ["pause", "continue"] as const) ?? "pause";
  const soakSeconds = r.integer(f.get("soak_seconds"), 0, 7 * 86_400) ?? 0;
  if (f.has("nodes") === f.has("count")) {
    r.report(loc.pos, loc.path, "needs exactly one of nodes (a list of node names) or count (how many of the first nodes to ask for a lease)");
    return null;
  }
  if (nodes && nodes.length === 0) {
    r.report(f.get("nodes")!.pos, `${loc.path}.nodes`, "needs at least one node name");
    return null;
  }
  const canary: CanarySettings = { nodes: nodes ?? [], count: count ?? 0, then, soakSeconds };
  if (!nodes && count === undefined) return null;
  return canary;
}

const SELECTOR_TERM = [/^[^\s!=(),]+\s+(in|notin)\s+\([^()]*\)$/, /^[^\s!=(),]+\s*(==|=|!=)\s*[^\s(),]*$/, /^!\s*[^\s!=(),]+$/, /^[^\s!=(),]+$/];

/** Splits a label selector on the commas outside parentheses. */
function selectorTerms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of selector) {
    depth += ch === "(" ? 1 : ch === ")" ? -1 : 0;
    if (ch === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

/** `blocking_pods: { selector: "app=backup", scope: node | cluster }`. */
export function readBlockingPods(r: YamlReader, loc: Located | undefined): BlockingPods | null {
  if (!loc?.node) return null;
  const f = r.map(loc, ["selector", "scope"]);
  if (!f) return null;
  const selector = r.require(r.string(f.get("selector")), loc, "selector", 'a label selector such as "app=backup"');
  const scope = r.oneOf(f.get("scope"), ["node", "cluster"] as const) ?? "node";
  if (selector === undefined) return null;
  const bad = selectorTerms(selector).find((t) => !SELECTOR_TERM.some((re) => re.test(t)));
  if (bad !== undefined) {
    r.report(f.get("selector")!.pos, `${loc.path}.selector`, `"${bad}" is not a label selector requirement (k=v, k!=v, k in (a,b), k notin (a,b), k, !k; joined by commas)`);
    return null;
  }
  return { selector, scope };
}
