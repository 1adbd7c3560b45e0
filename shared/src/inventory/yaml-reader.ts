// Typed reading of a YAML AST that records a positioned Diagnostic for every shape or type problem.
import { isMap, isScalar, isSeq, LineCounter, type Node, type Pair, type YAMLMap } from "yaml";
import type { Diagnostic, Severity } from "./model.js";

export interface SourcePos {
  readonly line: number;
  readonly col: number;
}

/** A node read from the document together with its dot-path and where it sits. */
export interface Located {
  readonly node: Node | null;
  readonly path: string;
  readonly pos: SourcePos;
}

export class YamlReader {
  readonly diagnostics: Diagnostic[] = [];
  /** Position of every value read, by dot-path, for rules that look across fields later. */
  readonly positions = new Map<string, SourcePos>();
  /** The dot-path each read list item came from, for rules that run after invalid items were dropped. */
  readonly origins = new WeakMap<object, string>();

  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  posOf(node: Node | null | undefined, fallback: SourcePos = { line: 1, col: 1 }): SourcePos {
    const offset = node?.range?.[0];
    if (offset === undefined) return fallback;
    return this.lines.linePos(offset);
  }

  report(at: SourcePos, field: string, message: string, severity: Severity = "error"): void {
    this.diagnostics.push({ file: this.file, line: at.line, col: at.col, field, message, severity });
  }

  /** Reads a mapping, reporting keys outside `allowed`; returns the pairs by key. */
  map(loc: Located, allowed: readonly string[] | "any"): Map<string, Located> | null {
    if (loc.node === null) return null;
    if (!isMap(loc.node)) {
      this.report(loc.pos, loc.path, `expected a mapping, got ${describe(loc.node)}`);
      return null;
    }
    const out = new Map<string, Located>();
    // Keys outside `allowed` are remembered too, so a repeated unknown key is reported once as unknown.
    const seen = new Map<string, Located>();
    for (const pair of (loc.node as YAMLMap<unknown, unknown>).items as Pair<Node, Node | null>[]) {
      const keyPos = this.posOf(pair.key, loc.pos);
      const key = isScalar(pair.key) ? String(pair.key.value) : null;
      if (key === null) {
        this.report(keyPos, loc.path, "keys must be plain strings");
        continue;
      }
      const path = loc.path === "" ? key : `${loc.path}.${key}`;
      const first = out.get(key) ?? (seen.has(key) ? seen.get(key) : undefined);
      if (first) {
        this.report(keyPos, path, `duplicate key "${key}" (first at line ${first.pos.line}); each name may appear once`);
        continue;
      }
      if (allowed !== "any" && !allowed.includes(key)) {
        seen.set(key, { node: null, path, pos: keyPos });
        this.report(keyPos, path, `unknown key "${key}" (expected one of: ${allowed.join(", ")})`);
        continue;
      }
      const value = pair.value ?? null;
      const pos = value ? this.posOf(value, keyPos) : keyPos;
      this.positions.set(path, pos);
      out.set(key, { node: isNull(value) ? null : value, path, pos });
    }
    return out;
  }

  seq(loc: Located): Located[] | null {
    if (loc.node === null) return null;
    if (!isSeq(loc.node)) {
      this.report(loc.pos, loc.path, `expected a list, got ${describe(loc.node)}`);
      return null;
    }
    return loc.node.items.map((item, i) => {
      const node = item as Node | null;
      const path = `${loc.path}[${i}]`;
      const pos = this.posOf(node, loc.pos);
      this.positions.set(path, pos);
      return { node: isNull(node) ? null : node, path, pos };
    });
  }

  /** A scalar string; numbers are accepted where a string is expected only if `coerce`. */
  string(loc: Located | undefined, opts: { coerce?: boolean } = {}): string | undefined {
    if (!loc || loc.node === null) return undefined;
    if (isScalar(loc.node)) {
      const v = loc.node.value;
      if (typeof v === "string") return v;
      if (opts.coerce && (typeof v === "number" || typeof v === "boolean")) return String(v);
    }
    this.report(loc.pos, loc.path, `expected a string, got ${describe(loc.node)}`);
    return undefined;
  }

  integer(loc: Located | undefined, min: number, max: number): number | undefined {
    if (!loc || loc.node === null) return undefined;
    const v = isScalar(loc.node) ? loc.node.value : undefined;
    if (typeof v !== "number" || !Number.isInteger(v)) {
      this.report(loc.pos, loc.path, `expected an integer, got ${describe(loc.node)}`);
      return undefined;
    }
    if (v < min || v > max) {
      this.report(loc.pos, loc.path, `must be between ${min} and ${max}, got ${v}`);
      return undefined;
    }
    return v;
  }

  boolean(loc: Located | undefined): boolean | undefined {
    if (!loc || loc.node === null) return undefined;
    const v = isScalar(loc.node) ? loc.node.value : undefined;
    if (typeof v !== "boolean") {
      this.report(loc.pos, loc.path, `expected true or false, got ${describe(loc.node)}`);
      return undefined;
    }
    return v;
  }

  oneOf<T extends string>(loc: Located | undefined, choices: readonly T[]): T | undefined {
    const v = this.string(loc);
    if (v === undefined || !loc) return undefined;
    if (!(choices as readonly string[]).includes(v)) {
      this.report(loc.pos, loc.path, `expected one of ${choices.join(", ")}, got "${v}"`);
      return undefined;
    }
    return v as T;
  }

  stringList(loc: Located | undefined): string[] | undefined {
    if (!loc || loc.node === null) return undefined;
    const items = this.seq(loc);
    if (!items) return undefined;
    const out: string[] = [];
    for (const item of items) {
      const s = this.string(item, { coerce: true });
      if (s !== undefined) out.push(s);
    }
    return out;
  }

  /** Reports a missing required field at its parent. */
  require<T>(value: T | undefined, parent: Located, key: string, what: string): T | undefined {
    if (value === undefined && !this.positions.has(join(parent.path, key))) {
      this.report(parent.pos, join(parent.path, key), `is required (${what})`);
    }
    return value;
  }
}

export function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function isNull(node: Node | null | undefined): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

function describe(node: Node): string {
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return "null";
    if (typeof v === "string") return `the string "${v}"`;
    return `${typeof v} ${String(v)}`;
  }
  return "an alias or unknown node";
}
