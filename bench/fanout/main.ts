// Fan-out benchmark: a coordinator process with N enrolled nodes and N open WatchDesired streams; a push changes every
// bundle; measures push return → every agent has its new revision, and the coordinator's RSS. `--write` updates BENCHMARKS.md.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, platform, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { credentials, Metadata } from "@grpc/grpc-js";
import { AdminServiceClient, type EnrollNodeRequest, type EnrollNodeResponse, type EnrollNodesRequest, type EnrollNodesResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { enrollInChunks } from "../../nkctl/src/node.js";
import { AUTH_HEADER, bearer, dropIpServernameWarning } from "../../shared/src/wire/index.js";
import { generateRepo, nodeName } from "../render/inventory-gen.js";
import { median } from "../render/measure.js";
import { adminCall } from "../../test/support/coordinator-harness.js";
import { caFetch } from "../../test/support/ca-fetch.js";
import { CoordinatorProcess } from "../../test/support/coordinator-process.js";
import { startEtcd, type EtcdServer } from "../../test/etcd/etcd-server.js";
import { FanoutAgentPool } from "./fanout-agent-pool.js";
import { FanoutAgents, nowMs, type SimNode } from "./fanout-agents.js";
import { writeFanoutSection, type ScenarioResult, type RunResult } from "./fanout-md.js";
import { percentile } from "../rollout/rollout-figures.js";
import { cpuMsOf, findPid, memoryOf } from "./proc-stats.js";

const run = promisify(execFile);
const BENCHMARKS_MD = fileURLToPath(new URL("../../BENCHMARKS.md", import.meta.url));
// GIT_SSL_CAINFO would override the coordinator's CA given per command.
const GIT_ENV = { ...process.env, GIT_SSL_CAINFO: undefined, GIT_TERMINAL_PROMPT: "0", GIT_AUTHOR_NAME: "bench", GIT_AUTHOR_EMAIL: "bench@example.invalid", GIT_COMMITTER_NAME: "bench", GIT_COMMITTER_EMAIL: "bench@example.invalid" };

interface Options {
  readonly sizes: readonly number[];
  readonly runs: number;
  readonly streamsPerChannel: number;
  readonly write: boolean;
  /** Keep the temp dir (coordinator log, state) for a look afterwards. */
  readonly keep: boolean;
  /** "etcd": a real etcd on loopback holds the state, and the coordinator follows an upstream repo (as several would). */
  readonly store: "file" | "etcd";
  /** A folder for the coordinator's V8 CPU profile (--cpu-prof) and, with --heap-prof, its heap profile. */
  readonly profileDir: string | undefined;
  readonly heapProfile: boolean;
  /** Enrol with one EnrollNode call per node (64 in flight) instead of nkctl's batches of EnrollNodes. */
  readonly enrollOneByOne: boolean;
  /** Processes the simulated agents are spread over (1: all in this one, as the figures before 2026-12-04). */
  readonly agentProcesses: number;
  /** Node flags for the coordinator process, e.g. the packaged ones (`--node-flags "--max-semi-space-size=32"`). */
  readonly nodeFlags: readonly string[];
}

function parseArgs(argv: readonly string[]): Options {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    sizes: (value("--nodes") ?? "1000,10000").split(",").map(Number),
    runs: Number(value("--runs") ?? 5),
    streamsPerChannel: Number(value("--streams-per-channel") ?? 50),
    write: argv.includes("--write"),
    keep: argv.includes("--keep"),
    store: value("--store") === "etcd" ? "etcd" : "file",
    profileDir: value("--profile"),
    heapProfile: argv.includes("--heap-prof"),
    enrollOneByOne: argv.includes("--enroll-one-by-one"),
    agentProcesses: Number(value("--agent-processes") ?? 1),
    nodeFlags: (value("--node-flags") ?? "").split(" ").filter(Boolean),
  };
}


async function pool<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

/** As `nkctl node enroll <names...>` does (the same function): EnrollNodes calls of 1,000 names, a few at once. */
async function enrollInBatches(client: AdminServiceClient, names: readonly string[], md: Metadata): Promise<SimNode[]> {
  const enrolled = await enrollInChunks((nodes) => adminCall<EnrollNodesRequest, EnrollNodesResponse>(client.enrollNodes.bind(client), { nodes: [...nodes] }, md), names);
  return enrolled.map((e) => ({ name: e.node, token: e.token }));
}

async function openStreamsMetric(proc: CoordinatorProcess, caPem: string): Promise<number> {
  const text = await (await caFetch(caPem)(`${proc.httpUrl}/metrics`)).text();
  const match = /^nk_grpc_streams_open\{stream="watch_desired"\} (\d+)$/m.exec(text);
  return match ? Number(match[1]) : 0;
}

