// Reads the plans format's network.yaml: gateway, prefix_length or netmask, nameservers.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from "yaml";
import { parseIpv4 } from "../inventory/index.js";
import type { ImportProblems } from "./import-problems.js";

export const NETWORK_FILE = "network.yaml";
const KEYS = ["gateway", "prefix_length", "netmask", "nameservers"];
/** What the plans tool used when network.yaml named no nameservers (its DNS workaround). */
const PLANS_NAMESERVERS = ["8.8.8.8"];

export interface PlansNetwork {
  readonly gateway: string;
  readonly prefixLength: number;
  readonly nameservers: readonly string[];
}

/** The prefix length of a contiguous dotted netmask (255.255.255.0 → 24), else null. */
export function netmaskToPrefix(mask: string): number | null {
  const value = parseIpv4(mask);
  if (value === null) return null;
  for (let p = 1; p <= 32; p++) {
    if (value === 2 ** 32 - 2 ** (32 - p)) return p;
  }
  return null;
}

function isIpAddress(text: string): boolean {
  return parseIpv4(text) !== null || (/^[0-9a-f:.]+$/.test(text) && text.includes(":"));
}

/** Values are trimmed and lower-cased like the rest of the plans format; undefined when invalid. */
export function readNetworkYaml(text: string, problems: ImportProblems, notes: string[]): PlansNetwork | undefined {
  const file = NETWORK_FILE;
  const before = problems.count;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  for (const err of doc.errors) {
    const message = err.code === "DUPLICATE_KEY" ? "duplicate key (each key may appear once)" : err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    problems.add(file, lines.linePos(err.pos[0]).line, "", `YAML: ${message}`);
  }
  if (doc.errors.length > 0) return undefined;
  const lineOf = (node: Node | null | undefined, fallback = 1): number => (node?.range ? lines.linePos(node.range[0]).line : fallback);
  if (!isMap(doc.contents)) {
    problems.add(file, lineOf(doc.contents as Node | null), "", "expected a mapping with gateway and prefix_length (or netmask)");
    return undefined;
  }
  const fields = new Map<string, { line: number; value: Node | null }>();
  for (const pair of (doc.contents as YAMLMap<Node, Node | null>).items as Pair<Node, Node | null>[]) {
    const key = isScalar(pair.key) ? String(pair.key.value).trim().toLowerCase() : "";
    const line = lineOf(pair.key);
    if (KEYS.includes(key)) fields.set(key, { line, value: pair.value });
    else notes.push(`${file}:${line} ${key}: not used by nk, dropped`);
  }
  /** The value as text; undefined when absent or empty, null when not a scalar (reported). */
  const scalar = (key: string): string | null | undefined => {
    const f = fields.get(key);
    if (!f || f.value === null || (isScalar(f.value) && f.value.value === null)) return undefined;
    if (isScalar(f.value) && (typeof f.value.value === "string" || typeof f.value.value === "number")) {
      const v = String(f.value.value).trim().toLowerCase();
      return v === "" ? undefined : v;
    }
    problems.add(file, lineOf(f.value, f.line), key, "expected a single value");
    return null;
  };

  const gateway = scalar("gateway");
  if (gateway === undefined) problems.add(file, fields.get("gateway")?.line ?? 1, "gateway", "is required (the hosts' IPv4 gateway)");
  else if (gateway !== null && parseIpv4(gateway) === null) problems.add(file, fields.get("gateway")!.line, "gateway", `"${gateway}" is not an IPv4 address`);

  const prefixText = scalar("prefix_length");
  const netmask = scalar("netmask");
  let prefixLength: number | undefined;
  if (typeof prefixText === "string") {
    const p = /^\/?[0-9]{1,2}$/.test(prefixText) ? Number(prefixText.replace("/", "")) : NaN;
    if (p >= 1 && p <= 32) prefixLength = p;
    else problems.add(file, fields.get("prefix_length")!.line, "prefix_length", `"${prefixText}" is not a prefix length (1..32)`);
  }
  if (typeof netmask === "string") {
    const p = netmaskToPrefix(netmask);
    const line = fields.get("netmask")!.line;
    if (p === null) problems.add(file, line, "netmask", `"${netmask}" is not a netmask (e.g. 255.255.255.0)`);
    else if (prefixLength !== undefined && p !== prefixLength) problems.add(file, line, "netmask", `${netmask} is /${p} but prefix_length is ${prefixLength}`);
    else if (prefixLength === undefined) {
      prefixLength = p;
      notes.push(`${file}:${line} netmask ${netmask} → prefix_length ${p}`);
    }
  }
  if (prefixText === undefined && netmask === undefined) problems.add(file, 1, "prefix_length", "is required (or netmask)");

  let nameservers: string[] = [];
  const ns = fields.get("nameservers");
  if (ns && ns.value !== null && !(isScalar(ns.value) && ns.value.value === null)) {
    const items = isSeq(ns.value) ? (ns.value.items as (Node | null)[]) : [ns.value];
    items.forEach((item, i) => {
      const v = isScalar(item) && item.value !== null ? String(item.value).trim().toLowerCase() : "";
      if (isIpAddress(v)) nameservers.push(v);
      else problems.add(file, lineOf(item, ns.line), `nameservers[${i}]`, v === "" ? "expected an IP address" : `"${v}" is not an IP address`);
    });
  }
  if (nameservers.length === 0 && problems.count === before) {
    nameservers = PLANS_NAMESERVERS;
    notes.push(`${file} names no nameservers: using ${PLANS_NAMESERVERS.join(", ")}, as the plans tool did`);
  }
  if (problems.count > before || typeof gateway !== "string" || prefixLength === undefined) return undefined;
  return { gateway, prefixLength, nameservers };
}
