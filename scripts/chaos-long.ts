// The long chaos run (not in CI): the scripted regressions, then many seeded schedules on simulated clusters
// (3 servers + 1 agent node, max_unavailable 2, servers 1); prints `chaos: N schedules, V violations`, exits 1 on
// any violation and keeps the failing cluster's logs and state for inspection.
// Usage: npm run chaos:long -- [--schedules 1000] [--seed N] [--steps 8] [--nodes 3|4] [--workers 4]
//   [--minutes M] [--stop-on-violation] [--skip-scripted] [--verbose] [--from-sources] [--ha] [--log-level debug]
//   [--ledger FILE]; CHAOS_TRACE=1 prints every status poll while settling.
// --ledger (with --seed): each schedule's outcome is appended to FILE, and a run started again with the same file, seed,
// nodes, steps and committed code runs only the seeds it does not hold: a run too long for one sitting goes in parts.
// --ha: each cluster runs three coordinators on a real three-member etcd (/usr/bin/etcd) and the schedules add leader
// kills, a coordinator cut off from etcd, etcd member kills, whole-etcd restarts and racing pushes (no scripted ones).
// A failing schedule prints its seed and the command that replays it alone. `kill <pid>` (SIGTERM) lets the schedules in
// progress finish and prints the summary of what ran; a second SIGTERM, or Ctrl-C, ends the run at once and leaves its
// clusters' processes behind (find them by their work dirs, /tmp/nk-chaos-*).
// Run time: a schedule takes ~5-35 s (mean ~13 s), most of it waiting for agents to reconnect after outages and
// for health deadlines; --workers runs that many independent clusters side by side (on 2 cores, 4 workers run
// about 15 schedules a minute at a load average near 5, 5 workers about 16 at a load near 7: 1,003 took 63 minutes),
// each on its own slice of the seeds (schedule i of the run always has seed + i, whichever worker runs it).
import { rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildDaemons } from "../test/support/daemon-build.js";
import { ChaosLedger, codeIdentity, remainingRanges } from "../test/chaos/chaos-ledger.js";
import { CHAOS_NODES, SCRIPTED_SCHEDULES, runChaos, summaryLine, type ChaosRunResult } from "../test/chaos/index.js";

