// Rollout benchmark: N simulated nodes (one agent process each) reboot through the real coordinator, one lease at
// a time; measures makespan against the ideal (sum of disruption windows / parallelism) and the grant latency after
// a health recovery. `--write` updates BENCHMARKS.md.
import { cpus, loadavg, platform } from "node:os";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import type { GetStatusResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { ApplyPhase, LeaseState } from "../../shared/src/proto/gen/nk/v1/common.js";
import { dropIpServernameWarning } from "../../shared/src/wire/index.js";
import { disruptionWindows } from "../../test/support/disruption-windows.js";
import { DISK_CHECK, RolloutCluster } from "./rollout-cluster.js";
import { gaps, ideal, makespan, median, percentile, type RunFigures, type Stamp } from "./rollout-figures.js";
import { writeRolloutSection, type RolloutReport } from "./rollout-md.js";

const BENCHMARKS_MD = fileURLToPath(new URL("../../BENCHMARKS.md", import.meta.url));

function options() {
  const { values } = parseArgs({
    options: {
      nodes: { type: "string", default: "50" },
      runs: { type: "string", default: "5" },
      "time-scale": { type: "string", default: "0.05" },
      "reboot-delay-ms": { type: "string", default: "300" },
      "report-interval": { type: "string", default: "1" },
      "max-unavailable": { type: "string", default: "1" },
      store: { type: "string", default: "file" },
      write: { type: "boolean", default: false },
    },
  });
  if (values.store !== "file" && values.store !== "etcd") throw new Error(`--store: expected file or etcd, found ${values.store}`);
  return {
    nodes: Number(values.nodes),
    runs: Number(values.runs),
    timeScale: Number(values["time-scale"]),
    rebootDelayMs: Number(values["reboot-delay-ms"]),
    reportIntervalSeconds: Number(values["report-interval"]),
    maxUnavailable: Number(values["max-unavailable"]),
    maxUnavailableServers: 1,
    store: values.store as "file" | "etcd",
    write: values.write === true,
  };
}

const say = (msg: string): void => void process.stderr.write(`[bench:rollout] ${msg}\n`);

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function converged(c: RolloutCluster, timeoutMs: number): Promise<void> {
  await until(
    async () => {
      const s = await c.getStatus();
      const done = s.nodes.length === c.names.length && s.leases.length === 0 && s.nodes.every((n) => n.desiredSha256 && n.appliedSha256 === n.desiredSha256 && n.connected && n.phase === ApplyPhase.APPLY_PHASE_CONFIRMED);
      return done ? true : undefined;
    },
    timeoutMs,
    "every node to converge",
  );
}

/** One measured rollout: a node unhealthy, the push queues everyone, the node recovers, all reboot. */
async function measuredRun(c: RolloutCluster, run: number, parallelism: number): Promise<RunFigures> {
  const sick = c.names[c.names.length - 1]!;
  const startMs = Date.now();
  const afterSeq = Math.max(0, ...(await c.events()).map((e) => e.seq));
  const logFrom = c.log.length;

  await c.setCommand(sick, DISK_CHECK, { stdout: "", exitCode: 1 });
  await until(async () => ((await c.getStatus()).nodes.find((n) => n.name === sick)?.health?.healthy === false ? true : undefined), 30_000, `${sick} to turn unhealthy`);
  await c.push(`nixos-${26 + run}.05`);
  let last: GetStatusResponse | undefined;
  await until(async () => ((last = await c.getStatus()).leases.filter((l) => l.state === LeaseState.LEASE_STATE_QUEUED).length === c.names.length ? true : undefined), 120_000, "every node to queue").catch((err: Error) => {
    const queued = new Set(last?.leases.map((l) => l.node));
    const missing = last?.nodes.filter((n) => !queued.has(n.name)).map((n) => ({ name: n.name, phase: ApplyPhase[n.phase], connected: n.connected, error: n.lastError, applied: n.appliedSha256.slice(0, 8), desired: n.desiredSha256.slice(0, 8) }));
    throw new Error(`${err.message}: not queued ${JSON.stringify(missing)}; leases ${JSON.stringify(last?.leases.map((l) => [l.node, LeaseState[l.state], l.waitingReason]).slice(0, 5))}`);
  });
  const recoveredAt = Date.now();
  await c.setCommand(sick, DISK_CHECK, { stdout: "" });
  await converged(c, 60 * 60_000);

  const windows = disruptionWindows(c.kube).filter((w) => w.fromMs >= startMs);
  if (windows.length !== c.names.length || windows.some((w) => !Number.isFinite(w.toMs))) throw new Error(`expected ${c.names.length} closed disruption windows, got ${windows.length}`);
  const log = c.log.slice(logFrom);
  const events = await c.events(afterSeq);
  const stamp = (records: ReadonlyArray<{ node?: string; at: number }>): Stamp[] => records.filter((r) => r.node).map((r) => ({ node: r.node!, atMs: r.at }));
  const grants = log.filter((r) => r.msg === "lease granted");
  const recovery = grants[0];
  if (!recovery) throw new Error("no grant in the coordinator log");
  const split = gaps(windows, {
    released: stamp(log.filter((r) => r.msg === "lease released").map((r) => ({ node: r.node, at: r.time }))),
    granted: stamp(grants.map((r) => ({ node: r.node, at: r.time }))),
    draining: stamp(events.filter((e) => e.kind === "lease-phase" && e.message.startsWith("granted → draining")).map((e) => ({ node: e.node, at: e.timeMs }))),
  });
  const span = makespan(windows);
  const best = ideal(windows, parallelism);
  return {
    nodes: c.names.length,
    parallelism,
    makespanMs: span,
    idealMs: best,
    overhead: span / best - 1,
    windowMedianMs: median(windows.map((w) => w.toMs - w.fromMs)),
    gaps: split,
    releaseGrantLatencyMs: grants.filter((r) => r.trigger === "release").map((r) => r.latencyMs ?? NaN),
    recoveryGrantLatencyMs: recovery.latencyMs ?? NaN,
    recoveryTrigger: recovery.trigger ?? "?",
    recoveryToCordonMs: Math.min(...windows.map((w) => w.fromMs)) - recoveredAt,
  };
}

function describe(f: RunFigures): string {
  const g = f.gaps.map((x) => x.totalMs);
  const part = (k: "releaseMs" | "grantMs" | "announceMs" | "cordonMs"): string => median(f.gaps.map((x) => x[k])).toFixed(0);
  return `makespan ${(f.makespanMs / 1000).toFixed(1)} s, ideal ${(f.idealMs / 1000).toFixed(1)} s, overhead ${(f.overhead * 100).toFixed(2)} %, window median ${f.windowMedianMs.toFixed(0)} ms, gap median ${median(g).toFixed(0)} ms (p90 ${percentile(g, 90).toFixed(0)}, max ${Math.max(...g).toFixed(0)}; uncordon→release ${part("releaseMs")}, →grant ${part("grantMs")}, →draining ${part("announceMs")}, →cordon ${part("cordonMs")}), recovery grant ${f.recoveryGrantLatencyMs.toFixed(1)} ms (${f.recoveryTrigger}), recovery → cordon ${f.recoveryToCordonMs} ms`;
}

async function main(): Promise<void> {
  const o = options();
  dropIpServernameWarning();
  // The machine may be shared: the load when the run started goes next to the figures.
  const loadAtStart = loadavg()[0]!;
  const cluster = await RolloutCluster.start({ ...o });
  try {
    say(`${o.nodes} nodes, one agent process each; installing (every node reboots into its first nk generation)`);
    const setupStart = Date.now();
    await cluster.push("nixos-24.11", { maxUnavailable: 10, maxUnavailableServers: 1 });
    await cluster.startAgents();
    await converged(cluster, 30 * 60_000);
    const rss = await cluster.agentRssMiB();
    say(`installed in ${((Date.now() - setupStart) / 1000).toFixed(0)} s; agent RSS median ${median(rss).toFixed(0)} MiB, total ${(rss.reduce((a, b) => a + b, 0) / 1024).toFixed(2)} GiB`);
    const runs: RunFigures[] = [];
    for (let i = 0; i < o.runs; i++) {
      const f = await measuredRun(cluster, i, o.maxUnavailable);
      runs.push(f);
      say(`run ${i + 1}/${o.runs}: ${describe(f)}`);
    }
    const report: RolloutReport = {
      options: o,
      runs,
      agentRssMiB: rss,
      machine: `machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? "unknown cpu"}), Node ${process.version}, ${platform()}, load average ${loadAtStart.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at the end (shared machine)`,
      date: new Date().toISOString().slice(0, 10),
    };
    if (o.write) {
      await writeRolloutSection(BENCHMARKS_MD, report);
      say(`wrote the rollout section of ${BENCHMARKS_MD}`);
    }
    process.stdout.write(`${JSON.stringify({ runs: runs.map(({ gaps: g, releaseGrantLatencyMs: l, ...rest }) => ({ ...rest, gapMedianMs: median(g.map((x) => x.totalMs)), releaseGrantLatencyMedianMs: median(l) })) }, null, 1)}\n`);
  } finally {
    await cluster.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
