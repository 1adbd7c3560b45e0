// Writes one benchmark's results table into BENCHMARKS.md between its own markers, leaving other sections alone.
import { readFile } from "node:fs/promises";
import { formatMs, type Measurement } from "./measure.js";
import { writeFileAtomic } from "../../shared/src/fs/index.js";

const HEADER = `# Benchmarks

Measured figures for nk's performance goals (listed in "Goals at a glance" below; the parts they measure are
described in [docs/design.md](docs/design.md)). Each section names the command that reproduces it and the machine it ran on; re-running that command with \`--write\` replaces only its own
section. Times are wall-clock medians of 7 runs, min and max in brackets, no warm-up runs.
`;

export interface Section {
  /** Marker id, e.g. "render". */
  readonly id: string;
  readonly title: string;
  readonly command: string;
  readonly machine: string;
  readonly date: string;
  readonly results: readonly Measurement[];
  readonly notes: readonly string[];
}

export function sectionMarkdown(s: Section): string {
  const rows = s.results.map((m) => {
    const verdict = m.goalMs === undefined ? "-" : `< ${formatMs(m.goalMs)} ${m.medianMs < m.goalMs ? "(met)" : "(**missed**)"}`;
    return `| ${m.name} | ${formatMs(m.medianMs)} | ${formatMs(m.minMs)} – ${formatMs(m.maxMs)} | ${verdict} | ${m.rssMiB.toFixed(0)} MiB |`;
  });
  return [
    `<!-- bench:${s.id}:start -->`,
    `## ${s.title}`,
    "",
    `Reproduce: \`${s.command}\` · ${s.date} · ${s.machine}`,
    "",
    "| Benchmark | Median | Min – max | Goal | RSS after |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
    "",
    ...s.notes.map((n) => `- ${n}`),
    `<!-- bench:${s.id}:end -->`,
  ].join("\n");
}

/** The file with this section replaced (or appended); a missing file starts with the header. */
export function updateMarkdown(existing: string | null, s: Section): string {
  const block = sectionMarkdown(s);
  const text = existing ?? HEADER;
  const start = text.indexOf(`<!-- bench:${s.id}:start -->`);
  const endMarker = `<!-- bench:${s.id}:end -->`;
  const end = text.indexOf(endMarker);
  if (start >= 0 && end > start) return `${text.slice(0, start)}${block}${text.slice(end + endMarker.length)}`;
  return `${text.trimEnd()}\n\n${block}\n`;
}

export async function writeSection(path: string, s: Section): Promise<void> {
  const existing = await readFile(path, "utf8").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return null;
    throw err;
  });
  await writeFileAtomic(path, updateMarkdown(existing, s), 0o644, { durable: false });
}
