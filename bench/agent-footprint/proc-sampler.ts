// Reads a process's resident memory and CPU time from /proc (Linux), and samples them over a window.
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";

/** Clock ticks per second, the unit of utime/stime in /proc/<pid>/stat. */
export const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

export interface ProcSample {
  readonly atMs: number;
  /** VmRSS, bytes. */
  readonly rssBytes: number;
  /** RssAnon: heap, stacks, malloc; what the process itself owns. */
  readonly anonBytes: number;
  /** RssFile: mapped files, mostly the node binary's pages (shared with other node processes, reclaimable). */
  readonly fileBytes: number;
  /** utime + stime of the process itself, seconds. */
  readonly cpuSeconds: number;
  /** cutime + cstime: children it waited for (e.g. `df` spawned by systeminformation), seconds. */
  readonly childCpuSeconds: number;
}

export async function readProc(pid: number): Promise<ProcSample> {
  const [status, stat] = await Promise.all([readFile(`/proc/${pid}/status`, "utf8"), readFile(`/proc/${pid}/stat`, "utf8")]);
  const kb = (name: string): number => {
    const value = Number(new RegExp(`^${name}:\\s+(\\d+)\\s+kB$`, "m").exec(status)?.[1]);
    if (!Number.isFinite(value)) throw new Error(`/proc/${pid}/status has no ${name}`);
    return value * 1024;
  };
  // The command name (field 2) may contain spaces and parentheses: fields are counted after the last ")".
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const field = (n: number): number => Number(rest[n - 3]);
  return {
    atMs: Date.now(),
    rssBytes: kb("VmRSS"),
    anonBytes: kb("RssAnon"),
    fileBytes: kb("RssFile"),
    cpuSeconds: (field(14) + field(15)) / CLK_TCK,
    childCpuSeconds: (field(16) + field(17)) / CLK_TCK,
  };
}

export interface WindowResult {
  readonly samples: readonly ProcSample[];
  readonly wallSeconds: number;
  readonly medianRssBytes: number;
  readonly medianAnonBytes: number;
  readonly medianFileBytes: number;
  readonly maxRssBytes: number;
  /** CPU seconds over wall seconds, in percent of one core. */
  readonly cpuPercent: number;
  readonly childCpuPercent: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Samples `pid` every `intervalMs` for `seconds` (throws if the process goes away meanwhile). */
export async function sampleWindow(pid: number, seconds: number, intervalMs: number): Promise<WindowResult> {
  const samples: ProcSample[] = [await readProc(pid)];
  const until = samples[0]!.atMs + seconds * 1000;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(0, until - Date.now()))));
    samples.push(await readProc(pid));
  }
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const wallSeconds = (last.atMs - first.atMs) / 1000;
  const rss = samples.map((s) => s.rssBytes);
  return {
    samples,
    wallSeconds,
    medianRssBytes: median(rss),
    medianAnonBytes: median(samples.map((x) => x.anonBytes)),
    medianFileBytes: median(samples.map((x) => x.fileBytes)),
    maxRssBytes: Math.max(...rss),
    cpuPercent: (100 * (last.cpuSeconds - first.cpuSeconds)) / wallSeconds,
    childCpuPercent: (100 * (last.childCpuSeconds - first.childCpuSeconds)) / wallSeconds,
  };
}
