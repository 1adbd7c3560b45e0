// Reads another process's memory from /proc: find it by its command line, then VmRSS and VmHWM.
import { readdir, readFile } from "node:fs/promises";

/** The pid of the one process whose command line contains `needle` (e.g. its config path). */
export async function findPid(needle: string): Promise<number> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cmdline.split("\0").some((arg) => arg.includes(needle))) found.push(Number(entry));
  }
  if (found.length !== 1) throw new Error(`expected one process with ${needle} in its command line, found ${found.length}`);
  return found[0]!;
}

export interface MemoryStats {
  /** Resident set size now, MiB. */
  readonly rssMiB: number;
  /** Peak resident set size since the process started, MiB. */
  readonly hwmMiB: number;
}

export async function memoryOf(pid: number): Promise<MemoryStats> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = (key: string): number => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(status);
    if (!match) throw new Error(`no ${key} in /proc/${pid}/status`);
    return Number(match[1]);
  };
  return { rssMiB: kib("VmRSS") / 1024, hwmMiB: kib("VmHWM") / 1024 };
}

/**
 * CPU time the process has used so far (user + system), ms. On a shared machine the wall time of a step grows with
 * the load; the CPU it cost does not, so the two side by side tell the coordinator's work from the waiting.
 */
export async function cpuMsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start at ") "; utime and stime are the 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** USER_HZ: 100 on Linux on every architecture Node supports. */
const CLOCK_TICKS_PER_SECOND = 100;
