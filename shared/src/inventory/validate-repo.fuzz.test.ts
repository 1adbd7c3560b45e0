// Property tests of the inventory parser and validator: any text, or any mutation of a real inventory, gives diagnostics inside the file and never an exception.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fuzzParams, fuzzTimeout } from "../../../test/support/fuzz-runs.js";
import { validateInventoryText, validateRepo, type Diagnostic } from "./index.js";

const EXAMPLE = readFileSync(new URL("../../../examples/homelab/inventory.yaml", import.meta.url), "utf8");
const EXAMPLE_LINES = EXAMPLE.split("\n");

const lineCount = (text: string): number => text.split("\n").length;

function expectInside(diagnostics: readonly Diagnostic[], files: ReadonlyMap<string, string>): void {
  for (const d of diagnostics) {
    const text = files.get(d.file);
    expect(Number.isInteger(d.line) && d.line >= 1, `${d.file}:${d.line} ${d.message}`).toBe(true);
    expect(Number.isInteger(d.col) && d.col >= 1, `${d.file}:${d.line}:${d.col} ${d.message}`).toBe(true);
    if (text !== undefined) expect(d.line, `${d.file}:${d.line} ${d.message} (the file has ${lineCount(text)} lines)`).toBeLessThanOrEqual(lineCount(text));
  }
}

/** Scalars and fragments that look like inventory values, so mutations reach the rules and not only the YAML parser. */
const token = fc.oneof(
  fc.constantFrom("", "~", "null", "true", "no", "0", "-1", "1e9", "0x1f", "[]", "{}", "[a, b]", "{a: 1}", "&a x", "*a", "!!str 1", "'q'", '"\\u0000"', "|", ">-", "#c", "- x", "? k", ": v"),
  fc.constantFrom("172.30.190.3", "172.30.190.0/24", "10.0.0.1", "300.1.1.1", "::1", "n1", "N1", "server", "agent", "reboot", "systemd-boot", "/dev/sda", "eth0", "x86_64-linux", "nixos-24.11", "k3s-token"),
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -5, max: 100_000 }).map(String),
);

type Mutation = { kind: "replace-value" | "insert" | "delete" | "duplicate" | "indent" | "truncate"; at: number; text: string };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom("replace-value", "insert", "delete", "duplicate", "indent", "truncate"),
  at: fc.nat(),
  text: token,
});

function mutate(lines: string[], m: Mutation): string[] {
  const out = [...lines];
  const i = m.at % Math.max(1, out.length);
  const line = out[i] ?? "";
  if (m.kind === "replace-value") out[i] = line.includes(":") ? `${line.slice(0, line.indexOf(":") + 1)} ${m.text}` : `${line} ${m.text}`;
  if (m.kind === "insert") out.splice(i, 0, `${" ".repeat(m.at % 7)}${m.text}`);
  if (m.kind === "delete") out.splice(i, 1);
  if (m.kind === "duplicate") out.splice(i, 0, line);
  if (m.kind === "indent") out[i] = `${" ".repeat(1 + (m.at % 3))}${line}`;
  if (m.kind === "truncate") out.splice(i);
  return out;
}

describe("inventory validator properties", () => {
  it("never throws on arbitrary text, and every diagnostic lies inside it", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: "binary", maxLength: 300 }), fc.array(token, { maxLength: 30 }).map((t) => t.join("\n"))), (text) => {
        const result = validateInventoryText(text);
        expectInside(result.diagnostics, new Map([["inventory.yaml", text]]));
        // An inventory comes back exactly when nothing is an error.
        expect(result.inventory === null).toBe(result.diagnostics.some((d) => d.severity === "error"));
      }),
      fuzzParams(200),
    );
  }, fuzzTimeout(200, 5));

  it("never throws on a mutated real inventory (with its nodes/*.nix), and every diagnostic lies inside its file", () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.option(token, { nil: undefined }), (mutations, nodeNix) => {
        const text = mutations.reduce(mutate, EXAMPLE_LINES).join("\n");
        const files = new Map([["inventory.yaml", text], ...(nodeNix === undefined ? [] : [["nodes/n1.nix", nodeNix] as [string, string]])]);
        const result = validateRepo(files, { knownSecrets: new Set(["k3s-token"]) });
        expectInside(result.diagnostics, files);
        // A valid result is a whole inventory; an invalid one says why.
        expect(result.inventory === null).toBe(result.diagnostics.some((d) => d.severity === "error"));
      }),
      fuzzParams(100),
    );
  }, fuzzTimeout(100, 40));
});
