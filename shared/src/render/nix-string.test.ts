// nixString and friends: exact output, and a round trip through the real Nix evaluator for hostile values.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { nixAttr, nixBlockList, nixInt, nixPathIn, nixString, nixStringList } from "./nix-string.js";

/** Evaluates a Nix expression read from stdin and returns its JSON value. */
function nixEvalJson(expr: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn("nix-instantiate", ["--eval", "--strict", "--json", "-"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(err))));
    child.stdin.end(expr);
  });
}

const HOSTILE = [
  'say "hi"',
  "${builtins.abort \"pwned\"}",
  "$${x}",
  "a$",
  "$",
  "trailing backslash \\",
  "\\${not interpolated}",
  "line1\nline2\r\n\ttabbed",
  "''; }; evil = true; x = ''",
  "unicode: é ✓ 🚀",
  "",
];

describe("nixString", () => {
  it("escapes backslash, quote, interpolation and newlines", () => {
    expect(nixString('a"b')).toBe('"a\\"b"');
    expect(nixString("a\\b")).toBe('"a\\\\b"');
    expect(nixString("${x}")).toBe('"\\${x}"');
    expect(nixString("a\nb")).toBe('"a\\nb"');
    expect(nixString("plain")).toBe('"plain"');
  });

  it("rejects NUL, which a Nix string cannot hold", () => {
    expect(() => nixString("a\0b")).toThrow(/NUL/);
  });

  it("round-trips hostile values through the Nix evaluator unchanged", async () => {
    const expr = `[ ${HOSTILE.map(nixString).join(" ")} ]`;
    await expect(nixEvalJson(expr)).resolves.toEqual(HOSTILE);
  });

  it("quotes attribute names that are not plain identifiers, and they evaluate back to the same name", async () => {
    expect(nixAttr("enp1s0")).toBe("enp1s0");
    expect(nixAttr("eth0.100")).toBe('"eth0.100"');
    expect(nixAttr("in")).toBe('"in"');
    expect(nixAttr("9lives")).toBe('"9lives"');
    const names = ["enp1s0", "eth0.100", "in", "a b", 'q"uote', "${x}"];
    const expr = `builtins.attrNames { ${names.map((n) => `${nixAttr(n)} = 1;`).join(" ")} }`;
    await expect(nixEvalJson(expr)).resolves.toEqual([...names].sort());
  });
});

describe("list, int and path builders", () => {
  it("renders lists on one line or as a block", () => {
    expect(nixStringList([])).toBe("[ ]");
    expect(nixStringList(["a", "b c"])).toBe('[ "a" "b c" ]');
    expect(nixBlockList(["1", "2"], "  ")).toBe("[\n    1\n    2\n  ]");
    expect(nixBlockList([], "  ")).toBe("[ ]");
  });

  it("accepts only non-negative safe integers", () => {
    expect(nixInt(30)).toBe("30");
    expect(() => nixInt(1.5)).toThrow();
    expect(() => nixInt(Number.NaN)).toThrow();
    expect(() => nixInt(-1)).toThrow();
  });

  it("keeps plain file names as path literals and appends odd ones as strings", async () => {
    expect(nixPathIn("./extra/common", "monitoring.nix")).toBe("./extra/common/monitoring.nix");
    expect(nixPathIn("./extra/common", "my file.nix")).toBe('(./extra/common + "/my file.nix")');
    const value = await nixEvalJson(`builtins.baseNameOf (toString ${nixPathIn("./d", 'we"ird ${x}.nix')})`);
    expect(value).toBe('we"ird ${x}.nix');
  });
});
