// RFC 4180 reading (quotes, CRLF, multi-line fields) and the header-keyed table with its problems.
import { describe, expect, it } from "vitest";
import { isNkError } from "../errors/index.js";
import { ImportProblems } from "./import-problems.js";
import { parseCsv, readCsvTable } from "./parse-csv.js";

function parse(text: string): { records: { line: number; fields: readonly string[] }[]; error: string | null } {
  const problems = new ImportProblems();
  const records = parseCsv(text, "t.csv", problems);
  try {
    problems.throwIfAny();
    return { records, error: null };
  } catch (err) {
    if (!isNkError(err, "INVENTORY_INVALID")) throw err;
    return { records, error: err.message };
  }
}

describe("parseCsv", () => {
  it("reads plain records with LF or CRLF line ends and no final newline", () => {
    const lf = parse("a,b\n1,2\n3,4");
    const crlf = parse("a,b\r\n1,2\r\n3,4\r\n");
    expect(lf.records.map((r) => r.fields)).toEqual([["a", "b"], ["1", "2"], ["3", "4"]]);
    expect(crlf.records).toEqual(lf.records);
    expect(lf.records.map((r) => r.line)).toEqual([1, 2, 3]);
  });

  it("reads quoted fields with commas, doubled quotes and line breaks, keeping line numbers right", () => {
    const { records, error } = parse('name,note\r\nolaf,"a, b"\r\nulf,"say ""hi"""\r\nrolf,"two\r\nlines"\r\nkarl,x\r\n');
    expect(error).toBeNull();
    expect(records).toEqual([
      { line: 1, fields: ["name", "note"] },
      { line: 2, fields: ["olaf", "a, b"] },
      { line: 3, fields: ["ulf", 'say "hi"'] },
      { line: 4, fields: ["rolf", "two\r\nlines"] },
      { line: 6, fields: ["karl", "x"] },
    ]);
  });

  it("skips blank lines and a byte order mark, keeps empty fields", () => {
    const { records } = parse("\uFEFFa,b\n\n1,\n\n,2\n");
    expect(records).toEqual([
      { line: 1, fields: ["a", "b"] },
      { line: 3, fields: ["1", ""] },
      { line: 5, fields: ["", "2"] },
    ]);
  });

  it("allows spaces around a quoted field", () => {
    expect(parse(' "a" , b\n').records[0]!.fields).toEqual(["a", " b"]);
  });

  it("reports malformed quoting with the line", () => {
    expect(parse('a,b\n1,"open\n2,3\n').error).toBe('t.csv:2 unterminated quoted field (a " opened here is never closed)');
    expect(parse('a,b\n1,"x"y\n').error).toBe('t.csv:2 unexpected text after a closing quote (double a quote inside a quoted field: "")');
    expect(parse('a,b\n1,x"y\n').error).toBe('t.csv:2 quote inside an unquoted field (quote the whole field and double the quote: "")');
  });
});

describe("readCsvTable", () => {
  const columns = ["name", "ip"];
  function table(text: string): { rows: [number, string, string][]; notes: string[]; error: string | null } {
    const problems = new ImportProblems();
    const notes: string[] = [];
    const t = readCsvTable(text, "t.csv", columns, problems, notes);
    let error: string | null = null;
    try {
      problems.throwIfAny();
    } catch (err) {
      error = (err as Error).message;
    }
    return { rows: t.rows.map((r) => [r.line, r.get("name"), r.get("ip")]), notes, error };
  }

  it("keys values by header name in any column order, trimmed and lower-cased", () => {
    const t = table(" IP , Name \n 10.0.0.1 , OLAF \n");
    expect(t.error).toBeNull();
    expect(t.rows).toEqual([[2, "olaf", "10.0.0.1"]]);
  });

  it("notes columns it does not use", () => {
    expect(table("name,ip,rack,owner\nolaf,10.0.0.1,r1,me\n").notes).toEqual(['t.csv:1 columns "rack", "owner" not used by nk: dropped']);
  });

  it("reports missing columns, ragged rows, duplicate columns and an empty file", () => {
    expect(table("name,addr\nolaf,10.0.0.1\n").error).toBe("t.csv:1 ip: missing column (the header has: name,addr; expected: name,ip)");
    expect(table("name,ip\nolaf\nulf,1.2.3.4,x\n").error).toBe("t.csv:2 expected 2 fields (name,ip), got 1\nt.csv:3 expected 2 fields (name,ip), got 3");
    expect(table("name,ip,name\n").error).toBe("t.csv:1 name: column appears twice in the header");
    expect(table("\n\n").error).toBe("t.csv:1 is empty (expected a header: name,ip)");
  });
});
