// Table and JSON formatting, the time formatters and the error → exit code mapping.
import { describe, expect, it } from "vitest";
import { NkError } from "../../shared/src/errors/index.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import { parse } from "yaml";
import { formatAgo, formatDeadline, formatDuration, formatJson, formatOutput, formatTable, plural, short } from "./output.js";

describe("formatTable", () => {
  it("aligns columns two spaces apart, shows empty cells as '-', and leaves no trailing spaces", () => {
    const text = formatTable(["NAME", "ROLE", "LEASE"], [["n1", "server", ""], ["node-long", null, "draining"], ["n3", "agent", undefined]]);
    expect(text).toBe(["NAME       ROLE    LEASE", "n1         server  -", "node-long  -       draining", "n3         agent   -", ""].join("\n"));
    expect(text.split("\n").every((l) => !l.endsWith(" "))).toBe(true);
  });

  it("prints numbers and booleans as text, and a header alone when there are no rows", () => {
    expect(formatTable(["POS", "OK"], [[1, true], [12, false]])).toBe("POS  OK\n1    true\n12   false\n");
    expect(formatTable(["NAME", "ROLE"], [])).toBe("NAME  ROLE\n");
  });

  it("measures width in characters, not UTF-16 units", () => {
    expect(formatTable(["A", "B"], [["→x", "1"], ["abc", "2"]])).toBe("A    B\n→x   1\nabc  2\n");
  });
});

describe("formatJson", () => {
  it("indents by two spaces and ends with a newline", () => {
    expect(formatJson({ ok: true, nodes: ["n1"] })).toBe('{\n  "ok": true,\n  "nodes": [\n    "n1"\n  ]\n}\n');
  });
});

describe("formatOutput (-o)", () => {
  const data = { nodes: [{ name: "n1", healthy: true, lease: null }], note: "a: b" };
  const human = (wide: boolean): string => (wide ? "NAME  EXTRA\n" : "NAME\n");

  it("gives the same data as JSON and as YAML, and the table or its wide form for humans", () => {
    expect(formatOutput("json", data, human)).toBe(formatJson(data));
    const yaml = formatOutput("yaml", data, human);
    expect(parse(yaml)).toEqual(data);
    expect(yaml).toBe('nodes:\n  - name: n1\n    healthy: true\n    lease: null\nnote: "a: b"\n');
    expect(formatOutput("table", data, human)).toBe("NAME\n");
    expect(formatOutput("wide", data, human)).toBe("NAME  EXTRA\n");
  });
});

describe("small formatters", () => {
  it("formats durations compactly", () => {
    expect([0, 45_999, 60_000, 200_000, 3_600_000, 7_500_000, 86_400_000 * 3 + 3_600_000 * 4].map(formatDuration)).toEqual(["0s", "45s", "1m", "3m20s", "1h", "2h5m", "3d4h"]);
  });

  it("formats ages and deadlines relative to now", () => {
    const now = 1_000_000_000;
    expect(formatAgo(now - 12_000, now)).toBe("12s ago");
    expect(formatAgo(0, now)).toBe("never");
    expect(formatAgo(now + 60_000, now)).toBe("in the future");
    expect(formatDeadline(now + 250_000, now)).toBe("4m10s");
    expect(formatDeadline(now - 30_000, now)).toBe("overdue 30s");
    expect(formatDeadline(0, now)).toBe("-");
  });

  it("pluralises and shortens ids", () => {
    expect([plural(1, "error"), plural(2, "error"), plural(0, "node")]).toEqual(["1 error", "2 errors", "0 nodes"]);
    expect(short("0123456789abcdef0123")).toBe("0123456789ab");
    expect(short("")).toBe("");
  });
});

describe("exitCodeFor", () => {
  it("maps error codes to the documented exit codes", () => {
    const cases: [NkError["code"], number][] = [
      ["INVENTORY_INVALID", EXIT.PROBLEMS],
      ["INVALID_ARGUMENT", EXIT.USAGE],
      ["CONFIG_INVALID", EXIT.USAGE],
      ["UNAVAILABLE", EXIT.UNREACHABLE],
      ["UNAUTHENTICATED", EXIT.UNREACHABLE],
      ["NOT_LEADER", EXIT.UNREACHABLE],
      ["NODE_UNKNOWN", EXIT.NOT_FOUND],
      ["REVISION_UNKNOWN", EXIT.NOT_FOUND],
      ["LEASE_HELD", EXIT.OTHER],
      ["INTERNAL", EXIT.OTHER],
    ];
    expect(cases.map(([code]) => exitCodeFor(new NkError(code, "x")))).toEqual(cases.map(([, exit]) => exit));
    expect(exitCodeFor(new Error("boom"))).toBe(5);
    expect([EXIT.OK, EXIT.PROBLEMS, EXIT.USAGE, EXIT.UNREACHABLE, EXIT.NOT_FOUND, EXIT.OTHER]).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
