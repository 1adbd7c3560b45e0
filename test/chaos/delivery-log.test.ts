// The delivery invariant over agents' logs: an older revision sent after a newer one is flagged, once, with both.
import { appendFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DeliveryLog, parseDeliveries } from "./delivery-log.js";

const [A, B, C] = ["a".repeat(40), "b".repeat(40), "c".repeat(40)];
const order = new Map([[A, 0], [B, 1], [C, 2]]);
const line = (rev: string, time: number) => `${JSON.stringify({ level: 30, time, node: "n1", rev, sha: rev.slice(0, 12).toUpperCase(), msg: "desired bundle received" })}\n`;

let dir: string;
beforeEach(async () => void (dir = await mkdtemp(join(tmpdir(), "nk-delivery-"))));
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe("delivery log", () => {
  it("reads deliveries from JSON lines and skips everything else", () => {
    const text = `not json desired bundle received\n${JSON.stringify({ msg: "apply phase", rev: A })}\n${line(B, 5)}{"msg":"desired bundle rec`;
    expect(parseDeliveries("n1", text)).toEqual([{ node: "n1", revision: B, sha: "BBBBBBBBBBBB", atMs: 5 }]);
  });

  it("flags a revision older than one the node was sent before, across calls and lines written in parts", async () => {
    const file = join(dir, "agent.log");
    const log = new DeliveryLog(new Map([["n1", file]]));
    expect(await log.check(order)).toEqual([]); // no log yet
    await appendFile(file, line(A, 1_000) + line(B, 2_000) + line(B, 3_000));
    expect(await log.check(order)).toEqual([]);
    // The cluster's first commit is no acknowledged push: not judged. A line cut short waits for its end.
    const late = line(A, 5_000);
    await appendFile(file, line("d".repeat(40), 4_000) + late.slice(0, 20));
    expect(await log.check(order)).toEqual([]);
    await appendFile(file, late.slice(20) + line(C, 6_000));
    expect(await log.check(order)).toEqual([
      `00:00:05.000: n1 was sent bundle AAAAAAAAAAAA of revision ${A.slice(0, 12)} after bundle BBBBBBBBBBBB of the newer revision ${B.slice(0, 12)} (at 00:00:03.000)`,
    ]);
    // Each line is judged once.
    expect(await log.check(order)).toEqual([]);
    expect(log.seen).toBe(6);
  });
});
