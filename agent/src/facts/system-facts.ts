// Machine facts for reports (kernel, uptime, CPU, memory, disk), read from the kernel (/proc, statfs) and cached.
// Node's own os module and /proc replace the systeminformation library here: it cost every idle agent ~2 MiB of
// resident memory and spawned `df` once a minute (bench/agent-footprint); the figures are the ones it reported.
import { readFile, statfs } from "node:fs/promises";
import { cpus, hostname, release, uptime } from "node:os";
import type { SystemInfo } from "../../../shared/src/proto/gen/nk/v1/common.js";

export interface SystemFactsOptions {
  /** Static facts (CPU, kernel) are read once; changing ones at most this often. */
  readonly refreshMs: number;
  readonly now: () => number;
  /** The filesystem whose size is reported (the Nix store's). */
  readonly diskMount: string;
}

/** `KEY=value` lines of os-release(5), quotes removed. */
export function parseOsRelease(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!.replace(/^["']|["']$/g, ""));
  }
  return out;
}

/** "NixOS 24.05": the distribution's name and release without its code name, as systeminformation's osInfo put them. */
export function osName(osRelease: Map<string, string>): string {
  const distro = osRelease.get("NAME") ?? "unknown";
  const pretty = osRelease.get("PRETTY_NAME") ?? "";
  const version = (pretty.startsWith(`${distro} `) ? pretty.slice(distro.length + 1) : (osRelease.get("VERSION") ?? "")).split("(")[0]!.trim();
  return `${distro} ${version || osRelease.get("VERSION_ID") || "unknown"}`;
}

const MANUFACTURERS: readonly (readonly [string, string])[] = [
  ["intel", "Intel"],
  ["amd", "AMD"],
  ["qemu", "QEMU"],
  ["hygon", "Hygon"],
  ["vmware", "VMware"],
];

/** "Intel(R) Xeon(R) CPU E5-2680" → "Intel Xeon® E5-2680": maker, then the model without its first word. */
export function cpuModelName(model: string): string {
  const brand = model
    .replace(/\(R\)+/g, "®")
    .replace(/\(TM\)+/g, "™")
    .replace(/\(C\)+/g, "©")
    .replace(/CPU+/g, "")
    .replace(/\s+/g, " ")
    .trim();
  if (brand === "") return "";
  const lower = brand.toLowerCase();
  const maker = MANUFACTURERS.find(([key]) => lower.includes(key))?.[1] ?? brand;
  return `${maker} ${brand.split(" ").slice(1).join(" ")}`.trim();
}

/** Total and in-use memory (total minus MemAvailable) from /proc/meminfo, in bytes. */
export function memoryOf(meminfo: string): { total: number; used: number } {
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(meminfo)?.[1] ?? 0) * 1024;
  const total = kib("MemTotal");
  const free = kib("MemFree");
  const available = kib("MemAvailable") || free + kib("Buffers") + kib("Cached");
  return { total, used: Math.max(0, total - available) };
}

export class SystemFacts {
  private staticFacts: Pick<SystemInfo, "kernel" | "os" | "cpuModel" | "cpuCores" | "hostname"> | null = null;
  private cached: SystemInfo | null = null;
  private cachedAt = 0;
  private inflight: Promise<SystemInfo> | null = null;

  constructor(private readonly options: SystemFactsOptions) {}

  /** Never throws: a probe that fails leaves zeros rather than blocking a report. */
  async get(): Promise<SystemInfo> {
    if (this.cached && this.options.now() - this.cachedAt < this.options.refreshMs) return this.cached;
    this.inflight ??= this.gather().finally(() => (this.inflight = null));
    return this.inflight;
  }

  private async gather(): Promise<SystemInfo> {
    if (!this.staticFacts) {
      const osRelease = await readFile("/etc/os-release", "utf8").catch(() => readFile("/usr/lib/os-release", "utf8").catch(() => ""));
      const cpu = cpus();
      this.staticFacts = {
        kernel: release(),
        os: osRelease ? osName(parseOsRelease(osRelease)) : "",
        cpuModel: cpuModelName(cpu[0]?.model ?? ""),
        cpuCores: cpu.length,
        hostname: hostname(),
      };
    }
    const [meminfo, disk] = await Promise.all([readFile("/proc/meminfo", "utf8").catch(() => ""), this.disk()]);
    const mem = memoryOf(meminfo);
    this.cached = {
      ...this.staticFacts,
      uptimeSeconds: Math.round(uptime()),
      memoryTotalBytes: mem.total,
      memoryUsedBytes: mem.used,
      diskTotalBytes: disk.total,
      diskUsedBytes: disk.used,
    };
    this.cachedAt = this.options.now();
    return this.cached;
  }

  /** Size and used space (blocks minus free, as df counts them) of the filesystem holding `diskMount`, else "/". */
  private async disk(): Promise<{ total: number; used: number }> {
    for (const path of [this.options.diskMount, "/"]) {
      const s = await statfs(path).catch(() => null);
      if (s) return { total: s.blocks * s.bsize, used: (s.blocks - s.bfree) * s.bsize };
    }
    return { total: 0, used: 0 };
  }
}
