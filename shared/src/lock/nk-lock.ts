// nk.lock: the operator's lock of every flake reference the inventory uses, read with positions and written canonically.
import { isScalar, LineCounter, parseDocument } from "yaml";
import type { Diagnostic } from "../inventory/model.js";
import { YamlReader, type Located, type SourcePos } from "../inventory/yaml-reader.js";
import { canonicalJson } from "../render/checks-json.js";
import { originalAttrs, unlockedReason, type FlakeAttrs } from "./flake-ref.js";

export const LOCK_FILE = "nk.lock";
export const LOCK_VERSION = 1;

/** One flake reference as Nix locked it: the attributes it parsed the URL into and the ones it pinned. */
export interface LockedInput {
  readonly original: FlakeAttrs;
  readonly locked: FlakeAttrs;
}

export interface NkLock {
  /** The nk source the bundles import when the inventory sets no cluster.agent.flake (the coordinator's, as pinned). */
  readonly nkSource?: string;
  /** By flake reference, exactly as the bundles' flake.nix spells it. */
  readonly locks: ReadonlyMap<string, LockedInput>;
}

export interface ParsedNkLock {
  /** Null when the file has errors. */
  readonly lock: NkLock | null;
  readonly diagnostics: readonly Diagnostic[];
  /** Where each reference's entry starts, for messages that point into nk.lock. */
  readonly positions: ReadonlyMap<string, SourcePos>;
}

/** The exact text `nkctl pin` writes: sorted keys, two-space indent, like Nix's own flake.lock. */
export function renderNkLock(lock: NkLock): string {
  const locks = Object.fromEntries([...lock.locks].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([url, l]) => [url, { locked: l.locked, original: l.original }]));
  return canonicalJson({ locks, ...(lock.nkSource !== undefined ? { nk_source: lock.nkSource } : {}), version: LOCK_VERSION });
}

function readAttrs(r: YamlReader, loc: Located | undefined, parent: Located, key: string): FlakeAttrs | undefined {
  const f = loc ? r.map(loc, "any") : undefined;
  if (!loc) r.report(parent.pos, `${parent.path}.${key}`, "is required (the attributes nix flake metadata prints)");
  if (!f) return undefined;
  const out: Record<string, string | number | boolean> = {};
  for (const [name, value] of f) {
    const v = value.node && isScalar(value.node) ? value.node.value : undefined;
    if (typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isSafeInteger(v))) out[name] = v;
    else r.report(value.pos, value.path, "expected a string, an integer or a boolean");
  }
  return out;
}

function sameAttrs(a: FlakeAttrs, b: FlakeAttrs): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function readEntry(r: YamlReader, url: string, loc: Located): LockedInput | undefined {
  const f = r.map(loc, ["locked", "original"]);
  if (!f) return undefined;
  const locked = readAttrs(r, f.get("locked"), loc, "locked");
  const original = readAttrs(r, f.get("original"), loc, "original");
  if (!locked || !original) return undefined;
  const lockedLoc = f.get("locked")!;
  const originalLoc = f.get("original")!;
  const before = r.diagnostics.length;
  const unlocked = unlockedReason(locked);
  if (unlocked) r.report(lockedLoc.pos, lockedLoc.path, `${unlocked}: run nkctl pin --update`);
  const expected = originalAttrs(url);
  if (expected && !sameAttrs(expected, original)) {
    r.report(originalLoc.pos, originalLoc.path, `is not what Nix makes of "${url}" (${JSON.stringify(expected)}), so a build would resolve it again: run nkctl pin --update`);
  } else if (locked.type !== original.type) {
    r.report(lockedLoc.pos, `${lockedLoc.path}.type`, `"${String(locked.type)}" differs from the original's "${String(original.type)}": run nkctl pin --update`);
  }
  return r.diagnostics.length === before ? { locked, original } : undefined;
}

/** Reads nk.lock text (JSON); every problem is a diagnostic at its line in nk.lock. */
export function parseNkLock(text: string): ParsedNkLock {
  const lines = new LineCounter();
  const r = new YamlReader(LOCK_FILE, lines);
  const positions = new Map<string, SourcePos>();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  // The first parse error only: the ones after it follow from it.
  const err = doc.errors[0];
  if (err) r.report(lines.linePos(err.pos[0]), "", `not valid JSON: ${err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")} (nkctl pin writes this file)`);
  if (doc.errors.length > 0) return { lock: null, diagnostics: r.diagnostics, positions };
  const root: Located = { node: doc.contents, path: "", pos: { line: 1, col: 1 } };
  if (root.node === null) r.report(root.pos, "", "is empty: run nkctl pin");
  const top = r.map(root, ["locks", "nk_source", "version"]);
  if (!top) return { lock: null, diagnostics: r.diagnostics, positions };
  const version = r.integer(top.get("version"), 0, Number.MAX_SAFE_INTEGER);
  if (version !== undefined && version !== LOCK_VERSION) r.report(top.get("version")!.pos, "version", `is ${version}; this nk reads version ${LOCK_VERSION}: run nkctl pin`);
  else r.require(version, root, "version", `${LOCK_VERSION}`);
  const nkSource = r.string(top.get("nk_source"));
  const locks = new Map<string, LockedInput>();
  const entries = top.get("locks") ? r.map(top.get("locks")!, "any") : null;
  for (const [url, loc] of entries ?? []) {
    const at: Located = { ...loc, path: `locks.${JSON.stringify(url)}` };
    positions.set(url, loc.pos);
    const entry = readEntry(r, url, at);
    if (entry) locks.set(url, entry);
  }
  const ok = !r.diagnostics.some((d) => d.severity === "error");
  return { lock: ok ? { ...(nkSource !== undefined ? { nkSource } : {}), locks } : null, diagnostics: r.diagnostics, positions };
}