const { values } = parseArgs({
  options: {
    schedules: { type: "string", default: "1000" },
    seed: { type: "string" },
    steps: { type: "string", default: "8" },
    nodes: { type: "string", default: "4" },
    workers: { type: "string", default: "1" },
    /** Stop starting new schedules after this many minutes (the summary still comes out). */
    minutes: { type: "string" },
    "stop-on-violation": { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
    "skip-scripted": { type: "boolean", default: false },
    /** Run the daemons from the sources through tsx instead of a build made for this run. */
    "from-sources": { type: "boolean", default: false },
    ha: { type: "boolean", default: false },
    /** The daemons' log level, e.g. debug when replaying a failing seed. */
    "log-level": { type: "string" },
    /** A file that records every schedule's outcome, so that the run can go on later in another part. */
    ledger: { type: "string" },
  },
});

const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : Math.floor(Math.random() * 2 ** 32);
const total = Number(values.schedules);
const workers = Math.max(1, Math.min(Number(values.workers), total || 1));
const nodeCount = Math.min(Math.max(Number(values.nodes), 3), CHAOS_NODES.length);
const nodes = CHAOS_NODES.slice(0, nodeCount);
// With the agent node n4 in the cluster, two nodes may be down at once, but never two servers.
// With five nodes two may go at once, but the agents form a pool of which one at a time: the recorders check both.
const limits = nodeCount > 3 ? { total: 2, servers: 1, pools: [{ name: "workers", selector: { pool: "workers" }, nodes: ["n4", "n5"], max: 1 }] } : { total: 1, servers: 1 };
const line = (text: string): void => void process.stdout.write(`${text}\n`);
if (values.ledger !== undefined && (values.seed === undefined || !values["skip-scripted"] && !values.ha)) {
  line("chaos: --ledger needs --seed (a later part must run the same seeds) and seeded schedules only (--ha or --skip-scripted)");
  process.exit(2);
}
const ledger = values.ledger === undefined ? null : ChaosLedger.open(values.ledger, { seed, nodes: nodeCount, steps: Number(values.steps), ha: values.ha, ...codeIdentity(join(import.meta.dirname, ".."), values.ledger) }, { lock: true });
process.on("exit", () => ledger?.close());
const part = ledger?.nextPart ?? 1;
if (ledger) line(`chaos: ledger ${ledger.path} (code ${ledger.run.code}${ledger.firstCommit ? `, first part at commit ${ledger.firstCommit.slice(0, 12)}` : ""}): ${ledger.schedules.size} schedule(s) in ${part - 1} part(s) so far; this is part ${part}`);
if (ledger && ledger.unverified.length > 0) line(`chaos: ${ledger.unverified.length} clean schedule(s) of part(s) that never ended (killed outright, so their whole-run checks never ran) run again`);
// git must trust the coordinator's CA given per command (http.sslCAInfo), which a machine-wide GIT_SSL_CAINFO
// would silently override (the test suite drops it the same way, in test/support/test-env.ts).
delete process.env.GIT_SSL_CAINFO;

// The daemons run from a build of their own: it starts them faster (no tsx on every agent restart, ~0.35 s of CPU
// each), and edits to the sources during a run that lasts an hour or more do not change what is under test.
const buildDir = join(import.meta.dirname, "..", ".chaos-build", `${seed}-${process.pid}`);
if (!values["from-sources"]) {
  await buildDaemons(buildDir);
  process.env.NK_DIST_DIR = buildDir;
  process.on("exit", () => rmSync(buildDir, { recursive: true, force: true }));
  process.once("SIGINT", () => process.exit(130));
}

const stop = new AbortController();
process.on("SIGTERM", () => {
  if (stop.signal.aborted) process.exit(143);
  stop.abort();
  line("chaos: SIGTERM: no new schedules; finishing the ones in progress (SIGTERM again to quit at once)");
});

const ha = values.ha;
line(`chaos: seed ${seed}, ${total} ${ha ? "HA " : ""}schedules of ${values.steps} steps on ${workers} cluster(s) of ${nodeCount} nodes${ha ? " (3 coordinators on a 3-member etcd each)" : ""}`);
const started = Date.now();
// Worker w runs schedules [first, first + count) of the run: seeds seed + first ... so replay commands stay exact.
const slices = Array.from({ length: workers }, (_, w) => {
  const first = Math.floor((total * w) / workers);
  return { w, first, count: Math.floor((total * (w + 1)) / workers) - first };
});
const partStarted = new Date();
// Worker w runs its slice's seeds the ledger does not hold yet, one cluster per contiguous range.
// A cluster that fails before its first schedule (a process that cannot start) is set up again, this often in all:
// nothing of it was checked, so nothing is lost. One that fails later ends the worker (its whole-run checks never ran).
const SETUP_ATTEMPTS = 3;
const setupRetries: string[] = [];
const runWorker = async (w: number, first: number, count: number): Promise<ChaosRunResult[]> => {
  const out: ChaosRunResult[] = [];
  for (let attempt = 1; ; attempt++) {
    let ran = 0;
    try {
      for (const [from, n] of remainingRanges(first, count, (i) => ledger?.schedules.has((seed + i) >>> 0) ?? false)) {
        if (stop.signal.aborted || (values.minutes !== undefined && Date.now() - started > Number(values.minutes) * 60_000)) break;
        ran = 0;
        const r = await runChaos({
          seed: (seed + from) >>> 0,
          schedules: n,
          steps: Number(values.steps),
          nodes,
          limits,
          log: (text) => line(workers > 1 ? `[w${w}] ${text}` : text),
          stopOnViolation: values["stop-on-violation"],
          ...(values.minutes !== undefined && { budgetMs: Number(values.minutes) * 60_000 - (Date.now() - started) }),
          verbose: values.verbose,
          stop: stop.signal,
          scripted: values["skip-scripted"] || w > 0 || ha ? [] : SCRIPTED_SCHEDULES,
          ha,
          ...(values["log-level"] !== undefined && { logLevel: values["log-level"] }),
          onResult: (s) => {
            ran++;
            if (ledger && s.seed !== null) ledger.addSchedule({ seed: s.seed, violations: s.violations, ms: s.durationMs, actions: s.actions, ...(s.effects !== undefined && { effects: s.effects }), part });
          },
        });
        out.push(r);
        if (r.violations > 0 && values["stop-on-violation"]) break;
      }
      return out;
    } catch (err) {
      const why = (err instanceof Error ? err.message : String(err)).split("\n")[0]!;
      if (ran > 0 || attempt >= SETUP_ATTEMPTS || stop.signal.aborted) throw err;
      setupRetries.push(`worker ${w}: ${why}`);
      line(`${workers > 1 ? `[w${w}] ` : ""}chaos: the cluster failed before its first schedule (${why}); setting up a new one (attempt ${attempt + 1} of ${SETUP_ATTEMPTS})`);
    }
  }
};
const runs = await Promise.allSettled(slices.map(({ w, first, count }) => runWorker(w, first, count)));

const done = runs.flatMap((r) => (r.status === "fulfilled" ? r.value : []));
const aborted = runs.flatMap((r, w) => (r.status === "rejected" ? [`worker ${w}: ${(r.reason as Error).stack ?? String(r.reason)}`] : []));
const merged: ChaosRunResult = {
  seed,
  results: done.flatMap((r) => r.results),
  violations: done.reduce((n, r) => n + r.violations, 0),
  journalGaps: done.flatMap((r) => r.journalGaps),
  grants: done.reduce((n, r) => n + r.grants, 0),
  peakLeases: Math.max(0, ...done.map((r) => r.peakLeases)),
  stats: {},
  workDir: done.map((r) => r.workDir).join(", "),
  setupMs: Math.max(0, ...done.map((r) => r.setupMs)),
  runViolations: done.flatMap((r) => r.runViolations),
};
for (const r of done) for (const [k, v] of Object.entries(r.stats)) merged.stats[k] = (merged.stats[k] ?? 0) + v;
const durations = merged.results.map((r) => r.durationMs).sort((a, b) => a - b);
const median = durations.length > 0 ? durations[Math.floor(durations.length / 2)]! : 0;

line(`chaos: ${Object.entries(merged.stats).map(([k, v]) => `${v} ${k}`).join(", ")}`);
line(`chaos: ${merged.grants} leases granted, at most ${merged.peakLeases} open at once in one cluster (limit ${limits.total}); ${merged.journalGaps.length} journal event(s) lost to kill -9 and reconciled from state.json`);
for (const gap of merged.journalGaps) line(`  ${gap}`);
for (const r of merged.results.filter((x) => x.violations.length > 0)) {
  line(`chaos: violation(s) in ${r.label}${r.seed === null ? "" : `, replay with --seed ${r.seed} --schedules 1 --skip-scripted --nodes ${nodeCount} --steps ${values.steps}${ha ? " --ha" : ""}`}`);
}
for (const a of aborted) line(`chaos: run aborted: ${a}`);
for (const r of setupRetries) line(`chaos: a cluster was set up again: ${r}`);
line(`chaos: ${((Date.now() - started) / 60_000).toFixed(1)} min, median schedule ${(median / 1000).toFixed(1)} s (seed ${seed})`);
line(summaryLine(merged, ha));
// The ledger's schedules of this run's seeds (a ledger of a longer run may hold more).
const heldInRun = ledger ? [...ledger.schedules.keys()].filter((k) => ((k - seed) >>> 0) < total).length : 0;
if (ledger) {
  ledger.endPart({
    part,
    startedAt: partStarted.toISOString(),
    minutes: Number(((Date.now() - started) / 60_000).toFixed(1)),
    workers,
    violations: merged.runViolations,
    stats: merged.stats,
    grants: merged.grants,
    peakLeases: merged.peakLeases,
  });
  const minutes = ledger.parts.reduce((m, p) => m + p.minutes, 0);
  line(`chaos: ledger ${ledger.path}: ${heldInRun} of ${total} schedules in ${ledger.parts.length} part(s), ${minutes.toFixed(1)} min in all, code ${ledger.run.code}, seed ${seed}`);
  line(`chaos: ${ledger.schedules.size} ${ha ? "HA " : ""}schedules, ${ledger.violations} violations (whole ledger)`);
}
const remaining = total - (ledger ? heldInRun : merged.results.length);
const cutShort = values.minutes === undefined && !stop.signal.aborted && remaining > 0;
process.exitCode = merged.violations > 0 || (ledger?.violations ?? 0) > 0 || aborted.length > 0 || cutShort ? 1 : 0;
