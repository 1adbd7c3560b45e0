// nk-agent retry's request file: written root-only, taken once, refused when it is not one; what a retry will do.
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { A, B, INSTALL, ev, reach, run, step } from "../apply/test-fixtures.js";
import { RETRY_REQUEST_FILE, planRetry, takeRetryRequest, writeRetryRequest } from "./retry-request.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nk-retry-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the retry request file", () => {
  it("is written 0600 and taken exactly once", async () => {
    await writeRetryRequest(dir, { atMs: 5, sha256: A.sha256 });
    expect((await stat(join(dir, RETRY_REQUEST_FILE))).mode & 0o777).toBe(0o600);
    expect(await takeRetryRequest(dir)).toEqual({ atMs: 5, sha256: A.sha256 });
    expect(await takeRetryRequest(dir)).toBeNull();
  });

  it("leaves a request written after the take began for the next look", async () => {
    await writeRetryRequest(dir, { atMs: 1 });
    const first = takeRetryRequest(dir);
    await writeRetryRequest(dir, { atMs: 2 });
    const got = [await first, await takeRetryRequest(dir)];
    // Whichever order the two writes and the take's rename landed in, both requests are read, none lost.
    expect(got.filter((r) => r !== null).map((r) => r!.atMs).sort()).toEqual(got[1] === null ? [2] : [1, 2]);
    expect(await takeRetryRequest(dir)).toBeNull();
  });

  it("refuses and removes a file that is not a request, naming it and how to write one", async () => {
    for (const text of ["{not json", JSON.stringify({ atMs: 1, sha256: "abc" }), JSON.stringify(["x"])]) {
      await writeFile(join(dir, RETRY_REQUEST_FILE), text);
      await expect(takeRetryRequest(dir)).rejects.toThrow(new RegExp(`${RETRY_REQUEST_FILE}.*write it with nk-agent retry`));
      await expect(readFile(join(dir, RETRY_REQUEST_FILE))).rejects.toMatchObject({ code: "ENOENT" });
    }
  });
});

describe("planRetry", () => {
  /** A switched (not rebooted) apply of A, unhealthy, switched back and verified: rests rolled-back, A refused. */
  const rolledBack = () => run([ev.activated(), ev.unhealthy(), ev.activated(INSTALL), ev.healthy(INSTALL)], reach("activating")).state;

  it("a stuck node runs its rollback again", () => {
    const stuck = step(reach("rollback-verifying"), ev.unhealthy(INSTALL)).state;
    expect(planRetry(stuck, undefined).effect).toMatch(/^runs the rollback to .* again/);
    expect(planRetry(stuck, undefined).sha256).toBeUndefined();
    // Its reboot lease released by an operator: no rollback without it, and the command says what to do instead.
    expect(() => planRetry({ ...stuck, lease: null }, undefined)).toThrow("the stuck apply's lease is gone (released or expired), and a rollback that reboots or restarts never runs without one: push a bundle that fixes the node");
  });

  it("a node at rest asks for the desired bundle again, naming the refused ones it could name", () => {
    const s = rolledBack();
    expect(s.phase).toBe("rolled-back");
    expect(planRetry(s, undefined).effect).toBe(`asks for the desired bundle again; to try a refused bundle again, name it: --bundle ${A.sha256.slice(0, 12)}`);
  });

  it("a named bundle is matched by prefix in the bad history and the failed builds", () => {
    const s = rolledBack();
    expect(planRetry(s, A.sha256.slice(0, 8).toUpperCase())).toEqual({ sha256: A.sha256, effect: expect.stringMatching(/^forgets that aaaaaaaaaaaa rolled back \(.*\), then takes the desired bundle again/) });
    const failed = { ...s, failedBuild: { sha256: B.sha256, attempts: 3 } };
    expect(planRetry(failed, B.sha256)).toMatchObject({ sha256: B.sha256, effect: expect.stringContaining("build failed 3 time(s)") });
  });

  it("says what it knows when the bundle is unknown, ambiguous or not a sha256", () => {
    const s = rolledBack();
    expect(() => planRetry(s, "bbbbbbbb")).toThrow(`--bundle bbbbbbbb: no refused bundle starts with it; this node's refused bundles: ${A.sha256.slice(0, 12)} (rolled back`);
    const two = { ...s, bad: [...s.bad, { ...s.bad[0]!, sha256: `${"a".repeat(12)}${"0".repeat(52)}` }] };
    expect(() => planRetry(two, "aaaaaa")).toThrow(/names more than one refused bundle .*give more digits/);
    expect(() => planRetry(s, "xyz")).toThrow("--bundle xyz: expected a bundle's sha256 or a prefix of at least 6 hex digits");
  });

  it("refuses while an apply is in flight", () => {
    expect(() => planRetry(reach("building"), undefined)).toThrow("the agent is applying a bundle (phase building): nothing to retry now");
  });
});
