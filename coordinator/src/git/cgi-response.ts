// Splits a CGI program's stdout into its status, headers and the first body bytes (RFC 3875 §6).
import { NkError } from "../../../shared/src/errors/index.js";

export interface CgiHead {
  readonly status: number;
  /** Lower-case names; hop-by-hop headers and `Status` are left out. */
  readonly headers: Readonly<Record<string, string>>;
  /** Body bytes that arrived with the header block. */
  readonly rest: Buffer;
}

const MAX_HEAD_BYTES = 64 * 1024;
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authenticate", "proxy-authorization", "status"]);

function headEnd(buf: Buffer): { at: number; skip: number } | null {
  const crlf = buf.indexOf("\r\n\r\n");
  const lf = buf.indexOf("\n\n");
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, skip: 4 };
  if (lf >= 0) return { at: lf, skip: 2 };
  return null;
}

/** Feed stdout chunks until `push` returns the head; null means "need more". */
export class CgiHeadParser {
  private buffered = Buffer.alloc(0);

  push(chunk: Buffer): CgiHead | null {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    const end = headEnd(this.buffered);
    if (!end) {
      if (this.buffered.length > MAX_HEAD_BYTES) throw new NkError("IO", "CGI response header block is too large");
      return null;
    }
    const head = parseCgiHead(this.buffered.toString("latin1", 0, end.at));
    return { ...head, rest: this.buffered.subarray(end.at + end.skip) };
  }
}

export function parseCgiHead(text: string): { status: number; headers: Record<string, string> } {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new NkError("IO", `malformed CGI header line ${JSON.stringify(line.slice(0, 100))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "status") {
      const code = Number(/^(\d{3})\b/.exec(value)?.[1]);
      if (!(code >= 100 && code <= 599)) throw new NkError("IO", `malformed CGI status ${JSON.stringify(value)}`);
      status = code;
    } else if (!HOP_BY_HOP.has(name)) {
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
  }
  return { status, headers };
}
