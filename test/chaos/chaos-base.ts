// What every chaos environment shares, whatever runs the coordinators: the operator's checkout (edits, renders,
// serialised pushes), the simulated machines (faults, flapping health), one supervised agent process per node,
// the fake kube-apiserver, and admin calls. ChaosCluster (one coordinator, file store) and HaCluster (three on etcd)
// add the coordinators and what the chaos cuts.
import { execFile } from "node:child_process";
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { credentials, Metadata, type CallOptions } from "@grpc/grpc-js";
import { parseDocument } from "yaml";
import { AdminServiceClient, type GetStatusResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { AUTH_HEADER, bearer } from "../../shared/src/wire/index.js";
import { validateRepo } from "../../shared/src/inventory/index.js";
import { renderCluster } from "../../shared/src/render/index.js";
import { readRepoDir } from "../../nkctl/src/repo-files.js";
import type { FakeKubeApiserver } from "../../coordinator/src/kube/fake-kube-apiserver.js";
import { writeFaults, type Faults } from "../../agent/src/system/index.js";
import { CoordinatorClient } from "../../agent/src/client/index.js";
import { SimAgentProcess, type AgentExit } from "../../demo/agent-supervisor.js";
import { EXAMPLE_DIR } from "../support/repo-root.js";
import { HEALTHY_COMMANDS } from "../support/healthy-commands.js";
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
  /** git push exited 0: the revision was acknowledged (by the coordinator, or by the upstream it follows). */
  readonly acked: boolean;
  /** When git push started (no coordinator can have adopted the revision before). */
  readonly startedAtMs: number;
  readonly error?: string;
  /** Each node's bundle sha256 rendered from the commit (none when it does not validate: a push meant to be refused). */
  readonly shas?: ReadonlyMap<string, string>;
}

/** A network path the chaos can cut (one TCP proxy, or all of a node's proxies). */
export interface Cuttable {
  cut(): void;
  restore(): void;
  heal(): void;
}

type AdminCall<T> = (c: AdminServiceClient, md: Metadata, options: CallOptions, cb: (err: Error | null, res: T) => void) => unknown;

export abstract class ChaosBase {
  readonly agents = new Map<string, SimAgentProcess>();
  readonly tokens = new Map<string, string>();
  readonly roles = new Map<string, string>();
  /** Each node's path to the coordinators. */
  abstract readonly proxies: ReadonlyMap<string, Cuttable>;
  private readonly admins = new Map<string, { client: AdminServiceClient; md: Metadata }>();
  private pushes: Promise<unknown> = Promise.resolve();
  /** The checkout's files as last rendered, and what they rendered to (see renderedShas). */
  private lastRender: { files: ReadonlyMap<string, string>; shas: ReadonlyMap<string, string> } | null = null;
  caPem = "";
  protected adminToken = "";

  protected constructor(
    readonly options: ChaosClusterOptions,
    readonly workDir: string,
    readonly kube: FakeKubeApiserver,
  ) {}

  get checkout(): string {
    return join(this.workDir, "checkout");
  }

  /** Where the node's agent writes its log (appended across its restarts). */
  agentLog(node: string): string {
    return join(this.workDir, "nodes", node, "agent.log");
  }

  simDir(node: string): string {
    return join(this.workDir, "nodes", node, "system");
  }

  /** kill -9 of a coordinator (the only one, or the leader), `after` run while it is down. */
  abstract killCoordinator(after?: () => Promise<void>): Promise<void>;
  /** Every coordinator (and what it depends on) up again. */
  abstract startCoordinator(): Promise<void>;
  /** Sends the checkout's HEAD where the coordinators take revisions from; resolves when acknowledged or refused. */
  protected abstract pushHead(): Promise<void>;
  /** The gRPC address admin calls go to now. */
  protected abstract adminAddress(): Promise<string>;
  /** Every address an agent may use, for secret fetches. */
  protected abstract coordinatorAddresses(): string[];
  /** Acknowledged pushes the coordinators' repos lack. */
  abstract missingPushes(acked: readonly string[]): Promise<string[]>;
  /** Enrolled nodes missing from the durable store. */
  abstract missingNodes(): Promise<string[]>;
  abstract close(): Promise<void>;

  /** Runs a new cluster's set-up; one that fails is closed and its folder removed before the error goes on. */
  protected static async setUpOrDiscard<T extends ChaosBase>(cluster: T, setUp: () => Promise<void>): Promise<T> {
    try {
      await setUp();
    } catch (err) {
      await cluster.close();
      await cluster.remove();
      throw err;
    }
    return cluster;
  }

  async remove(): Promise<void> {
    await rm(this.workDir, { recursive: true, force: true });
  }

  /** The operator's checkout: the example homelab cut down to `nodes`, short deadlines, the given limits. */
  protected async prepareCheckout(): Promise<void> {
    const { nodes } = this.options;
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
  }

  /** The secret the inventory's k3s token_secret names: a revision that names a missing secret is refused. */
  protected async setK3sSecret(): Promise<void> {
    await this.setupCall<unknown>((c, md, o, cb) => c.setSecret({ name: "k3s-token", value: Buffer.from(K3S_SECRET) }, md, o, cb));
  }

