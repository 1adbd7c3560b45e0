// Writes the rollout benchmark's section into BENCHMARKS.md between its own markers, leaving other sections alone.
import { readFile } from "node:fs/promises";
import { median, percentile, type RunFigures } from "./rollout-figures.js";
import { writeFileAtomic } from "../../shared/src/fs/index.js";

export interface RolloutReport {
  readonly options: { nodes: number; runs: number; timeScale: number; rebootDelayMs: number; reportIntervalSeconds: number; maxUnavailable: number; store?: "file" | "etcd" };
  readonly runs: readonly RunFigures[];
  readonly agentRssMiB: readonly number[];
  readonly machine: string;
  readonly date: string;
  /** Extra lines for the notes (findings of the run, in words). */
  readonly notes?: readonly string[];
}

const sectionId = (store: "file" | "etcd" | undefined): string => (store === "etcd" ? "rollout-etcd" : "rollout");
const GAP_NOTE = "The gap is mostly the next holder's round trip: its grant reaches the agent over the lease stream, the agent saves its state (fsync) before it announces draining, and the coordinator records the phase (fsync) before it cordons. It does not grow with the window: on real machines, whose reboots take minutes, the same ~40 ms per node is far below 1 %.";
const s1 = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const ms0 = (ms: number): string => `${ms.toFixed(0)} ms`;
const ms1 = (ms: number): string => `${ms.toFixed(1)} ms`;
const pct = (x: number): string => `${(x * 100).toFixed(2)} %`;

function row(name: string, values: readonly number[], fmt: (v: number) => string, goal: string, met?: boolean): string {
  const verdict = met === undefined ? goal : `${goal} ${met ? "(met)" : "(**missed**)"}`;
  return `| ${name} | ${fmt(median(values))} | ${fmt(Math.min(...values))} – ${fmt(Math.max(...values))} | ${verdict} |`;
}

export function rolloutMarkdown(r: RolloutReport): string {
  const o = r.options;
  const etcd = o.store === "etcd";
  const ID = sectionId(o.store);
  const overheads = r.runs.map((f) => f.overhead);
  const recovery = r.runs.map((f) => f.recoveryGrantLatencyMs);
  const releaseGrants = r.runs.flatMap((f) => f.releaseGrantLatencyMs);
  const gaps = r.runs.flatMap((f) => f.gaps);
  const part = (k: "releaseMs" | "grantMs" | "announceMs" | "cordonMs"): string => ms0(median(gaps.map((g) => g[k])));
  const totalRss = r.agentRssMiB.reduce((a, b) => a + b, 0);
  return [
    `<!-- bench:${ID}:start -->`,
    etcd ? "## Rolling reboot, etcd store (bench/rollout --store etcd)" : "## Rolling reboot (bench/rollout)",
    "",
    `Reproduce: \`npm run bench:rollout -- ${etcd ? "--store etcd " : ""}--nodes ${o.nodes} --runs ${r.runs.length} --write\` · ${r.date} · ${r.machine}`,
    "",
    `${o.nodes} simulated nodes (3 servers), one real agent process each on SimSystem (time scale ${o.timeScale}: a reboot is ${ms0(5000 * o.timeScale)} of shutdown, then the supervisor starts the agent again after ${ms0(o.rebootDelayMs)}), the real coordinator (in-process${etcd ? "; leases, fencing tokens, node records and events in a real single-member etcd on 127.0.0.1, the inventory from an upstream repo announced by webhook" : ", file store"}) with the fake kube-apiserver, agents reporting every ${o.reportIntervalSeconds} s. Each run pushes a new nixpkgs pin, which reboots every node, with max_unavailable ${o.maxUnavailable}. Medians of ${r.runs.length} runs, min and max in brackets.`,
    "",
    "| Measure | Median | Min – max | Goal |",
    "| --- | --- | --- | --- |",
    row("makespan (first cordon → last uncordon)", r.runs.map((f) => f.makespanMs), s1, "-"),
    row(`ideal (sum of cordon → uncordon windows / ${o.maxUnavailable})`, r.runs.map((f) => f.idealMs), s1, "-"),
    row("overhead (makespan / ideal − 1)", overheads, pct, "< 5 %", median(overheads) < 0.05),
    row("one node's disruption window (cordon → uncordon)", r.runs.map((f) => f.windowMedianMs), ms0, "-"),
    row("gap between one uncordon and the next cordon", r.runs.map((f) => median(f.gaps.map((g) => g.totalMs))), ms0, "-"),
    row("grant latency after a health recovery (onGrant latencyMs, trigger health)", recovery, ms1, "< 100 ms", median(recovery) < 100),
    row("grant latency after a release (trigger release, all grants of all runs)", releaseGrants, ms1, "-"),
    row("health fixed on the node → first cordon (includes the agent's next report)", r.runs.map((f) => f.recoveryToCordonMs), ms0, "-"),
    "",
    `- Where a gap goes (medians over ${gaps.length} gaps): uncordon → release logged ${part("releaseMs")}, release → next grant ${part("grantMs")}, grant → holder announces draining ${part("announceMs")}, draining → cordon ${part("cordonMs")}; p90 of the whole gap ${ms0(percentile(gaps.map((g) => g.totalMs), 90))}, max ${ms0(Math.max(...gaps.map((g) => g.totalMs)))}.`,
    `- ${GAP_NOTE}`,
    `- Agent processes: ${o.nodes} at once, RSS median ${ms0(median(r.agentRssMiB)).replace(" ms", " MiB")} each, ${(totalRss / 1024).toFixed(1)} GiB in all (sources run through tsx).`,
    `- Health recovery: the last node's disk check fails before the push, so all ${o.nodes} requests queue behind "node unhealthy"; the check is then fixed on the node, its agent reports it, and the grant follows. Latency is the coordinator's own figure from the health change to the grant being durable (${etcd ? "the etcd transaction committed" : "state fsynced"}); the end-to-end row adds the agent's report interval and the drain start.`,
    ...(r.notes ?? []).map((n) => `- ${n}`),
    `<!-- bench:${ID}:end -->`,
  ].join("\n");
}

export async function writeRolloutSection(path: string, r: RolloutReport): Promise<void> {
  const ID = sectionId(r.options.store);
  const text = await readFile(path, "utf8");
  const block = rolloutMarkdown(r);
  const start = text.indexOf(`<!-- bench:${ID}:start -->`);
  const endMarker = `<!-- bench:${ID}:end -->`;
  const end = text.indexOf(endMarker);
  const next = start >= 0 && end > start ? `${text.slice(0, start)}${block}${text.slice(end + endMarker.length)}` : `${text.trimEnd()}\n\n${block}\n`;
  await writeFileAtomic(path, next, 0o644, { durable: false });
}
