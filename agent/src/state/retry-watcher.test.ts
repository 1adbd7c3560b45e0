// The running agent takes each retry request as it is written, and one written while it was down when it starts.
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../shared/src/log/index.js";
import { RETRY_REQUEST_FILE, writeRetryRequest, type RetryRequest } from "./retry-request.js";
import { watchRetryRequests } from "./retry-watcher.js";

let dir: string;
let stops: Array<() => void>;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nk-retry-watch-"));
  stops = [];
});
afterEach(async () => {
  for (const stop of stops) stop();
  await rm(dir, { recursive: true, force: true });
});

/** Starts a watcher; `next()` resolves with the next request it hands over. */
function watchAll(onLog: (line: string) => void = () => undefined) {
  const queue: RetryRequest[] = [];
  let wake: (() => void) | undefined;
  const destination = { write: (line: string) => onLog(line) } as unknown as NodeJS.WritableStream;
  const log = createLogger({ name: "t", level: "warn", destination });
  stops.push(watchRetryRequests({ stateDir: dir, onRequest: (r) => (queue.push(r), wake?.()), log }));
  return {
    async next(): Promise<RetryRequest> {
      while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return queue.shift()!;
    },
  };
}

describe("watchRetryRequests", () => {
  it("hands over each request written while it watches, once, and removes it", async () => {
    const w = watchAll();
    await writeRetryRequest(dir, { atMs: 1 });
    expect(await w.next()).toEqual({ atMs: 1 });
    await writeRetryRequest(dir, { atMs: 2, sha256: "c".repeat(64) });
    expect(await w.next()).toEqual({ atMs: 2, sha256: "c".repeat(64) });
    expect(await readdir(dir)).toEqual([]);
  });

  it("takes a request written before it started", async () => {
    await writeRetryRequest(dir, { atMs: 3 });
    expect(await watchAll().next()).toEqual({ atMs: 3 });
  });

  it("logs and drops a file that is not a request, then still takes the next one", async () => {
    let warned: (line: string) => void = () => undefined;
    const warning = new Promise<string>((resolve) => (warned = resolve));
    const w = watchAll((line) => warned(line));
    await writeFile(join(dir, RETRY_REQUEST_FILE), "junk");
    expect(await warning).toContain("ignored an unreadable retry request");
    await writeRetryRequest(dir, { atMs: 4 });
    expect(await w.next()).toEqual({ atMs: 4 });
  });
});
