// A long chaos run in parts: each schedule's outcome is appended to a ledger file, and a later part on the same code
// runs only the seeds the ledger does not hold yet. A run of 1,000 HA schedules (~5 hours on 2 cores) then need not
// fit one sitting. The ledger names the code it ran by a hash of every tracked file but the docs and benchmarks, and
// refuses to mix.
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { relative, resolve } from "node:path";

/** What a run is: a part may only continue a ledger with the same seed, cluster, steps and code. */
export interface LedgerRun {
  readonly seed: number;
  readonly nodes: number;
  readonly steps: number;
  readonly ha: boolean;
  readonly code: string;
  /** The commit the first part ran (to check out for a later part); not compared: docs may differ. */
  readonly commit?: string;
}

export interface LedgerSchedule {
  readonly seed: number;
  readonly violations: readonly string[];
  readonly ms: number;
  readonly actions: Record<string, number>;
  readonly effects?: number;
  readonly part: number;
}

/** The end of one part: its whole-run checks (pushes lost across the part) and its recorders' figures. */
export interface LedgerPart {
  readonly part: number;
  readonly startedAt: string;
  readonly minutes: number;
  readonly workers: number;
  readonly violations: readonly string[];
  readonly stats: Record<string, number>;
  readonly grants: number;
  readonly peakLeases: number;
}

type Line = { run: LedgerRun } | { schedule: LedgerSchedule } | { endOfPart: LedgerPart };

/**
 * Files that do not change what runs: the docs (ledgers kept in the repo live under docs/ too) and the benchmarks,
 * which nothing a chaos run starts imports, so a benchmark may change while a ledger is still going.
 */
// What a chaos run never loads: docs, benchmarks, and the test suite's own files (a run imports the harness and the
// daemons, never a *.test.ts or vitest's config), so the suite can change while a ledger runs.
const notCode = (path: string): boolean =>
  path.endsWith(".md") || path.startsWith("docs/") || path.startsWith("bench/") || path.endsWith(".test.ts") || path === "vitest.config.ts";

/**
 * A hash of the tracked files' modes, blob ids and paths (docs left out). Uncommitted changes to code have no name a
 * later part could check, so they are refused.
 */
