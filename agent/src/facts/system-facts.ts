// Machine facts for reports (kernel, uptime, CPU, memory, disk), gathered with systeminformation and cached.
import si from "systeminformation";
import type { SystemInfo } from "../../../shared/src/proto/gen/nk/v1/common.js";

export interface SystemFactsOptions {
  /** Static facts (CPU, kernel) are read once; changing ones at most this often. */
  readonly refreshMs: number;
  readonly now: () => number;
  /** The filesystem whose size is reported (the Nix store's). */
  readonly diskMount: string;
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
      const [os, cpu] = await Promise.all([si.osInfo().catch(() => null), si.cpu().catch(() => null)]);
      this.staticFacts = {
        kernel: os?.kernel ?? "",
        os: os ? `${os.distro} ${os.release}`.trim() : "",
        cpuModel: cpu ? `${cpu.manufacturer} ${cpu.brand}`.trim() : "",
        cpuCores: cpu?.cores ?? 0,
        hostname: os?.hostname ?? "",
      };
    }
    const [mem, disks] = await Promise.all([si.mem().catch(() => null), si.fsSize().catch(() => [])]);
    const disk = disks.find((d) => d.mount === this.options.diskMount) ?? disks.find((d) => d.mount === "/");
    this.cached = {
      ...this.staticFacts,
      uptimeSeconds: Math.round(si.time().uptime),
      memoryTotalBytes: mem?.total ?? 0,
      memoryUsedBytes: mem?.active ?? 0,
      diskTotalBytes: disk?.size ?? 0,
      diskUsedBytes: disk?.used ?? 0,
    };
    this.cachedAt = this.options.now();
    return this.cached;
  }
}
