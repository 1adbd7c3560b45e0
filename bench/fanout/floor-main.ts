// The fan-out's transport floor: N WatchDesired streams over TLS to a server with the coordinator's gRPC setup that
// writes messages encoded before the clock starts (floor-server.ts), received by the fan-out benchmark's simulated
// agents. Whatever nk does on a push (fetch, validate, render, store, encode) comes on top of this figure.
// Usage: npm run bench:fanout-floor -- [--nodes 1000,10000] [--runs 5] [--file-bytes 5200] [--agent-processes 1]
//   [--streams-per-channel 50] [--encode-at-push] (each message encoded by the coordinator's encoder after the clock
//   starts, as a push does, rather than before)
import { fork, type ChildProcess } from "node:child_process";
import { loadavg } from "node:os";
import { median } from "../render/measure.js";
import { dropIpServernameWarning } from "../../shared/src/wire/index.js";
import { askChild } from "./ask-child.js";
import { FanoutAgentPool } from "./fanout-agent-pool.js";
import { FanoutAgents, nowMs } from "./fanout-agents.js";
import type { FloorAnswer, FloorRequest } from "./floor-server.js";
import { percentile } from "../rollout/rollout-figures.js";
import { cpuMsOf } from "./proc-stats.js";

const argv = process.argv.slice(2);
const value = (flag: string): string | undefined => {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
};
const sizes = (value("--nodes") ?? "1000,10000").split(",").map(Number);
const runs = Number(value("--runs") ?? 5);
const fileBytes = Number(value("--file-bytes") ?? 5200);
const agentProcesses = Number(value("--agent-processes") ?? 1);
const streamsPerChannel = Number(value("--streams-per-channel") ?? 50);
const encodeAtPush = argv.includes("--encode-at-push");

const ask = (child: ChildProcess, req: FloorRequest): Promise<FloorAnswer> => askChild<FloorRequest, FloorAnswer>(child, req, "floor server");

interface FloorRun {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly loopMs: number;
  readonly serverCpuMs: number;
  readonly agentsCpuMs: number;
}

async function scenario(nodes: number): Promise<void> {
  const server = fork(new URL("./floor-server.ts", import.meta.url), { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  let agents: FanoutAgents | FanoutAgentPool | undefined;
  try {
    const listening = await ask(server, { kind: "listen" });
    if (listening.kind !== "listening") throw new Error(`floor server answered ${listening.kind}`);
    const sims = Array.from({ length: nodes }, (_, i) => ({ name: `n${String(i).padStart(5, "0")}`, token: "unused" }));
    const options = { address: `127.0.0.1:${listening.port}`, caPem: listening.caPem, nodes: sims, streamsPerChannel };
    agents = agentProcesses > 1 ? new FanoutAgentPool(options, agentProcesses) : new FanoutAgents(options);
    await agents.open();
    // A push per run, and one before them that waits until every stream is open and has had a message.
    const results: FloorRun[] = [];
    let messageBytes = 0;
    for (let r = 0; r <= runs; r++) {
      const revision = `floor-${nodes}-${r}`.padEnd(40, "0");
      const deadline = Date.now() + 300_000;
      let prepared = await ask(server, { kind: "prepare", revision, fileBytes, encodeAtPush });
      // Streams arrive at the server over a while after open(); the first run waits until all are there.
      while (prepared.kind === "prepared" && prepared.streams < nodes && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        prepared = await ask(server, { kind: "prepare", revision, fileBytes, encodeAtPush });
      }
      if (prepared.kind !== "prepared" || prepared.streams !== nodes) throw new Error(`only ${prepared.kind === "prepared" ? prepared.streams : 0} of ${nodes} streams reached the server`);
      messageBytes = prepared.messageBytes;
      const serverCpu = await cpuMsOf(server.pid!);
      const ownCpu = process.cpuUsage();
      const started = nowMs();
      const written = await ask(server, { kind: "push" });
      await agents.waitAll(revision, 120_000);
      if (r === 0 || written.kind !== "written") continue;
      const since = agents.arrivals().map((t) => t - started);
      const own = process.cpuUsage(ownCpu);
      results.push({
        p50Ms: percentile(since, 50),
        p99Ms: percentile(since, 99),
        maxMs: Math.max(...since),
        loopMs: written.loopMs,
        serverCpuMs: (await cpuMsOf(server.pid!)) - serverCpu,
        // With --agent-processes the agents' CPU is in the children; this process's own is then only the driver's.
        agentsCpuMs: (own.user + own.system) / 1000,
      });
      const last = results.at(-1)!;
      console.error(`N=${nodes} run ${r}: p50 ${last.p50Ms.toFixed(0)} ms, p99 ${last.p99Ms.toFixed(0)} ms, max ${last.maxMs.toFixed(0)} ms; write loop ${last.loopMs.toFixed(0)} ms, server CPU ${last.serverCpuMs.toFixed(0)} ms, this process's CPU ${last.agentsCpuMs.toFixed(0)} ms`);
    }
    if (agents.errors.length > 0) throw new Error(`stream errors: ${agents.errors.slice(0, 5).join("; ")}`);
    const m = (pick: (r: FloorRun) => number): string => median(results.map(pick)).toFixed(0);
    const range = (pick: (r: FloorRun) => number): string => `${Math.min(...results.map(pick)).toFixed(0)}–${Math.max(...results.map(pick)).toFixed(0)}`;
    console.log(
      `N=${nodes}: ${runs} pushes of ${(messageBytes / 1024).toFixed(1)} KiB messages over ${agents.channelCount} channels, ${encodeAtPush ? "encoded at the push" : "encoded beforehand"}, agents in ${agentProcesses} process(es): ` +
        `p50 ${m((x) => x.p50Ms)} ms, p99 ${m((x) => x.p99Ms)} ms (${range((x) => x.p99Ms)}), max ${m((x) => x.maxMs)} ms; ` +
        `write loop ${m((x) => x.loopMs)} ms; server CPU ${m((x) => x.serverCpuMs)} ms (${(median(results.map((x) => x.serverCpuMs)) * 1000 / nodes).toFixed(0)} µs per node); load ${loadavg()[0]!.toFixed(1)}`,
    );
  } finally {
    agents?.close();
    server.kill();
  }
}

dropIpServernameWarning();
console.error(`load average ${loadavg()[0]!.toFixed(1)} at start`);
for (const nodes of sizes) await scenario(nodes);
