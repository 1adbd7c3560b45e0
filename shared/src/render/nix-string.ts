// Nix syntax builders: every value the renderer interpolates goes through one of these.
import { NkError } from "../errors/index.js";

const STRING_ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\\\",
  '"': '\\"',
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "${": "\\${",
};

/** A double-quoted Nix string literal that evaluates to exactly `s` (no interpolation can sneak in). */
export function nixString(s: string): string {
  // Nix strings are C strings underneath: a NUL byte cannot be represented at all.
  if (s.includes("\0")) throw new NkError("INVENTORY_INVALID", "a value contains a NUL byte, which Nix cannot represent");
  return `"${s.replace(/[\\"\n\r\t]|\$\{/g, (m) => STRING_ESCAPES[m] ?? m)}"`;
}

const KEYWORDS = new Set(["if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or"]);
const BARE_ATTR = /^[A-Za-z_][A-Za-z0-9_'-]*$/;

/** An attribute name: bare when it is a plain identifier, quoted otherwise (dots, keywords, anything odd). */
export function nixAttr(name: string): string {
  return BARE_ATTR.test(name) && !KEYWORDS.has(name) ? name : nixString(name);
}

/** A list of string literals on one line: `[ "a" "b" ]`. */
export function nixStringList(items: readonly string[]): string {
  return items.length === 0 ? "[ ]" : `[ ${items.map(nixString).join(" ")} ]`;
}

/** A list of already-rendered Nix expressions, one per line, closing bracket at `indent`. */
export function nixBlockList(exprs: readonly string[], indent: string): string {
  if (exprs.length === 0) return "[ ]";
  return `[\n${exprs.map((e) => `${indent}  ${e}`).join("\n")}\n${indent}]`;
}

/** An integer literal; anything else is a bug upstream (the parser only produces integers here). */
export function nixInt(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new NkError("INVENTORY_INVALID", `expected a non-negative integer, got ${n}`);
  return String(n);
}

const PATH_SEGMENT = /^[A-Za-z0-9._+-]+$/;

/**
 * A path to `fileName` inside `dir`, where `dir` is a fixed relative path literal such as
 * "./extra/common". Names a path literal can spell stay literal; others are appended as a string,
 * which Nix resolves to the same path without any chance of breaking the syntax.
 */
export function nixPathIn(dir: string, fileName: string): string {
  if (PATH_SEGMENT.test(fileName) && fileName !== "." && fileName !== "..") return `${dir}/${fileName}`;
  return `(${dir} + ${nixString(`/${fileName}`)})`;
}
