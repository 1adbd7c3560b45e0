// The chaos environment: the coordinator as a process (kill -9 able), a cuttable TCP proxy in front of it per
// agent, one supervised agent process per simulated node, the fake kube-apiserver, and an operator's checkout.
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { credentials, Metadata, type CallOptions } from "@grpc/grpc-js";
import { parseDocument } from "yaml";
import { AdminServiceClient, type GetStatusResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { AUTH_HEADER, bearer } from "../../shared/src/wire/index.js";
import { validateRepo } from "../../shared/src/inventory/index.js";
import { renderCluster } from "../../shared/src/render/index.js";
import { readRepoDir } from "../../nkctl/src/repo-files.js";
import { FakeKubeApiserver } from "../../coordinator/src/kube/fake-kube-apiserver.js";
import { writeFaults, type Faults } from "../../agent/src/system/index.js";
import { CoordinatorClient } from "../../agent/src/client/index.js";
import { SimAgentProcess, type AgentExit } from "../../demo/agent-supervisor.js";
import { EXAMPLE_DIR } from "../support/coordinator-harness.js";
import { CoordinatorProcess } from "../support/coordinator-process.js";
import { HEALTHY_COMMANDS } from "../support/sim-cluster.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import type { Limits } from "./lease-journal.js";
import { writeFileAtomic } from "../../shared/src/fs/index.js";

const run = promisify(execFile);
export const K3S_SECRET = "chaos-k3s-token-value";
/** The example's nodes/n5.nix belongs to n5, so chaos clusters use n1..n4 and own every nodes/<n>.nix. */
export const CHAOS_NODES = ["n1", "n2", "n3", "n4"] as const;

export interface ChaosClusterOptions {
  readonly nodes: readonly string[];
  readonly limits: Limits;
  readonly timeScale?: number;
  /** Daemon log level (debug logs grow large over a long run). */
  readonly logLevel?: string;
  readonly onAgentExit?: (exit: AgentExit, atMs: number) => void;
}

export interface PushResult {
  readonly sha: string;
  /** git push exited 0: the coordinator acknowledged the revision. */
  readonly acked: boolean;
  /** When git push started (the coordinator cannot have adopted the revision before). */
  readonly startedAtMs: number;
  readonly error?: string;
}

export class ChaosCluster {
  readonly agents = new Map<string, SimAgentProcess>();
  readonly proxies = new Map<string, TcpProxy>();
  readonly tokens = new Map<string, string>();
  readonly roles = new Map<string, string>();
  private admin: { client: AdminServiceClient; md: Metadata } | null = null;
  private coordinatorOps: Promise<unknown> = Promise.resolve();
  private pushes: Promise<unknown> = Promise.resolve();
  coordinatorUp = false;
  caPem = "";
  private adminToken = "";

  private constructor(
    readonly options: ChaosClusterOptions,
    readonly workDir: string,
    readonly kube: FakeKubeApiserver,
    readonly coordinator: CoordinatorProcess,
  ) {}

  get stateDir(): string {
    return join(this.workDir, "state");
  }

  get checkout(): string {
    return join(this.workDir, "checkout");
  }

  simDir(node: string): string {
    return join(this.workDir, "nodes", node, "system");
  }

  static async start(options: ChaosClusterOptions): Promise<ChaosCluster> {
    const workDir = await mkdtemp(join(tmpdir(), "nk-chaos-"));
    const kube = await FakeKubeApiserver.start();
    for (const node of options.nodes) kube.setNode({ name: node, ready: true });
    await writeFile(join(workDir, "kubeconfig"), kube.kubeconfigYaml());
    await writeFile(join(workDir, "admin.token"), `chaos-admin-token-${process.pid}-0123456789abcdef\n`, { mode: 0o600 });
    const coordinator = new CoordinatorProcess({
      stateDir: join(workDir, "state"),
      logFile: join(workDir, "coordinator.log"),
      config: { adminTokenFile: join(workDir, "admin.token"), kubeconfigFile: join(workDir, "kubeconfig"), heartbeatSeconds: 1, healthCheckIntervalSeconds: 1, logLevel: options.logLevel ?? "info" },
    });
    const cluster = new ChaosCluster(options, workDir, kube, coordinator);
    try {
      await cluster.setUp();
    } catch (err) {
      await cluster.close();
      await cluster.remove();
      throw err;
    }
    return cluster;
  }

  private async setUp(): Promise<void> {
    const { nodes } = this.options;
    await this.startCoordinator();
    this.caPem = await this.coordinator.caPem();
    this.adminToken = (await readFile(join(this.workDir, "admin.token"), "utf8")).trim();
    await writeFile(join(this.workDir, "ca.crt"), this.caPem);
    await this.call<unknown>((c, md, o, cb) => c.setSecret({ name: "k3s-token", value: Buffer.from(K3S_SECRET) }, md, o, cb));

    // The operator's checkout: the example homelab cut down to `nodes`, short deadlines, the given limits.
    await cp(EXAMPLE_DIR, this.checkout, { recursive: true });
    await rm(join(this.checkout, "nodes", "n5.nix"), { force: true });
    await this.editInventory((doc) => {
      for (const n of ["n1", "n2", "n3", "n4", "n5"]) if (!nodes.includes(n)) doc.deleteIn(["nodes", n]);
      doc.setIn(["cluster", "rollout", "max_unavailable"], this.options.limits.total);
      doc.setIn(["cluster", "rollout", "max_unavailable_servers"], this.options.limits.servers);
      const pools = (this.options.limits.pools ?? []).filter((p) => p.nodes.some((n) => nodes.includes(n)));
      for (const p of pools) for (const n of p.nodes) if (nodes.includes(n)) for (const [k, v] of Object.entries(p.selector)) doc.setIn(["nodes", n, "labels", k], v);
      if (pools.length > 0) doc.setIn(["cluster", "rollout", "pools"], pools.map((p) => ({ name: p.name, selector: p.selector, max_unavailable: p.max })));
      // Short: a bad bundle rolls back after this long, and the schedules must stay short.
      doc.setIn(["cluster", "rollout", "health_deadline_seconds"], 6);
      doc.setIn(["cluster", "rollout", "drain_timeout_seconds"], 20);
      doc.setIn(["cluster", "rollout", "reboot_timeout_seconds"], 30);
    });
    const inventory = parseDocument(await readFile(join(this.checkout, "inventory.yaml"), "utf8")).toJS() as { nodes: Record<string, { role: string }> };
    for (const node of nodes) this.roles.set(node, inventory.nodes[node]!.role);
    await this.git("init", "-q", "-b", "main");
    await this.git("config", "http.sslCAInfo", join(this.workDir, "ca.crt"));
    await this.git("remote", "add", "nk", `https://ops:${this.adminToken}@127.0.0.1:${this.coordinator.httpPort}/git/inventory.git`);
    const first = await this.push("initial inventory");
    if (!first.acked) throw new Error(`initial push failed: ${first.error}`);

    for (const node of nodes) {
      const dir = join(this.workDir, "nodes", node);
      await mkdir(join(dir, "system"), { recursive: true });
      await writeFile(join(dir, "system", "commands.json"), JSON.stringify(HEALTHY_COMMANDS));
      const { token } = await this.call<{ token: string }>((c, md, o, cb) => c.enrollNode({ node }, md, o, cb));
      this.tokens.set(node, token);
      await writeFile(join(dir, "token"), `${token}\n`, { mode: 0o600 });
      const proxy = await TcpProxy.start({ port: this.coordinator.grpcPort });
      this.proxies.set(node, proxy);
      const spec = { node, coordinators: [proxy.address], caFile: join(this.workDir, "ca.crt"), tokenFile: join(dir, "token"), dir, timeScale: this.options.timeScale ?? 0.05, reportIntervalSeconds: 1, logLevel: this.options.logLevel ?? "info" };
      const onExit = this.options.onAgentExit;
      this.agents.set(node, new SimAgentProcess(spec, { rebootDelayMs: 300, ...(onExit ? { onExit: (e: AgentExit) => onExit(e, Date.now()) } : {}) }));
    }
    await Promise.all([...this.agents.values()].map((a) => a.start()));
  }

  git(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    const env = { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_AUTHOR_NAME: "ops", GIT_AUTHOR_EMAIL: "ops@example.invalid", GIT_COMMITTER_NAME: "ops", GIT_COMMITTER_EMAIL: "ops@example.invalid" };
    return run("git", ["-c", "credential.helper=", ...args], { cwd: this.checkout, env, timeout: 30_000, maxBuffer: 16 * 1024 * 1024 });
  }

  async editInventory(edit: (doc: ReturnType<typeof parseDocument>) => void): Promise<void> {
    const path = join(this.checkout, "inventory.yaml");
    const doc = parseDocument(await readFile(path, "utf8"));
    edit(doc);
    await writeFile(path, doc.toString());
  }

  /** Writes (or with null removes) a file in the checkout. */
  async writeRepoFile(path: string, content: string | null): Promise<void> {
    const full = join(this.checkout, path);
    if (content === null) return rm(full, { force: true });
    await mkdir(join(full, ".."), { recursive: true });
    await writeFile(full, content);
  }

  /** Each node's bundle sha256 for the checkout as it is now, rendered as the coordinator renders it. */
  async renderedShas(): Promise<Map<string, string>> {
    const files = await readRepoDir(this.checkout);
    const { inventory, diagnostics } = validateRepo(files);
    if (!inventory) throw new Error(`the chaos checkout does not validate: ${JSON.stringify(diagnostics)}`);
    return new Map([...renderCluster(inventory, files)].map(([node, b]) => [node, b.sha256]));
  }

  /** Commits whatever the checkout holds and pushes it; a failed push leaves the commit for the next one. */
  push(message: string): Promise<PushResult> {
    const run = this.pushes.then(async (): Promise<PushResult> => {
      await this.git("add", "-A");
      await this.git("commit", "-q", "--allow-empty", "-m", message);
      const sha = (await this.git("rev-parse", "HEAD")).stdout.trim();
      const startedAtMs = Date.now();
      try {
        await this.git("push", "-q", "nk", "main");
        return { sha, acked: true, startedAtMs };
      } catch (err) {
        return { sha, acked: false, startedAtMs, error: ((err as { stderr?: string }).stderr ?? String(err)).trim().slice(0, 300) };
      }
    });
    this.pushes = run.catch(() => undefined);
    return run;
  }

  /** kill -9; serialised with starts. */
  killCoordinator(after?: () => Promise<void>): Promise<void> {
    return this.coordinatorOp(async () => {
      if (!this.coordinatorUp) return;
      this.coordinatorUp = false;
      await this.coordinator.kill();
      await after?.();
    });
  }

  startCoordinator(): Promise<void> {
    return this.coordinatorOp(async () => {
      if (this.coordinatorUp) return;
      await this.coordinator.start(60_000);
      this.coordinatorUp = true;
    });
  }

  private coordinatorOp(op: () => Promise<void>): Promise<void> {
    const next = this.coordinatorOps.then(op);
    this.coordinatorOps = next.catch(() => undefined);
    return next;
  }

  /** A unary admin call with a deadline, over one channel that reconnects quickly after a restart. */
  call<T>(fn: (c: AdminServiceClient, md: Metadata, options: CallOptions, cb: (err: Error | null, res: T) => void) => unknown, timeoutMs = 5_000): Promise<T> {
    if (!this.admin) {
      const client = new AdminServiceClient(this.coordinator.grpcAddress, credentials.createSsl(Buffer.from(this.caPem)), {
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 500,
      });
      const md = new Metadata();
      md.set(AUTH_HEADER, bearer(this.adminToken));
      this.admin = { client, md };
    }
    const { client, md } = this.admin;
    return new Promise<T>((resolve, reject) => fn(client, md, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res))));
  }

  status(): Promise<GetStatusResponse> {
    return this.call<GetStatusResponse>((c, md, o, cb) => c.getStatus({}, md, o, cb));
  }

  /** Uses a node's enrollment token the way its agent does: fetches its k3s token secret. */
  async fetchSecretAs(node: string): Promise<string> {
    const client = new CoordinatorClient({ addresses: [this.coordinator.grpcAddress], node, token: this.tokens.get(node)!, ca: this.caPem, callTimeoutMs: 5_000 });
    try {
      return (await client.fetchSecrets(["k3s-token"])).get("k3s-token")?.toString() ?? "";
    } finally {
      client.close();
    }
  }

  setFaults(node: string, faults: Faults): Promise<void> {
    return writeFaults(this.simDir(node), faults);
  }

  async setCeph(node: string, healthy: boolean): Promise<void> {
    const commands = { ...HEALTHY_COMMANDS, ...(healthy ? {} : { "ceph health": { stdout: "HEALTH_WARN 1 osds down\n" } }) };
    // Its own temp file: two overlapping flaps of one node write at once (seed 20340003).
    await writeFileAtomic(join(this.simDir(node), "commands.json"), JSON.stringify(commands), 0o644, { durable: false });
  }

  async close(): Promise<void> {
    this.admin?.client.close();
    await Promise.all([...this.agents.values()].map((a) => a.stop()));
    await this.coordinator.stop().catch(() => undefined);
    for (const p of this.proxies.values()) await p.close();
    await this.kube.close();
  }

  async remove(): Promise<void> {
    await rm(this.workDir, { recursive: true, force: true });
  }
}
