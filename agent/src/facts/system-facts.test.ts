import { readFile, statfs } from "node:fs/promises";
import { cpus, release } from "node:os";
import si from "systeminformation";
import { describe, expect, it } from "vitest";
import { cpuModelName, memoryOf, osName, parseOsRelease, SystemFacts } from "./system-facts.js";

it("reads real facts once and serves them from cache until the refresh interval passes", async () => {
  let now = 0;
  const facts = new SystemFacts({ refreshMs: 60_000, now: () => now, diskMount: "/" });
  const first = await facts.get();
  expect(first.kernel).toMatch(/^\d+\.\d+/);
  expect(first.cpuCores).toBeGreaterThan(0);
  expect(first.memoryTotalBytes).toBeGreaterThan(first.memoryUsedBytes);
  expect(first.diskTotalBytes).toBeGreaterThan(0);
  now = 30_000;
  expect(await facts.get()).toBe(first);
  now = 61_000;
  const second = await facts.get();
  expect(second).not.toBe(first);
  expect(second.kernel).toBe(first.kernel);
}, 20_000);

it("reports what systeminformation (which it replaces) reports on this machine", async () => {
  const facts = await new SystemFacts({ refreshMs: 60_000, now: () => 0, diskMount: "/" }).get();
  const [os, cpu, disks] = await Promise.all([si.osInfo(), si.cpu(), si.fsSize()]);
  const meminfo = memoryOf(await readFile("/proc/meminfo", "utf8"));
  expect(facts).toMatchObject({ kernel: os.kernel, os: `${os.distro} ${os.release}`.trim(), hostname: os.hostname, cpuCores: cpu.cores, memoryTotalBytes: (await si.mem()).total });
  expect(facts.kernel).toBe(release());
  expect(facts.cpuCores).toBe(cpus().length);
  if (cpu.manufacturer && cpu.brand) expect(facts.cpuModel).toBe(`${cpu.manufacturer} ${cpu.brand}`.trim());
  // Memory in use moves between two reads; both are total minus MemAvailable.
  expect(Math.abs(facts.memoryUsedBytes - meminfo.used)).toBeLessThan(meminfo.total / 10);
  const root = disks.find((d) => d.mount === "/");
  const s = await statfs("/");
  if (root) expect(facts.diskTotalBytes).toBe(root.size);
  expect(facts.diskTotalBytes).toBe(s.blocks * s.bsize);
}, 30_000);

describe("parsing", () => {
  it("names the OS as os-release does, with PRETTY_NAME's release when it extends NAME, without the code name", () => {
    expect(osName(parseOsRelease('NAME=NixOS\nPRETTY_NAME="NixOS 24.05 (Uakari)"\nVERSION_ID="24.05"\n'))).toBe("NixOS 24.05");
    expect(osName(parseOsRelease('NAME=Arch\nVERSION="7 (x)"\n'))).toBe("Arch 7");
    expect(osName(parseOsRelease('NAME="Debian GNU/Linux"\nVERSION_ID="12"\nPRETTY_NAME="Debian 12"\n'))).toBe("Debian GNU/Linux 12");
    expect(osName(parseOsRelease(""))).toBe("unknown unknown");
  });

  it("names the CPU by maker and model", () => {
    expect(cpuModelName("Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz")).toBe("Intel Xeon® E5-2680 v4 @ 2.40GHz");
    expect(cpuModelName("AMD EPYC 7763 64-Core Processor")).toBe("AMD EPYC 7763 64-Core Processor");
    expect(cpuModelName("")).toBe("");
  });

  it("counts memory in use as total minus available", () => {
    expect(memoryOf("MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    600 kB\n")).toEqual({ total: 1000 * 1024, used: 400 * 1024 });
    expect(memoryOf("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n")).toEqual({ total: 1000 * 1024, used: 600 * 1024 });
  });
});
