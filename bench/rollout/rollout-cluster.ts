// The rollout benchmark's cluster: an in-process coordinator whose log is captured, the fake kube-apiserver, and one
// agent process per simulated node (SimSystem, time-scaled reboots) supervised like systemd would.
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { parseDocument } from "yaml";
import { createLogger } from "../../shared/src/log/index.js";
import type { EnrollNodeRequest, EnrollNodeResponse, GetStatusRequest, GetStatusResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import type { Event } from "../../shared/src/proto/gen/nk/v1/common.js";
import { coordinatorConfigSchema } from "../../coordinator/src/config/index.js";
import { FakeKubeApiserver } from "../../coordinator/src/kube/fake-kube-apiserver.js";
import { startCoordinator, type RunningCoordinator } from "../../coordinator/src/main.js";
import { SimAgentProcess } from "../../demo/agent-supervisor.js";
import { caFetch } from "../../test/support/ca-fetch.js";
import { adminCall, EXAMPLE_DIR } from "../../test/support/coordinator-harness.js";
import { HEALTHY_COMMANDS } from "../../test/support/healthy-commands.js";
import { startEtcd, type EtcdServer } from "../../test/etcd/etcd-server.js";
import { credentials, Metadata } from "@grpc/grpc-js";
import { AdminServiceClient } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { AUTH_HEADER, bearer } from "../../shared/src/wire/index.js";
import { writeFileAtomic } from "../../shared/src/fs/index.js";

const run = promisify(execFile);
// GIT_SSL_CAINFO would override the coordinator's CA given per command.
const GIT_ENV = { ...process.env, GIT_SSL_CAINFO: undefined, GIT_TERMINAL_PROMPT: "0", GIT_AUTHOR_NAME: "bench", GIT_AUTHOR_EMAIL: "bench@example.invalid", GIT_COMMITTER_NAME: "bench", GIT_COMMITTER_EMAIL: "bench@example.invalid" };
/** A node check the benchmark fails and fixes on one node to measure the grant after a health recovery. */
export const DISK_CHECK = "test -e /dev/sda";
const SERVERS = 3;

/** One record of the coordinator's pino log (only the fields the benchmark reads). */
export interface LogRecord {
  readonly time: number;
  readonly msg: string;
  readonly node?: string;
  readonly trigger?: string;
  readonly latencyMs?: number;
}

export interface ClusterOptions {
  readonly nodes: number;
  readonly timeScale: number;
  readonly rebootDelayMs: number;
  readonly reportIntervalSeconds: number;
  readonly maxUnavailable: number;
  readonly maxUnavailableServers: number;
  /** "etcd": leases, fencing tokens and node records in a real etcd on loopback; the coordinator follows an upstream repo. */
  readonly store?: "file" | "etcd";
}

export const nodeName = (i: number): string => `n${i + 1}`;

/** The example inventory with `count` nodes: three servers (n1 init), the rest agents; the last one has a disk check. */
function inventoryYaml(example: string, o: ClusterOptions, channel: string): string {
  const doc = parseDocument(example);
  const nodes: Record<string, unknown> = {};
  for (let i = 0; i < o.nodes; i++) {
    const server = i < SERVERS;
    nodes[nodeName(i)] = {
      address: `172.30.190.${3 + i}`,
      role: server ? "server" : "agent",
      ...(i === 0 ? { init: true } : {}),
      boot_device: server ? "/dev/nvme0n1" : "/dev/sda",
      ...(i === o.nodes - 1 ? { checks: [{ name: "disk", command: DISK_CHECK.split(" "), expect: "" }] } : {}),
    };
  }
  doc.set("nodes", doc.createNode(nodes));
  doc.setIn(["cluster", "nixpkgs", "channel"], channel);
  doc.setIn(["cluster", "rollout", "max_unavailable"], o.maxUnavailable);
  doc.setIn(["cluster", "rollout", "max_unavailable_servers"], o.maxUnavailableServers);
  doc.setIn(["cluster", "rollout", "health_deadline_seconds"], 120);
  doc.setIn(["cluster", "rollout", "drain_timeout_seconds"], 120);
  doc.setIn(["cluster", "rollout", "reboot_timeout_seconds"], 300);
  return doc.toString();
}

export class RolloutCluster {
  readonly log: LogRecord[] = [];
  readonly names: string[];
  /** Agent process exits for a reboot, by node: wall-clock times. */
  readonly rebootExits: Array<{ node: string; atMs: number }> = [];
  private status!: () => Promise<GetStatusResponse>;
  private admin!: { client: AdminServiceClient; md: Metadata };
  private etcd: EtcdServer | undefined;
  private coordinator!: RunningCoordinator;
  private readonly agents = new Map<string, SimAgentProcess>();

  private constructor(
    readonly options: ClusterOptions,
    readonly kube: FakeKubeApiserver,
    readonly workDir: string,
  ) {
    this.names = Array.from({ length: options.nodes }, (_, i) => nodeName(i));
  }

  static async start(options: ClusterOptions): Promise<RolloutCluster> {
    const kube = await FakeKubeApiserver.start();
    const cluster = new RolloutCluster(options, kube, await mkdtemp(join(tmpdir(), "nk-bench-rollout-")));
    try {
      await cluster.boot();
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  get checkout(): string {
    return join(this.workDir, "checkout");
  }

  private git(...args: string[]) {
    return run("git", ["-c", "credential.helper=", ...args], { cwd: this.checkout, env: GIT_ENV });
  }

  private async boot(): Promise<void> {
    const { workDir, kube, options } = this;
    for (const n of this.names) kube.setNode({ name: n, ready: true });
    await writeFile(join(workDir, "kubeconfig"), kube.kubeconfigYaml());
    const records = this.log;
    // The coordinator's own log is the benchmark's probe: grant latency and trigger, release times.
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split("\n")) if (line.startsWith("{")) records.push(JSON.parse(line) as LogRecord);
        done();
      },
    });
    const upstream = join(workDir, "upstream.git");
    if (options.store === "etcd") {
      this.etcd = await startEtcd();
      await run("git", ["init", "-q", "--bare", "-b", "main", upstream]);
    }
    const config = coordinatorConfigSchema.parse({
      ...(this.etcd && {
        store: { kind: "etcd", endpoints: [this.etcd.endpoint], prefix: "/nk-rollout/" },
        // Every push is announced through the webhook (see push), as a forge would.
        source: { kind: "upstream", url: upstream, intervalSeconds: 3600 },
      }),
      stateDir: join(workDir, "state"),
      grpc: { listen: "127.0.0.1:0" },
      http: { listen: "127.0.0.1:0" },
      kubeconfigFile: join(workDir, "kubeconfig"),
      heartbeatSeconds: options.reportIntervalSeconds,
      healthCheckIntervalSeconds: 5,
    });
    this.coordinator = await startCoordinator(config, { log: createLogger({ name: "nk-coordinator", level: "info", destination: sink }) });
    const c = this.coordinator;
    const client = new AdminServiceClient(`127.0.0.1:${c.grpcPort}`, credentials.createSsl(Buffer.from(c.caPem)));
    const md = new Metadata();
    md.set(AUTH_HEADER, bearer(c.adminToken));
    this.admin = { client, md };
    this.status = () => adminCall<GetStatusRequest, GetStatusResponse>(client.getStatus.bind(client), {}, md);
    await adminCall(client.setSecret.bind(client), { name: "k3s-token", value: Buffer.from("bench-k3s-token-value") }, md);

    await cp(EXAMPLE_DIR, this.checkout, { recursive: true });
    await this.git("init", "-q", "-b", "main");
    const caFile = join(workDir, "ca.crt");
    await writeFile(caFile, c.caPem);
    await this.git("config", "http.sslCAInfo", caFile);
    await this.git("remote", "add", "nk", this.etcd ? upstream : `https://bench:${c.adminToken}@127.0.0.1:${c.httpPort}/git/inventory.git`);
    for (const node of this.names) {
      const dir = join(workDir, "nodes", node);
      await mkdir(join(dir, "system"), { recursive: true });
      await writeFile(join(dir, "system", "commands.json"), JSON.stringify(HEALTHY_COMMANDS));
      const { token } = await adminCall<EnrollNodeRequest, EnrollNodeResponse>(client.enrollNode.bind(client), { node }, md);
      await writeFile(join(dir, "token"), `${token}\n`, { mode: 0o600 });
      const spec = { node, coordinators: [`127.0.0.1:${c.grpcPort}`], caFile, tokenFile: join(dir, "token"), dir, timeScale: options.timeScale, reportIntervalSeconds: options.reportIntervalSeconds, logLevel: "info" };
      this.agents.set(node, new SimAgentProcess(spec, { rebootDelayMs: options.rebootDelayMs, onExit: (e) => e.code === 75 && this.rebootExits.push({ node, atMs: Date.now() }) }));
    }
  }

  /** Writes the inventory for `channel` (a new nixpkgs pin reboots every node) and pushes it. */
  async push(channel: string, limits?: Pick<ClusterOptions, "maxUnavailable" | "maxUnavailableServers">): Promise<void> {
    const example = await readFile(join(EXAMPLE_DIR, "inventory.yaml"), "utf8");
    await writeFile(join(this.checkout, "inventory.yaml"), inventoryYaml(example, { ...this.options, ...limits }, channel));
    await this.git("add", "-A");
    await this.git("commit", "-q", "-m", `nixpkgs ${channel}`);
    await this.git("push", "-q", "nk", "main");
    if (this.etcd) {
      const res = await caFetch(this.coordinator.caPem)(`${this.coordinator.httpUrl}/hooks/git`, { method: "POST", headers: { authorization: `Bearer ${this.coordinator.adminToken}` } });
      if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
    }
  }

  /** Starts the agents a few at a time, so 2 cores are not swamped by 50 tsx start-ups at once. */
  async startAgents(batch = 5): Promise<void> {
    const all = [...this.agents.values()];
    for (let i = 0; i < all.length; i += batch) await Promise.all(all.slice(i, i + batch).map((a) => a.start()));
  }

  getStatus(): Promise<GetStatusResponse> {
    return this.status();
  }

  events(afterSeq = 0): Promise<Event[]> {
    const { client, md } = this.admin;
    return new Promise((resolve, reject) => {
      const out: Event[] = [];
      const stream = client.watchEvents({ afterSeq, tail: 1_000_000, follow: false }, md);
      stream.on("data", (r: { event?: Event }) => r.event && out.push(r.event));
      stream.on("error", reject);
      stream.on("end", () => resolve(out));
    });
  }

  /** Sets a simulated program's answer on one node (atomically: agents read the file live). */
  async setCommand(node: string, command: string, answer: { stdout: string; exitCode?: number }): Promise<void> {
    const path = join(this.workDir, "nodes", node, "system", "commands.json");
    const current = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
    await writeFileAtomic(path, JSON.stringify({ ...current, [command]: answer }), 0o644, { durable: false });
  }

  /** Resident memory of every agent process, MiB (from /proc). */
  async agentRssMiB(): Promise<number[]> {
    const out: number[] = [];
    for (const a of this.agents.values()) {
      if (!a.pid) continue;
      const status = await readFile(`/proc/${a.pid}/status`, "utf8").catch(() => "");
      const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
      if (kb) out.push(Number(kb) / 1024);
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.stop()));
    this.admin?.client.close();
    await this.coordinator?.stop();
    await this.etcd?.dispose();
    await this.kube.close();
    await rm(this.workDir, { recursive: true, force: true });
  }
}
