// A small RFC 4180 reader (quoted fields, doubled quotes, CRLF or LF) and a header-keyed table on top.
import type { ImportProblems } from "./import-problems.js";

export interface CsvRecord {
  /** Line on which the record starts (a quoted field may span lines). */
  readonly line: number;
  readonly fields: readonly string[];
}

/** Splits CSV text into records; blank lines are skipped, malformed quoting is reported. */
export function parseCsv(text: string, file: string, problems: ImportProblems): CsvRecord[] {
  const src = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let recordLine = 1;
  let i = 0;
  const endRecord = (): void => {
    fields.push(field);
    if (fields.length > 1 || fields[0] !== "") records.push({ line: recordLine, fields });
    fields = [];
    field = "";
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === '"' && field.trim() === "") {
      // A quoted field: runs to the next lone quote; newlines inside belong to the value.
      const openLine = line;
      field = "";
      i++;
      let closed = false;
      while (i < src.length) {
        const q = src[i]!;
        if (q === '"' && src[i + 1] === '"') {
          field += '"';
          i += 2;
        } else if (q === '"') {
          closed = true;
          i++;
          break;
        } else {
          if (q === "\n" || (q === "\r" && src[i + 1] !== "\n")) line++;
          field += q;
          i++;
        }
      }
      if (!closed) {
        problems.add(file, openLine, "", "unterminated quoted field (a \" opened here is never closed)");
        return records;
      }
      while (src[i] === " " || src[i] === "\t") i++;
      const next = src[i];
      if (next !== undefined && next !== "," && next !== "\n" && next !== "\r") {
        problems.add(file, line, "", "unexpected text after a closing quote (double a quote inside a quoted field: \"\")");
        while (i < src.length && src[i] !== "," && src[i] !== "\n" && src[i] !== "\r") i++;
      }
      continue;
    }
    if (c === '"') {
      problems.add(file, line, "", "quote inside an unquoted field (quote the whole field and double the quote: \"\")");
      field += c;
      i++;
    } else if (c === ",") {
      fields.push(field);
      field = "";
      i++;
    } else if (c === "\n" || c === "\r") {
      endRecord();
      i += c === "\r" && src[i + 1] === "\n" ? 2 : 1;
      line++;
      recordLine = line;
    } else {
      field += c;
      i++;
    }
  }
  if (field !== "" || fields.length > 0) endRecord();
  return records;
}

export interface CsvRow {
  readonly line: number;
  /** The trimmed, lower-cased value of a column named in the table's columns. */
  get(column: string): string;
}

export interface CsvTable {
  readonly file: string;
  readonly headerLine: number;
  /** False when the header lacks a column or the quoting is broken: the rows are then left unread. */
  readonly complete: boolean;
  readonly rows: readonly CsvRow[];
}

/**
 * Reads a CSV file with a header row. Values are trimmed and lower-cased (the plans format is
 * case-insensitive); missing columns and ragged rows are problems, unused columns are noted.
 */
export function readCsvTable(text: string, file: string, columns: readonly string[], problems: ImportProblems, notes: string[]): CsvTable {
  const before = problems.count;
  const records = parseCsv(text, file, problems);
  // Broken quoting shifts every later field: reading rows from it would only add confusing problems.
  if (problems.count > before) return { file, headerLine: records[0]?.line ?? 1, complete: false, rows: [] };
  const header = records[0];
  if (!header) {
    problems.add(file, 1, "", `is empty (expected a header: ${columns.join(",")})`);
    return { file, headerLine: 1, complete: false, rows: [] };
  }
  const names = header.fields.map((f) => f.trim().toLowerCase());
  const index = new Map<string, number>();
  names.forEach((name, i) => {
    if (index.has(name)) problems.add(file, header.line, name, `column appears twice in the header`);
    else index.set(name, i);
  });
  const missing = columns.filter((c) => !index.has(c));
  for (const c of missing) problems.add(file, header.line, c, `missing column (the header has: ${names.join(",")}; expected: ${columns.join(",")})`);
  const unused = names.filter((n) => n !== "" && !columns.includes(n));
  if (unused.length > 0) notes.push(`${file}:${header.line} column${unused.length > 1 ? "s" : ""} ${unused.map((u) => `"${u}"`).join(", ")} not used by nk: dropped`);
  if (missing.length > 0) return { file, headerLine: header.line, complete: false, rows: [] };

  const rows: CsvRow[] = [];
  for (const record of records.slice(1)) {
    if (record.fields.length !== names.length) {
      problems.add(file, record.line, "", `expected ${names.length} fields (${names.join(",")}), got ${record.fields.length}`);
      continue;
    }
    const values = record.fields.map((f) => f.trim().toLowerCase());
    rows.push({ line: record.line, get: (column) => values[index.get(column) ?? -1] ?? "" });
  }
  return { file, headerLine: header.line, complete: true, rows };
}
