// Coordinator start-up benchmark: the CPU a coordinator process spends from spawn until it serves (first start on an
// empty state dir, then restarts on that state, as after a crash or an upgrade), from a build of this tree and, with
// --before <rev>, of that revision in the same rounds. `--write` updates BENCHMARKS.md.
// Usage: npm run bench:start -- [--runs 5] [--before <git rev>] [--write]
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, platform, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CoordinatorProcess } from "../../test/support/coordinator-process.js";
import { buildAgent, checkoutRevision } from "../agent-footprint/footprint-cluster.js";
import { cpuMsOf, findPid, memoryOf } from "../fanout/proc-stats.js";
import { writeSection } from "../render/benchmarks-md.js";
import { median, type Measurement } from "../render/measure.js";

const BENCHMARKS_MD = fileURLToPath(new URL("../../BENCHMARKS.md", import.meta.url));
const { values: args } = parseArgs({ options: { runs: { type: "string", default: "5" }, before: { type: "string", default: "" }, write: { type: "boolean", default: false } } });
const runs = Number(args.runs);
if (!(runs > 0)) throw new Error("usage: main.ts [--runs N] [--before <git rev>] [--write]");
const loadAtStart = loadavg()[0]!;

interface Sample {
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly rssMiB: number;
}

/** One start of a coordinator on `stateDir` from the build in `dist`: CPU and wall time until it serves. */
async function startOnce(dist: string, stateDir: string): Promise<Sample> {
  process.env.NK_DIST_DIR = dist;
  const c = new CoordinatorProcess({ stateDir, logFile: join(stateDir, "..", "coordinator.log"), config: { logLevel: "info" } });
  const started = performance.now();
  await c.start(120_000);
  const wallMs = performance.now() - started;
  const pid = await findPid(c.configPath);
  const sample = { cpuMs: await cpuMsOf(pid), wallMs, rssMiB: (await memoryOf(pid)).rssMiB };
  await c.stop();
  return sample;
}

function row(name: string, samples: readonly Sample[], pick: (s: Sample) => number): Measurement {
  const values = samples.map(pick);
  return { name, runsMs: values, medianMs: median(values), minMs: Math.min(...values), maxMs: Math.max(...values), rssMiB: median(samples.map((s) => s.rssMiB)) };
}

const work = await mkdtemp(join(tmpdir(), "nk-start-bench-"));
try {
  const variants: Array<{ label: string; dist: string }> = [];
  if (args.before) {
    const tree = join(work, "before-tree");
    await checkoutRevision(args.before, tree);
    await buildAgent(join(work, "before-dist"), tree);
    variants.push({ label: `before (${args.before})`, dist: join(work, "before-dist") });
  }
  await buildAgent(join(work, "dist"));
  variants.push({ label: "this tree", dist: join(work, "dist") });

  // Rounds alternate the variants, so a change in the machine's load hits both alike.
  const fresh = new Map<string, Sample[]>(variants.map((v) => [v.label, []]));
  const restart = new Map<string, Sample[]>(variants.map((v) => [v.label, []]));
  for (let r = 0; r < runs; r++) {
    for (const [i, v] of variants.entries()) {
      const stateDir = join(work, `v${i}-${r}`, "state");
      fresh.get(v.label)!.push(await startOnce(v.dist, stateDir));
      restart.get(v.label)!.push(await startOnce(v.dist, stateDir));
    }
  }
  const results: Measurement[] = variants.flatMap((v) => [
    row(`first start, CPU: ${v.label}`, fresh.get(v.label)!, (s) => s.cpuMs),
    row(`restart, CPU: ${v.label}`, restart.get(v.label)!, (s) => s.cpuMs),
    row(`restart, spawn → serving (wall): ${v.label}`, restart.get(v.label)!, (s) => s.wallMs),
  ]);
  for (const m of results) console.log(`${m.name}: median ${m.medianMs.toFixed(0)} ms (${m.minMs.toFixed(0)}–${m.maxMs.toFixed(0)}), RSS ${m.rssMiB.toFixed(0)} MiB`);
  const cpu = cpus();
  const machine = `machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? "unknown CPU"}), Node ${process.version}, ${platform()}, load average ${loadAtStart.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at the end (shared machine)`;
  console.log(machine);
  if (args.write) {
    await writeSection(BENCHMARKS_MD, {
      id: "coordinator-start",
      title: "Coordinator start-up (bench/coordinator-start)",
      command: `npm run bench:start -- --runs ${runs}${args.before ? ` --before ${args.before}` : ""} --write`,
      machine,
      date: new Date().toISOString().slice(0, 10),
      results,
      notes: [
        `${runs} rounds; each round starts every variant on an empty state dir (CA, server certificate and repo made), then once more on that state (a restart); CPU is the process's user + system time when it serves (the file store, no Kubernetes), read from /proc. The RSS column is the coordinator's when it serves.`,
      ],
    });
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