/** The coordinator's own view of its memory (prom-client default metrics), for the progress log. */
async function heapSummary(proc: CoordinatorProcess, caPem: string): Promise<string> {
  const text = await (await caFetch(caPem)(`${proc.httpUrl}/metrics`)).text();
  const mib = (name: string): string => {
    const match = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
    return match ? `${(Number(match[1]) / 2 ** 20).toFixed(0)} MiB` : "?";
  };
  return `heap used ${mib("nk_nodejs_heap_size_used_bytes")} of ${mib("nk_nodejs_heap_size_total_bytes")}, external ${mib("nk_nodejs_external_memory_bytes")}`;
}

async function scenario(nodes: number, options: Options): Promise<ScenarioResult> {
  const work = await mkdtemp(join(tmpdir(), `nk-fanout-${nodes}-`));
  const checkout = join(work, "checkout");
  const git = (...args: string[]) => run("git", ["-c", "credential.helper=", ...args], { cwd: checkout, env: GIT_ENV, maxBuffer: 64 * 1024 * 1024 });
  const upstream = join(work, "upstream.git");
  let etcd: EtcdServer | undefined;
  let proc: CoordinatorProcess | undefined;
  let agents: FanoutAgents | FanoutAgentPool | undefined;
  let admin: AdminServiceClient | undefined;
  try {
    const generated = generateRepo({ nodes });
    // No cluster checks: the generated ones would reach out to 10.20.0.10 from this machine.
    const inventory = generated.get("inventory.yaml")!.replace(/^ {4}checks:\n(?: {6}- .*\n)+/m, "    checks: []\n");
    if (inventory === generated.get("inventory.yaml")) throw new Error("could not drop the generated cluster checks");
    const repo = new Map([...generated, ["inventory.yaml", inventory]]);
    for (const [path, content] of repo) {
      await mkdir(dirname(join(checkout, path)), { recursive: true });
      await writeFile(join(checkout, path), content);
    }
    await git("init", "-q", "-b", "main");
    await git("add", "-A");
    await git("commit", "-q", "-m", `generated inventory, ${nodes} nodes`);

    let config: Record<string, unknown> = { logLevel: process.env.NK_BENCH_LOG_LEVEL ?? "info" };
    if (options.store === "etcd") {
      etcd = await startEtcd();
      await run("git", ["init", "-q", "--bare", "-b", "main", upstream]);
      // Polling stays out of the way: every push is announced through the webhook, as a forge would.
      config = { ...config, store: { kind: "etcd", endpoints: [etcd.endpoint], prefix: "/nk-fanout/" }, source: { kind: "upstream", url: upstream, intervalSeconds: 3600 } };
    }
    const nodeArgs = [...options.nodeFlags, ...(options.profileDir
      ? ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`, ...(options.heapProfile ? ["--heap-prof", `--heap-prof-dir=${options.profileDir}`] : [])]
      : [])];
    proc = new CoordinatorProcess({ stateDir: join(work, "state"), config, logFile: join(work, "coordinator.log"), nodeArgs });
    await proc.start(180_000);
    const pid = await findPid(proc.configPath);
    const [adminToken, caPem] = [await proc.adminToken(), await proc.caPem()];
    admin = new AdminServiceClient(proc.grpcAddress, credentials.createSsl(Buffer.from(caPem)));
    const md = new Metadata();
    md.set(AUTH_HEADER, bearer(adminToken));
    const client = admin;
    await adminCall(client.setSecret.bind(client), { name: "k3s-token", value: Buffer.from("fanout-bench-k3s-token") }, md);
    const names = Array.from({ length: nodes }, (_, i) => nodeName(i, 5));
    const enrollStart = nowMs();
    const enrollCpuStart = await cpuMsOf(pid);
    const sims: SimNode[] = options.enrollOneByOne
      ? await pool(names, 64, async (name) => ({ name, token: (await adminCall<EnrollNodeRequest, EnrollNodeResponse>(client.enrollNode.bind(client), { node: name }, md)).token }))
      : await enrollInBatches(client, names, md);
    const enrollMs = nowMs() - enrollStart;
    const enrollCpuMs = (await cpuMsOf(pid)) - enrollCpuStart;
    console.error(`N=${nodes}: enrolled in ${enrollMs.toFixed(0)} ms (coordinator CPU ${enrollCpuMs.toFixed(0)} ms); coordinator peak RSS so far ${(await memoryOf(pid)).hwmMiB.toFixed(0)} MiB`);

    await git("config", "http.sslCAInfo", proc.caFile);
    const pushUrl = `https://bench:${adminToken}@127.0.0.1:${proc.httpPort}/git/inventory.git`;
    const hookUrl = `${proc.httpUrl}/hooks/git`;
    // File store: push to the coordinator's own repo. etcd store: push to the upstream, then the webhook.
    const publish = async (): Promise<void> => {
      if (options.store === "file") return void (await git("push", "-q", pushUrl, "main"));
      await git("push", "-q", upstream, "main");
      const res = await caFetch(caPem)(hookUrl, { method: "POST", headers: { authorization: `Bearer ${adminToken}` } });
      if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
    };
    await publish();
    const initial = (await git("rev-parse", "HEAD")).stdout.trim();

    const connectStart = nowMs();
    const agentOptions = { address: proc.grpcAddress, caPem, nodes: sims, streamsPerChannel: options.streamsPerChannel };
    agents = options.agentProcesses > 1 ? new FanoutAgentPool(agentOptions, options.agentProcesses) : new FanoutAgents(agentOptions);
    await agents.open();
    await agents.waitAll(initial, 300_000);
    const connectMs = nowMs() - connectStart;
    const afterConnect = await memoryOf(pid);
    const streamsAfterConnect = await openStreamsMetric(proc, caPem);
    console.error(`N=${nodes}: ${streamsAfterConnect} streams had their first bundle after ${connectMs.toFixed(0)} ms; coordinator RSS ${afterConnect.rssMiB.toFixed(0)} MiB, peak so far ${afterConnect.hwmMiB.toFixed(0)} MiB (${await heapSummary(proc, caPem)})`);

    const runs: RunResult[] = [];
    for (let r = 1; r <= options.runs; r++) {
      // common/*.nix is copied into every bundle: each run changes all N bundles.
      await writeFile(join(checkout, "common/monitoring.nix"), `${repo.get("common/monitoring.nix")}# fanout run ${r}\n`);
      await git("commit", "-q", "-am", `fanout run ${r}`);
      const sha = (await git("rev-parse", "HEAD")).stdout.trim();
      const cpuBefore = await cpuMsOf(pid);
      const started = nowMs();
      await publish();
      const returned = nowMs();
      await agents.waitAll(sha, 120_000);
      const cpuMs = (await cpuMsOf(pid)) - cpuBefore;
      const arrivals = agents.arrivals();
      const sinceReturn = arrivals.map((t) => t - returned);
      runs.push({
        pushMs: returned - started,
        p50Ms: percentile(sinceReturn, 50),
        p99Ms: percentile(sinceReturn, 99),
        maxMs: Math.max(...sinceReturn),
        maxFromPushStartMs: Math.max(...arrivals) - started,
        beforeReturn: sinceReturn.filter((x) => x < 0).length / sinceReturn.length,
        cpuMs,
      });
      const last = runs.at(-1)!;
      const mem = await memoryOf(pid);
      console.error(`N=${nodes} run ${r}: push ${last.pushMs.toFixed(0)} ms, p50 ${last.p50Ms.toFixed(0)} ms, p99 ${last.p99Ms.toFixed(0)} ms, max ${last.maxMs.toFixed(0)} ms, from push start ${last.maxFromPushStartMs.toFixed(0)} ms; coordinator CPU ${last.cpuMs.toFixed(0)} ms; RSS ${mem.rssMiB.toFixed(0)} MiB, peak ${mem.hwmMiB.toFixed(0)} MiB`);
    }
    const streamsAtEnd = await openStreamsMetric(proc, caPem);
    const end = await memoryOf(pid);
    if (agents.errors.length > 0) throw new Error(`stream errors: ${agents.errors.slice(0, 5).join("; ")}`);
    if (streamsAfterConnect !== nodes || streamsAtEnd !== nodes) throw new Error(`coordinator holds ${streamsAfterConnect}/${streamsAtEnd} streams, expected ${nodes}`);
    return {
      nodes,
      channels: agents.channelCount,
      streamsHeld: streamsAtEnd,
      enrollMs,
      enrollCpuMs,
      connectMs,
      messageBytes: agents.meanMessageBytes(),
      rssAfterConnectMiB: afterConnect.rssMiB,
      peakRssMiB: end.hwmMiB,
      runs,
      median: (pick) => median(runs.map(pick)),
    };
  } finally {
    agents?.close();
    admin?.close();
    await proc?.stop();
    await etcd?.dispose();
    if (options.keep) console.error(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  dropIpServernameWarning();
  const options = parseArgs(process.argv.slice(2));
  // The machine may be shared: the load when the run started goes next to the figures.
  const loadAtStart = loadavg()[0]!;
  const results: ScenarioResult[] = [];
  for (const nodes of options.sizes) results.push(await scenario(nodes, options));
  for (const r of results) {
    const m = r.median;
    console.log(
      `N=${r.nodes}: ${r.streamsHeld} streams on ${r.channels} channels; push ${m((x) => x.pushMs).toFixed(0)} ms; after push return p50 ${m((x) => x.p50Ms).toFixed(0)} ms, p99 ${m((x) => x.p99Ms).toFixed(0)} ms, max ${m((x) => x.maxMs).toFixed(0)} ms; ` +
        `RSS ${r.rssAfterConnectMiB.toFixed(0)} MiB connected, peak ${r.peakRssMiB.toFixed(0)} MiB; message ${(r.messageBytes / 1024).toFixed(1)} KiB`,
    );
  }
  if (options.write) {
    const machine = `machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? "unknown"}), Node ${process.version}, ${platform()}, load average ${loadAtStart.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at the end (shared machine)`;
    await writeFanoutSection(BENCHMARKS_MD, { results, runs: options.runs, streamsPerChannel: options.streamsPerChannel, machine, date: new Date().toISOString().slice(0, 10), store: options.store });
  }
}

await main();