export function codeIdentity(repoRoot: string, ledgerPath?: string): { code: string; commit: string } {
  const git = (...args: string[]): string => execFileSync("git", args, { cwd: repoRoot, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  // The ledger itself (and its lock) may sit anywhere in the checkout: writing it changes no code.
  const own = ledgerPath === undefined ? "" : relative(repoRoot, resolve(ledgerPath));
  const isLedger = (p: string): boolean => own !== "" && (p === own || p === `${own}.lock`);
  const dirty = git("status", "--porcelain", "-z", "--untracked-files=normal").split("\0").filter(Boolean).map((l) => l.slice(3)).filter((p) => !notCode(p) && !isLedger(p));
  if (dirty.length > 0) throw new Error(`--ledger needs the code committed (a later part must run the same code); changed: ${dirty.slice(0, 5).join(", ")}${dirty.length > 5 ? ", ..." : ""}`);
  const listing = git("ls-files", "-s", "-z").split("\0").filter((l) => l && !notCode(l.slice(l.indexOf("\t") + 1)) && !isLedger(l.slice(l.indexOf("\t") + 1)));
  return { code: createHash("sha256").update(listing.join("\0")).digest("hex").slice(0, 16), commit: git("rev-parse", "HEAD").trim() };
}

export class ChaosLedger {
  readonly schedules = new Map<number, LedgerSchedule>();
  readonly parts: LedgerPart[] = [];

  private constructor(readonly path: string, readonly run: LedgerRun) {}

  /** Schedules of parts that never wrote their end (killed outright): their whole-run checks did not run. */
  readonly unverified: LedgerSchedule[] = [];
  private lockPath: string | null = null;
  /** The commit the ledger's first part ran: check it out to go on from another checkout. */
  firstCommit: string | undefined;

  /**
   * Opens (or starts) the ledger at `path` for `run`; throws, saying what differs, when it belongs to another run.
   * `lock`: hold `<path>.lock` until close(), so that two parts never write one ledger at once.
   */
  static open(path: string, run: LedgerRun, options: { lock?: boolean } = {}): ChaosLedger {
    const ledger = new ChaosLedger(path, run);
    if (options.lock) ledger.lock();
    try {
      ledger.load();
    } catch (err) {
      ledger.close();
      throw err;
    }
    return ledger;
  }

  /** Lets another part open the ledger. */
  close(): void {
    if (this.lockPath !== null) rmSync(this.lockPath, { force: true });
    this.lockPath = null;
  }

  private lock(): void {
    const lockPath = `${this.path}.lock`;
    try {
      closeSync(openSync(lockPath, "wx"));
    } catch {
      const holder = Number(readFileSync(lockPath, "utf8").trim());
      let alive = false;
      try {
        process.kill(holder, 0);
        alive = holder > 0;
      } catch {
        alive = false;
      }
      if (alive) throw new Error(`${this.path}: another part (pid ${holder}) is writing this ledger; wait for it to end`);
      rmSync(lockPath, { force: true });
      closeSync(openSync(lockPath, "wx"));
    }
    writeFileSync(lockPath, `${process.pid}\n`);
    this.lockPath = lockPath;
  }

  private load(): void {
    const { path, run } = this;
    if (!existsSync(path)) {
      this.write({ run });
      this.firstCommit = run.commit;
      return;
    }
    const seen: LedgerSchedule[] = [];
    const lines = readFileSync(path, "utf8").split("\n").filter(Boolean);
    lines.forEach((text, i) => {
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        throw new Error(`${path}:${i + 1}: not a JSON line; the ledger is damaged (a part killed while writing leaves at most its last line cut: remove that line)`);
      }
      if ("run" in line) {
        if (i !== 0) throw new Error(`${path}:${i + 1}: a second run header`);
        this.firstCommit = line.run.commit;
        for (const key of ["seed", "nodes", "steps", "ha", "code"] as const) {
          if (line.run[key] !== run[key]) throw new Error(`${path}: the ledger is of another run (its ${key} is ${JSON.stringify(line.run[key])}, this one's ${JSON.stringify(run[key])}); pick another --ledger file${key === "code" ? " (the code changed since its last part, so it cannot continue)" : ""}`);
        }
      } else if (i === 0) throw new Error(`${path}:1: the ledger does not start with its run header`);
      else if ("schedule" in line) seen.push(line.schedule);
      else if ("endOfPart" in line) this.parts.push(line.endOfPart);
    });
    const ended = new Set(this.parts.map((p) => p.part));
    for (const schedule of seen) {
      // A clean schedule of a part that never ended runs again; a violation it saw stays a violation.
      if (!ended.has(schedule.part) && schedule.violations.length === 0) this.unverified.push(schedule);
      // A seed held twice keeps the record with violations: a clean rerun does not wash one out.
      else if ((this.schedules.get(schedule.seed)?.violations.length ?? 0) === 0) this.schedules.set(schedule.seed, schedule);
    }
  }

  /** The number the next part gets (1 for the first); parts that never ended count too. */
  get nextPart(): number {
    return Math.max(0, ...this.parts.map((p) => p.part), ...[...this.schedules.values(), ...this.unverified].map((s) => s.part)) + 1;
  }

  /** Records a schedule as it ends (a copy: the runner may still add the run's own checks to its result). */
  addSchedule(schedule: LedgerSchedule): void {
    const copy = { ...schedule, violations: [...schedule.violations] };
    this.schedules.set(copy.seed, copy);
    this.write({ schedule: copy });
  }

  endPart(part: LedgerPart): void {
    this.parts.push(part);
    this.write({ endOfPart: part });
  }

  /** Every violation in the ledger: the schedules' and the parts' whole-run checks. */
  get violations(): number {
    return [...this.schedules.values()].reduce((n, s) => n + s.violations.length, 0) + this.parts.reduce((n, p) => n + p.violations.length, 0);
  }


  private write(line: Line): void {
    // One append per line: a part killed mid-run loses at most the line being written.
    appendFileSync(this.path, `${JSON.stringify(line)}\n`);
  }
}

/** The contiguous seed ranges of [first, first + count) the ledger does not hold, as [first index, count] pairs. */
export function remainingRanges(first: number, count: number, done: (index: number) => boolean): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (let i = first; i < first + count; i++) {
    if (done(i)) continue;
    const last = ranges.at(-1);
    if (last && last[0] + last[1] === i) last[1]++;
    else ranges.push([i, 1]);
  }
  return ranges;
}
