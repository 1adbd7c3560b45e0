// The delivery invariant over agents' logs: a bundle only older pushes had, sent after a newer one, is flagged once.
import { appendFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DeliveryLog, parseDeliveries, pushedBundles } from "./delivery-log.js";

const [Z, B, C, FIRST] = ["z", "b", "c", "f"].map((c) => c.repeat(64)) as [string, string, string, string];
const short = (sha: string) => sha.slice(0, 12);
/**
 * n1's bundles: Z at r1, B (a bad change) at r2, a refused push, Z again (its revert) at r3 whose answer was lost but
 * which landed, then C at r4.
 */
const pushes = [
  { sha: "r1", shas: new Map([["n1", Z]]) },
  { sha: "r2", shas: new Map([["n1", B]]) },
  { sha: "refused" },
  { sha: "r3", shas: new Map([["n1", Z]]) },
  { sha: "r4", shas: new Map([["n1", C]]) },
];
const line = (sha: string, rev: string, time: number) => `${JSON.stringify({ level: 30, time, rev, sha: short(sha), msg: "desired bundle received" })}\n`;

let dir: string;
beforeEach(async () => void (dir = await mkdtemp(join(tmpdir(), "nk-delivery-"))));
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe("delivery log", () => {
  it("reads deliveries from JSON lines and skips everything else", () => {
    const text = `not json desired bundle received\n${JSON.stringify({ msg: "apply phase", rev: "r1" })}\n${line(B, "r2", 5)}{"msg":"desired bundle rec`;
    expect(parseDeliveries("n1", text)).toEqual([{ node: "n1", revision: "r2", sha: short(B), atMs: 5 }]);
  });

  it("judges by bundle: a revert and a bundle named by another commit pass, an older bundle after a newer one does not", async () => {
    const file = join(dir, "agent.log");
    const log = new DeliveryLog(new Map([["n1", file]]));
    const pushed = pushedBundles(pushes, ["n1"]);
    expect(pushed.commits).toEqual(["r1", "r2", "r3", "r4"]);
    expect(pushed.byNode.get("n1")).toEqual([short(Z), short(B), short(Z), short(C)]);
    expect(await log.check(pushed)).toEqual([]); // no log yet
    // The first commit's bundle is no push's: not judged. Z, B, then Z of the revert (named r1 by a coordinator that
    // never saw r2: the same bundle), and Z again on a reconnect.
    await appendFile(file, line(FIRST, "r0", 500) + line(Z, "r1", 1_000) + line(B, "r2", 2_000) + line(Z, "r1", 3_000) + line(Z, "r1", 3_500));
    expect(await log.check(pushed)).toEqual([]);
    // A line cut short waits for its end.
    const late = line(B, "r2", 5_000);
    await appendFile(file, late.slice(0, 20));
    expect(await log.check(pushed)).toEqual([]);
    await appendFile(file, late.slice(20) + line(C, "r4", 6_000));
    expect(await log.check(pushed)).toEqual([`00:00:05.000: n1 was sent bundle ${short(B)} (push 2, revision r2) after bundle ${short(Z)} of the newer push 3 (at 00:00:03.500)`]);
    // Each line is judged once.
    expect(await log.check(pushed)).toEqual([]);
    expect(log.seen).toBe(7);
  });

  it("places a node by the push a message names when that push had the bundle", async () => {
    const file = join(dir, "agent.log");
    const log = new DeliveryLog(new Map([["n1", file]]));
    // Z named r3 (the revert) puts n1 after B's push, though r1 had Z too: B after it is older.
    await appendFile(file, line(Z, "r3", 1_000) + line(B, "r2", 2_000));
    expect(await log.check(pushedBundles(pushes, ["n1"]))).toEqual([`00:00:02.000: n1 was sent bundle ${short(B)} (push 2, revision r2) after bundle ${short(Z)} of the newer push 3 (at 00:00:01.000)`]);
  });
});