  /**
   * A setup call, retried: on a loaded machine a fresh TLS channel to a coordinator (three of them, on etcd) can take
   * longer than one deadline. Both setup calls may run twice: a second enrollment replaces the first token.
   */
  private async setupCall<T>(fn: AdminCall<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.call(fn, 20_000);
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
  }

  /** Enrolls every node and starts its agent, which reaches the coordinators at `addresses(node)`. */
  protected async startAgents(addresses: (node: string) => Promise<string[]>): Promise<void> {
    await writeFile(join(this.workDir, "ca.crt"), this.caPem);
    for (const node of this.options.nodes) {
      const dir = join(this.workDir, "nodes", node);
      await mkdir(join(dir, "system"), { recursive: true });
      await writeFile(join(dir, "system", "commands.json"), JSON.stringify(HEALTHY_COMMANDS));
      const { token } = await this.setupCall<{ token: string }>((c, md, o, cb) => c.enrollNode({ node }, md, o, cb));
      this.tokens.set(node, token);
      await writeFile(join(dir, "token"), `${token}\n`, { mode: 0o600 });
      const spec = { node, coordinators: await addresses(node), caFile: join(this.workDir, "ca.crt"), tokenFile: join(dir, "token"), dir, timeScale: this.options.timeScale ?? 0.05, reportIntervalSeconds: 1, logLevel: this.options.logLevel ?? "info" };
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

  /**
   * Each node's bundle sha256 for the checkout as it is now, rendered as the coordinator renders it. The files are
   * read every time; the render (validation and rendering, pure functions of the files) is done again only when they
   * differ from the last render's: a bad push's fault injection and its push, and the final push and convergence's
   * expected bundles, each read one and the same checkout.
   */
  async renderedShas(): Promise<Map<string, string>> {
    const files = await readRepoDir(this.checkout);
    const last = this.lastRender;
    if (last && sameFiles(last.files, files)) return new Map(last.shas);
    const { inventory, diagnostics } = validateRepo(files);
    if (!inventory) throw new Error(`the chaos checkout does not validate: ${JSON.stringify(diagnostics)}`);
    const shas = new Map([...renderCluster(inventory, files)].map(([node, b]) => [node, b.sha256]));
    this.lastRender = { files, shas: new Map(shas) };
    return shas;
  }

  /** Commits whatever the checkout holds and pushes it; a failed push leaves the commit for the next one. */
  push(message: string): Promise<PushResult> {
    const run = this.pushes.then(async (): Promise<PushResult> => {
      await this.git("add", "-A");
      await this.git("commit", "-q", "--allow-empty", "-m", message);
      const sha = (await this.git("rev-parse", "HEAD")).stdout.trim();
      const shas = await this.renderedShas().catch(() => undefined);
      const startedAtMs = Date.now();
      try {
        await this.pushHead();
        return { sha, acked: true, startedAtMs, ...(shas && { shas }) };
      } catch (err) {
        return { sha, acked: false, startedAtMs, error: ((err as { stderr?: string }).stderr ?? String(err)).trim().slice(0, 300), ...(shas && { shas }) };
      }
    });
    this.pushes = run.catch(() => undefined);
    return run;
  }

  /** A unary admin call with a deadline to the coordinator admin calls go to now. */
  async call<T>(fn: AdminCall<T>, timeoutMs = 5_000): Promise<T> {
    return this.callAt(await this.adminAddress(), fn, timeoutMs);
  }

  /** A unary admin call to one coordinator, over one channel per address that reconnects quickly after a restart. */
  callAt<T>(address: string, fn: AdminCall<T>, timeoutMs = 5_000): Promise<T> {
    let admin = this.admins.get(address);
    if (!admin) {
      const client = new AdminServiceClient(address, credentials.createSsl(Buffer.from(this.caPem)), {
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 500,
      });
      const md = new Metadata();
      md.set(AUTH_HEADER, bearer(this.adminToken));
      admin = { client, md };
      this.admins.set(address, admin);
    }
    const { client, md } = admin;
    return new Promise<T>((resolve, reject) => fn(client, md, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res))));
  }

  status(): Promise<GetStatusResponse> {
    return this.call<GetStatusResponse>((c, md, o, cb) => c.getStatus({}, md, o, cb));
  }

  /** Uses a node's enrollment token the way its agent does: fetches its k3s token secret. */
  async fetchSecretAs(node: string): Promise<string> {
    const client = new CoordinatorClient({ addresses: this.coordinatorAddresses(), node, token: this.tokens.get(node)!, ca: this.caPem, callTimeoutMs: 5_000 });
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

  protected closeAdmin(): void {
    for (const { client } of this.admins.values()) client.close();
    this.admins.clear();
  }

  protected async stopAgents(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.stop()));
  }
}

/** Same paths with the same contents. */
function sameFiles(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [path, text] of a) if (b.get(path) !== text) return false;
  return true;
}
