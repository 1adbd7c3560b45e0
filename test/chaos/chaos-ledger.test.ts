// The chaos ledger: a run in parts continues only its own seeds on its own code, and says why it refuses.
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ChaosLedger, codeIdentity, remainingRanges } from "./chaos-ledger.js";

describe("chaos ledger", () => {
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "nk-ledger-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = { seed: 100, nodes: 3, steps: 8, ha: true, code: "c0de" };
  const schedule = (seed: number, part: number, violations: string[] = []) => ({ seed, violations, ms: 1000, actions: { push: 1 }, part });

  it("records schedules and parts, and a later part on the same run sees them", () => {
    const path = join(dir, "ledger.jsonl");
    const first = ChaosLedger.open(path, run);
    expect(first.nextPart).toBe(1);
    first.addSchedule(schedule(100, 1));
    first.addSchedule(schedule(101, 1, ["n1 rebooted outside its window"]));
    first.endPart({ part: 1, startedAt: "2026-12-03T12:00:00.000Z", minutes: 2, workers: 1, violations: ["push abc lost"], stats: { push: 2 }, grants: 3, peakLeases: 1 });
    const again = ChaosLedger.open(path, run);
    expect([...again.schedules.keys()]).toEqual([100, 101]);
    expect(again.nextPart).toBe(2);
    expect(again.violations).toBe(2);
    expect(readFileSync(path, "utf8").split("\n").filter(Boolean)).toHaveLength(4);
  });

  it("refuses a ledger of another run, naming what differs, and a damaged one, naming the line", () => {
    const path = join(dir, "ledger.jsonl");
    ChaosLedger.open(path, run).addSchedule(schedule(100, 1));
    expect(() => ChaosLedger.open(path, { ...run, code: "beef" })).toThrow(`${path}: the ledger is of another run (its code is "c0de", this one's "beef"); pick another --ledger file (the code changed since its last part, so it cannot continue)`);
    expect(() => ChaosLedger.open(path, { ...run, seed: 7 })).toThrow(/its seed is 100, this one's 7/);
    appendFileSync(path, '{"schedule": {"seed": 1');
    expect(() => ChaosLedger.open(path, run)).toThrow(`${path}:3: not a JSON line; the ledger is damaged (a part killed while writing leaves at most its last line cut: remove that line)`);
    writeFileSync(path, `${JSON.stringify({ schedule: schedule(1, 1) })}\n`);
    expect(() => ChaosLedger.open(path, run)).toThrow(`${path}:1: the ledger does not start with its run header`);
  });

  it("keeps what a schedule saw when it ended, holds one writer at a time, and never lets a clean rerun hide a violation", () => {
    const path = join(dir, "ledger.jsonl");
    const ledger = ChaosLedger.open(path, run, { lock: true });
    const result = schedule(100, 1);
    ledger.addSchedule(result);
    // The runner appends the run's own checks to its last result afterwards: the part records them, once.
    result.violations.push("push abc lost");
    ledger.endPart({ part: 1, startedAt: "2026-12-03T12:00:00.000Z", minutes: 1, workers: 1, violations: ["push abc lost"], stats: {}, grants: 0, peakLeases: 0 });
    expect(ledger.violations).toBe(1);
    expect(() => ChaosLedger.open(path, run, { lock: true })).toThrow(`${path}: another part (pid ${process.pid}) is writing this ledger; wait for it to end`);
    ledger.close();
    // A lock left by a part that died is taken over.
    writeFileSync(`${path}.lock`, "999999999\n");
    const next = ChaosLedger.open(path, run, { lock: true });
    next.addSchedule(schedule(101, 2, ["n2 cordoned twice"]));
    next.addSchedule(schedule(101, 2));
    next.endPart({ part: 2, startedAt: "2026-12-03T12:05:00.000Z", minutes: 1, workers: 1, violations: [], stats: {}, grants: 0, peakLeases: 0 });
    next.close();
    expect(ChaosLedger.open(path, run).schedules.get(101)?.violations).toEqual(["n2 cordoned twice"]);
  });

  it("runs again the clean schedules of a part that never ended, but keeps the violations it saw", () => {
    const path = join(dir, "ledger.jsonl");
    const first = ChaosLedger.open(path, run);
    first.addSchedule(schedule(100, 1));
    first.addSchedule(schedule(101, 1, ["n1 rebooted outside its window"]));
    // No endOfPart: killed outright.
    const again = ChaosLedger.open(path, run);
    expect(again.unverified.map((s) => s.seed)).toEqual([100]);
    expect([...again.schedules.keys()]).toEqual([101]);
    expect(again.nextPart).toBe(2);
  });

  it("splits a worker's slice into the contiguous ranges still to run", () => {
    const done = new Set([10, 11, 12, 15]);
    expect(remainingRanges(10, 8, (i) => done.has(i))).toEqual([[13, 2], [16, 2]]);
    expect(remainingRanges(10, 3, (i) => done.has(i))).toEqual([]);
    expect(remainingRanges(0, 3, () => false)).toEqual([[0, 3]]);
  });

  it("names the code by its tracked files but the docs, and refuses uncommitted code", () => {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.invalid", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.invalid" } });
    git("init", "-q");
    writeFileSync(join(dir, "main.ts"), "export const a = 1;\n");
    writeFileSync(join(dir, "README.md"), "# one\n");
    git("add", "-A");
    git("commit", "-qm", "one");
    const { code: id, commit } = codeIdentity(dir);
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(commit).toBe(git("rev-parse", "HEAD").trim());
    // Docs change nothing: committed or not.
    writeFileSync(join(dir, "README.md"), "# two\n");
    expect(codeIdentity(dir).code).toBe(id);
    git("commit", "-qam", "docs");
    expect(codeIdentity(dir).code).toBe(id);
    // Nor do benchmarks: nothing a chaos run starts imports them.
    mkdirSync(join(dir, "bench"));
    writeFileSync(join(dir, "bench", "main.ts"), "export const b = 1;\n");
    expect(codeIdentity(dir).code).toBe(id);
    git("add", "-A");
    git("commit", "-qm", "bench");
    expect(codeIdentity(dir).code).toBe(id);
    // Nor does the test suite: a run never loads a *.test.ts or vitest's config.
    writeFileSync(join(dir, "main.test.ts"), "it('a', () => undefined);\n");
    writeFileSync(join(dir, "vitest.config.ts"), "export default {};\n");
    expect(codeIdentity(dir).code).toBe(id);
    git("add", "-A");
    git("commit", "-qm", "tests");
    expect(codeIdentity(dir).code).toBe(id);
    writeFileSync(join(dir, "main.ts"), "export const a = 2;\n");
    expect(() => codeIdentity(dir)).toThrow("--ledger needs the code committed (a later part must run the same code); changed: main.ts");
    git("commit", "-qam", "code");
    const changed = codeIdentity(dir).code;
    expect(changed).not.toBe(id);
    writeFileSync(join(dir, "new.ts"), "\n");
    expect(() => codeIdentity(dir)).toThrow(/changed: new\.ts/);
    rmSync(join(dir, "new.ts"));
    // The ledger itself, wherever it sits in the checkout, is no code.
    writeFileSync(join(dir, "run.jsonl"), "{}\n");
    writeFileSync(join(dir, "run.jsonl.lock"), "1\n");
    expect(() => codeIdentity(dir)).toThrow(/changed: run\.jsonl/);
    expect(codeIdentity(dir, join(dir, "run.jsonl")).code).toBe(changed);
  });
});
