// A simulated cluster whose coordinator is its own process (kill -9 able): agent processes on SimSystem, the fake
// kube-apiserver, an operator's git checkout, the real nkctl, and reboots that can be held to keep a node down.
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { credentials, Metadata } from "@grpc/grpc-js";
import { parseDocument } from "yaml";
import { AdminServiceClient, type EnrollNodeRequest, type EnrollNodeResponse, type GetStatusRequest, type GetStatusResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { ApplyPhase, type Event } from "../../shared/src/proto/gen/nk/v1/common.js";
import { AUTH_HEADER, bearer, dropIpServernameWarning } from "../../shared/src/wire/index.js";
import { SIM_REBOOT_EXIT_CODE, writeFaults, type Faults } from "../../agent/src/system/index.js";
import { FakeKubeApiserver } from "../../coordinator/src/kube/fake-kube-apiserver.js";
import { SimAgentProcess } from "../../demo/agent-supervisor.js";
import { adminCall } from "./admin-call.js";
import { eventually } from "./eventually.js";
import { EXAMPLE_DIR } from "./repo-root.js";
import { CoordinatorProcess } from "./coordinator-process.js";
import { runNkctl, type CliResult } from "./nkctl-runner.js";
import { pinSynthetic } from "./pin-synthetic.js";
import { disruptionWindows, maxConcurrent, type DisruptionWindow } from "./disruption-windows.js";
import { HEALTHY_COMMANDS } from "./healthy-commands.js";
import { writeFileAtomic } from "../../shared/src/fs/index.js";
import { cliEnv } from "./cli-env.js";

const run = promisify(execFile);
export type Doc = ReturnType<typeof parseDocument>;
type Answer = { stdout: string; exitCode?: number };
/** The example inventory's nodes; n1..n3 are servers, n4 and n5 agents. */
const EXAMPLE_NODES = ["n1", "n2", "n3", "n4", "n5"];

export type { CliResult } from "./nkctl-runner.js";

export interface ProcessClusterOptions {
  /** A subset of the example's n1..n5; the others (and their nodes/<n>.nix) leave the inventory. */
  readonly nodes?: readonly string[];
  readonly timeScale?: number;
  /** Applied to inventory.yaml before the first push (after the short deadlines). */
  readonly edit?: (doc: Doc) => void;
  /** Extra coordinator config (merged over heartbeat 1 s, checks every 1 s, deadline grace 0). */
  readonly coordinatorConfig?: Record<string, unknown>;
  /** Simulated programs a node starts with (default HEALTHY_COMMANDS). */
  readonly commands?: (node: string) => Record<string, Answer>;
  /** Time between a simulated reboot and the agent's start (default 300 ms). */
  readonly rebootDelayMs?: number;
  /** Push and start every agent at once (default true); else call launch(). */
  readonly launch?: boolean;
}

export interface ProcessSimCluster {
  readonly coordinator: CoordinatorProcess;
  readonly kube: FakeKubeApiserver;
  readonly agents: ReadonlyMap<string, SimAgentProcess>;
  readonly nodes: readonly string[];
  readonly roles: ReadonlyMap<string, string>;
  readonly workDir: string;
  /** Pushes the checkout and starts the agents of `only` (default all). */
  launch(only?: readonly string[]): Promise<void>;
  editAndPush(message: string, mutate: (doc: Doc) => void): Promise<string>;
  /** Writes (null: removes) a file of the checkout, no push. */
  writeRepoFile(path: string, content: string | null): Promise<void>;
  push(message: string): Promise<string>;
  status(): Promise<GetStatusResponse>;
  events(): Promise<Event[]>;
  /** Every listed node runs its desired bundle, confirmed and connected; nothing held or queued. */
  converged(timeoutMs?: number, nodes?: readonly string[]): Promise<GetStatusResponse>;
  setCommand(node: string, command: string, answer: Answer): Promise<void>;
  /** Writes the node's SimSystem faults.json (read live). */
  setFaults(node: string, faults: Faults): Promise<void>;
  disruptions(): DisruptionWindow[];
  /** Most windows open at once: over all nodes, and over servers only. */
  peaks(windows?: readonly DisruptionWindow[]): { total: number; servers: number };
  /** Runs bin/nkctl.js against this coordinator (the admin token unless `tokenFile` says otherwise). */
  nkctl(args: readonly string[], options?: { stdin?: string; tokenFile?: string }): Promise<CliResult>;
  /** While on, an agent that exits for a reboot stays down (a machine that does not come back) until bringBack. */
  holdReboots(on: boolean): void;
  /** Nodes whose reboot was held, in order. */
  readonly held: readonly string[];
  bringBack(node: string): Promise<void>;
  close(): Promise<void>;
}

const brief = (s: GetStatusResponse) => ({
  rollout: s.rollout,
  nodes: s.nodes.map((n) => ({ name: n.name, phase: ApplyPhase[n.phase], applied: n.appliedSha256.slice(0, 8), desired: n.desiredSha256.slice(0, 8), healthy: n.health?.healthy, error: n.lastError, connected: n.connected })),
  leases: s.leases.map((l) => ({ node: l.node, state: l.state, token: l.fencingToken, waiting: l.waitingReason })),
});

export async function startProcessCluster(options: ProcessClusterOptions = {}): Promise<ProcessSimCluster> {
  dropIpServernameWarning();
  const nodes = options.nodes ?? EXAMPLE_NODES;
  const workDir = await mkdtemp(join(tmpdir(), "nk-simproc-"));
  const kube = await FakeKubeApiserver.start();
  for (const node of nodes) kube.setNode({ name: node, ready: true });
  await writeFile(join(workDir, "kubeconfig"), kube.kubeconfigYaml());
  const coordinator = new CoordinatorProcess({
    stateDir: join(workDir, "state"),
    logFile: join(workDir, "coordinator.log"),
    config: { kubeconfigFile: join(workDir, "kubeconfig"), heartbeatSeconds: 1, healthCheckIntervalSeconds: 1, leaseDeadlineGraceSeconds: 0, logLevel: "info", ...options.coordinatorConfig },
  });
  const agents = new Map<string, SimAgentProcess>();
  const held: string[] = [];
  let holding = false;
  let admin: AdminServiceClient | null = null;
  const close = async (): Promise<void> => {
    holding = false;
    await Promise.all([...agents.values()].map((a) => a.stop()));
    admin?.close();
    await coordinator.stop();
    await kube.close();
    await rm(workDir, { recursive: true, force: true });
  };
  try {
    await coordinator.start();
    const token = await coordinator.adminToken();
    const caFile = join(workDir, "ca.crt");
    const tokenFile = join(workDir, "admin.token");
    await writeFile(caFile, await coordinator.caPem());
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    admin = new AdminServiceClient(coordinator.grpcAddress, credentials.createSsl(Buffer.from(await coordinator.caPem())));
    const client = admin;
    const md = new Metadata();
    md.set(AUTH_HEADER, bearer(token));
    await adminCall(client.setSecret.bind(client), { name: "k3s-token", value: Buffer.from("k3s-secret-token-value") }, md);

    const checkout = join(workDir, "checkout");
    await cp(EXAMPLE_DIR, checkout, { recursive: true });
    const env = { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_AUTHOR_NAME: "ops", GIT_AUTHOR_EMAIL: "ops@example.invalid", GIT_COMMITTER_NAME: "ops", GIT_COMMITTER_EMAIL: "ops@example.invalid" };
    const git = (...args: string[]) => run("git", ["-c", "credential.helper=", ...args], { cwd: checkout, env });
    await git("init", "-q", "-b", "main");
    await git("config", "http.sslCAInfo", caFile);
    await git("remote", "add", "nk", `https://ops:${token}@127.0.0.1:${coordinator.httpPort}/git/inventory.git`);
    const edit = async (mutate: (doc: Doc) => void): Promise<void> => {
      const path = join(checkout, "inventory.yaml");
      const doc = parseDocument(await readFile(path, "utf8"));
      mutate(doc);
      await writeFile(path, doc.toString());
      await pinSynthetic(checkout);
    };
    const writeRepoFile = async (path: string, content: string | null): Promise<void> => {
      if (content === null) return rm(join(checkout, path), { force: true });
      await mkdir(dirname(join(checkout, path)), { recursive: true });
      await writeFile(join(checkout, path), content);
    };
    const push = async (message: string): Promise<string> => {
      await git("add", "-A");
      await git("commit", "-q", "--allow-empty", "-m", message);
      try {
        await git("push", "-q", "nk", "main");
      } catch (err) {
        throw new Error(`push failed: ${(err as { stderr?: string }).stderr ?? String(err)}`);
      }
      return (await git("rev-parse", "HEAD")).stdout.trim();
    };

    const dropped = EXAMPLE_NODES.filter((n) => !nodes.includes(n));
    const roles = new Map<string, string>();
    await edit((doc) => {
      for (const n of dropped) doc.deleteIn(["nodes", n]);
      // Short deadlines so a failure shows in seconds, not minutes.
      doc.setIn(["cluster", "rollout", "health_deadline_seconds"], 20);
      doc.setIn(["cluster", "rollout", "drain_timeout_seconds"], 20);
      doc.setIn(["cluster", "rollout", "reboot_timeout_seconds"], 30);
      options.edit?.(doc);
      for (const n of nodes) roles.set(n, String(doc.getIn(["nodes", n, "role"])));
    });
    for (const n of dropped) await writeRepoFile(`nodes/${n}.nix`, null);

    const nodeDir = (node: string) => join(workDir, "nodes", node);
    for (const node of nodes) {
      const dir = nodeDir(node);
      await mkdir(join(dir, "system"), { recursive: true });
      await writeFile(join(dir, "system", "commands.json"), JSON.stringify(options.commands?.(node) ?? HEALTHY_COMMANDS));
      const { token: nodeToken } = await adminCall<EnrollNodeRequest, EnrollNodeResponse>(client.enrollNode.bind(client), { node }, md);
      await writeFile(join(dir, "token"), `${nodeToken}\n`, { mode: 0o600 });
      const spec = { node, coordinators: [coordinator.grpcAddress], caFile, tokenFile: join(dir, "token"), dir, timeScale: options.timeScale ?? 0.05, reportIntervalSeconds: 1, logLevel: "info" };
      const agent: SimAgentProcess = new SimAgentProcess(spec, {
        rebootDelayMs: options.rebootDelayMs ?? 300,
        // Stopping from inside the exit callback cancels the supervisor's restart: the machine stays off.
        onExit: (exit) => {
          if (holding && exit.code === SIM_REBOOT_EXIT_CODE) {
            held.push(node);
            void agent.stop();
          }
        },
      });
      agents.set(node, agent);
    }

    const status = () => adminCall<GetStatusRequest, GetStatusResponse>(client.getStatus.bind(client), {}, md);
    const nkctlEnv = cliEnv(workDir);
    const cluster: ProcessSimCluster = {
      coordinator,
      kube,
      agents,
      nodes,
      roles,
      workDir,
      held,
      async launch(only: readonly string[] = nodes) {
        await push("initial inventory");
        await Promise.all(only.map((n) => agents.get(n)!.start()));
      },
      async editAndPush(message: string, mutate: (doc: Doc) => void) {
        await edit(mutate);
        return push(message);
      },
      writeRepoFile,
      push,
      status,
      events: () =>
        new Promise<Event[]>((resolve, reject) => {
          const out: Event[] = [];
          const stream = client.watchEvents({ afterSeq: 0, tail: 100_000, follow: false }, md);
          stream.on("data", (r: { event?: Event }) => r.event && out.push(r.event));
          stream.on("error", reject);
          stream.on("end", () => resolve(out));
        }),
      async converged(timeoutMs = 60_000, which: readonly string[] = nodes) {
        let last: GetStatusResponse | undefined;
        try {
          return await eventually(
            async () => {
              const s = (last = await status().catch(() => undefined));
              if (!s) return undefined;
              const listed = s.nodes.filter((n) => which.includes(n.name));
              const done = listed.length === which.length && listed.every((n) => n.desiredSha256 !== "" && n.appliedSha256 === n.desiredSha256 && n.connected && n.phase === ApplyPhase.APPLY_PHASE_CONFIRMED) && s.leases.length === 0;
              return done ? s : undefined;
            },
            timeoutMs,
            "every node to converge",
          );
        } catch (err) {
          throw new Error(`${(err as Error).message}\n${JSON.stringify(last && brief(last), null, 1)}`);
        }
      },
      async setCommand(node: string, command: string, answer: Answer) {
        const path = join(nodeDir(node), "system", "commands.json");
        const current = JSON.parse(await readFile(path, "utf8")) as Record<string, Answer>;
        await writeFileAtomic(path, JSON.stringify({ ...current, [command]: answer }), 0o644, { durable: false });
      },
      setFaults: (node: string, faults: Faults) => writeFaults(join(nodeDir(node), "system"), faults),
      disruptions: () => disruptionWindows(kube),
      peaks(windows: readonly DisruptionWindow[] = disruptionWindows(kube)) {
        return { total: maxConcurrent(windows), servers: maxConcurrent(windows.filter((w) => roles.get(w.node) === "server")) };
      },
      nkctl: (args: readonly string[], options: { stdin?: string; tokenFile?: string } = {}) =>
        runNkctl(args, { flags: ["--coordinator", coordinator.grpcAddress, "--ca-file", caFile, "--token-file", options.tokenFile ?? tokenFile], env: nkctlEnv, ...(options.stdin === undefined ? {} : { stdin: options.stdin }) }),
      holdReboots(on: boolean) {
        holding = on;
      },
      async bringBack(node: string) {
        await agents.get(node)!.start();
      },
      close,
    };
    if (options.launch ?? true) await cluster.launch();
    return cluster;
  } catch (err) {
    await close();
    throw err;
  }
}
