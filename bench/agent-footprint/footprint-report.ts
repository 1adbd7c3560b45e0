// Turns the footprint runs into console lines and the BENCHMARKS.md section (between its own markers).
import { readFile } from "node:fs/promises";
import type { ModuleCost } from "./module-cost.js";
import { median, type WindowResult } from "./proc-sampler.js";
import { writeFileAtomic } from "../../shared/src/fs/index.js";

export const SECTION_ID = "agent-footprint";
/** Issue 24's goals, for the packaged agent (the build started with the NixOS package's node flags). */
export const RSS_GOAL_BYTES = 55 * 2 ** 20;
export const CPU_GOAL_PERCENT = 0.2;
/** The rows the goals apply to; the others show where the memory goes. */
const GOAL_MODES = new Set(["packaged"]);

export interface ModeResult {
  readonly mode: string;
  readonly how: string;
  readonly runs: readonly WindowResult[];
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const pct = (p: number) => `${p.toFixed(2)} %`;

export function summarize(r: ModeResult) {
  const rss = r.runs.map((w) => w.medianRssBytes);
  const cpu = r.runs.map((w) => w.cpuPercent);
  return {
    rssMedian: median(rss),
    rssMin: Math.min(...rss),
    rssMax: Math.max(...rss),
    rssPeak: Math.max(...r.runs.map((w) => w.maxRssBytes)),
    anonMedian: median(r.runs.map((w) => w.medianAnonBytes)),
    fileMedian: median(r.runs.map((w) => w.medianFileBytes)),
    cpuMedian: median(cpu),
    cpuMin: Math.min(...cpu),
    cpuMax: Math.max(...cpu),
    childCpuMedian: median(r.runs.map((w) => w.childCpuPercent)),
  };
}

export function consoleLines(results: readonly ModeResult[], modules: readonly ModuleCost[]): string[] {
  const lines = results.map((r) => {
    const s = summarize(r);
    return `${r.mode.padEnd(6)} RSS median ${mib(s.rssMedian)} [${mib(s.rssMin)} – ${mib(s.rssMax)}] (anon ${mib(s.anonMedian)}, file ${mib(s.fileMedian)}), peak ${mib(s.rssPeak)}; idle CPU ${pct(s.cpuMedian)} [${pct(s.cpuMin)} – ${pct(s.cpuMax)}], children ${pct(s.childCpuMedian)}`;
  });
  return [...lines, ...modules.map((m) => `  ${m.name.padEnd(66)} ${m.rssMiB.toFixed(1)} MiB (anon ${m.anonMiB.toFixed(1)} MiB)`)];
}

export interface SectionInput {
  readonly command: string;
  readonly date: string;
  readonly machine: string;
  readonly seconds: number;
  readonly results: readonly ModeResult[];
  readonly modules: readonly ModuleCost[];
  readonly notes: readonly string[];
}

export function sectionMarkdown(s: SectionInput): string {
  const rows = s.results.map((r) => {
    const m = summarize(r);
    const goal = GOAL_MODES.has(r.mode);
    const rssGoal = goal ? `< 55 MiB (${m.rssMedian < RSS_GOAL_BYTES ? "met" : "**missed**"})` : "-";
    const cpuGoal = goal ? `≤ ${CPU_GOAL_PERCENT} % (${m.cpuMedian <= CPU_GOAL_PERCENT ? "met" : "**missed**"})` : "-";
    return `| ${r.how} | ${mib(m.rssMedian)} | ${mib(m.rssMin)} – ${mib(m.rssMax)} | ${mib(m.anonMedian)} / ${mib(m.fileMedian)} | ${rssGoal} | ${pct(m.cpuMedian)} | ${pct(m.cpuMin)} – ${pct(m.cpuMax)} | ${cpuGoal} |`;
  });
  const base = s.modules[0];
  const over = (v: number, b: number | undefined) => (b === undefined ? "-" : `+${(v - b).toFixed(1)} MiB`);
  const moduleRows = s.modules.map((m, i) => `| ${m.name} | ${m.rssMiB.toFixed(1)} MiB | ${m.anonMiB.toFixed(1)} MiB | ${i === 0 ? "-" : over(m.rssMiB, base?.rssMiB)} |`);
  return [
    `<!-- bench:${SECTION_ID}:start -->`,
    "## Agent footprint, connected and idle (bench/agent-footprint)",
    "",
    `Reproduce: \`${s.command}\` · ${s.date} · ${s.machine}`,
    "",
    `One agent process on SimSystem, connected to a coordinator process, idle after converging; sampled once a second for ${s.seconds} s per run, ${s.results[0]?.runs.length ?? 0} runs per mode (a fresh agent each run). RSS is VmRSS (/proc/<pid>/status), median of the samples, then median of the runs; idle CPU is utime+stime (/proc/<pid>/stat) over wall time, in % of one core.`,
    "",
    "| Agent started as | RSS median | RSS range (runs) | of which anon / file | Goal | Idle CPU | CPU range (runs) | Goal |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
    "What the resident memory is made of (a fresh `node` importing one thing, measured 1 s later, median of 3):",
    "",
    "| Process | RSS | of which anon | Over bare node |",
    "| --- | --- | --- | --- |",
    ...moduleRows,
    "",
    ...s.notes.map((n) => `- ${n}`),
    `<!-- bench:${SECTION_ID}:end -->`,
  ].join("\n");
}

/** Replaces this section in BENCHMARKS.md (or appends it), leaving every other section alone. */
export async function writeSection(path: string, s: SectionInput): Promise<void> {
  const text = await readFile(path, "utf8");
  const block = sectionMarkdown(s);
  const startMarker = `<!-- bench:${SECTION_ID}:start -->`;
  const endMarker = `<!-- bench:${SECTION_ID}:end -->`;
  const start = text.indexOf(startMarker);
  const end = text.indexOf(endMarker);
  const next = start >= 0 && end > start ? `${text.slice(0, start)}${block}${text.slice(end + endMarker.length)}` : `${text.trimEnd()}\n\n${block}\n`;
  await writeFileAtomic(path, next, 0o644, { durable: false });
}
