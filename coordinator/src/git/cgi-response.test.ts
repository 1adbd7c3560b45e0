// CGI response heads as git-http-backend writes them: status, headers, and body bytes that came along.
import { describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { CgiHeadParser, parseCgiHead } from "./cgi-response.js";

describe("CgiHeadParser", () => {
  it("waits for the blank line, then returns status, headers and the first body bytes", () => {
    const p = new CgiHeadParser();
    expect(p.push(Buffer.from("Expires: Fri, 01 Jan 1980 00:00:00 GMT\r\nContent-Type: application/x-git-upload-pack-advertisement\r\n"))).toBeNull();
    const head = p.push(Buffer.from("Cache-Control: no-cache\r\n\r\n001e# service=git-upload-pack\n"));
    expect(head?.status).toBe(200);
    expect(head?.headers).toEqual({
      expires: "Fri, 01 Jan 1980 00:00:00 GMT",
      "content-type": "application/x-git-upload-pack-advertisement",
      "cache-control": "no-cache",
    });
    expect(head?.rest.toString()).toBe("001e# service=git-upload-pack\n");
  });

  it("reads Status:, accepts bare LF and drops hop-by-hop headers", () => {
    const head = new CgiHeadParser().push(Buffer.from("Status: 403 Forbidden\nConnection: keep-alive\nTransfer-Encoding: chunked\nContent-Type: text/plain\n\nno"));
    expect(head).toEqual({ status: 403, headers: { "content-type": "text/plain" }, rest: Buffer.from("no") });
  });

  it("rejects malformed heads and runaway header blocks", () => {
    expect(() => parseCgiHead("no colon here")).toThrow(/malformed CGI header/);
    expect(() => parseCgiHead("Status: abc")).toThrow(/malformed CGI status/);
    let err: unknown;
    try {
      new CgiHeadParser().push(Buffer.alloc(70 * 1024, 0x61));
    } catch (e) {
      err = e;
    }
    expect(isNkError(err, "IO")).toBe(true);
  });
});
