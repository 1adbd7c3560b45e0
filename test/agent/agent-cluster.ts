// A three-node simulated cluster for the agent's integration tests: real coordinator, one agent process per
// node on SimSystem, the fake kube-apiserver, plus readers for the sim dirs, the agents' state and the events.
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseDocument } from "yaml";
import type { EnrollNodeRequest, EnrollNodeResponse, GetStatusRequest, GetStatusResponse, NodeStatus } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { ApplyPhase, type Event } from "../../shared/src/proto/gen/nk/v1/common.js";
import { FakeKubeApiserver } from "../../coordinator/src/kube/fake-kube-apiserver.js";
import { writeFaults, type Faults } from "../../agent/src/system/index.js";
import { simEtcdSnapshots } from "../../agent/src/system/sim-etcd-snapshot.js";
import { SimMachineDir } from "../../agent/src/system/sim-machine-dir.js";
import { SimAgentProcess } from "../../demo/agent-supervisor.js";
import { adminCall, eventually, startHarness, type Harness } from "../support/coordinator-harness.js";
import { disruptionWindows, type DisruptionWindow } from "../support/disruption-windows.js";
import { HEALTHY_COMMANDS } from "../support/healthy-commands.js";

export const NODES = ["n1", "n2", "n3"] as const;
export type Doc = ReturnType<typeof parseDocument>;

/** What a simulated machine shows on disk (generations, running and booted systems, boot default). */
export interface Machine {
  readonly generations: number[];
  /** The system path of each generation, oldest first. */
  readonly generationSystems: string[];
  readonly currentSystem: string;
  readonly bootedSystem: string;
  /** The system path of the boot-default generation. */
  readonly bootDefault: string;
  readonly bootId: string;
  /** Store paths the simulated builds produced (one meta.json each). */
  readonly builtSystems: string[];
}

export interface AgentCluster {
  readonly harness: Harness;
  readonly kube: FakeKubeApiserver;
  readonly agents: Map<string, SimAgentProcess>;
  /** Edits inventory.yaml in the checkout (no push). */
  edit(mutate: (doc: Doc) => void): Promise<void>;
  /** Writes (or with null removes) a file in the checkout (no push). */
  writeRepoFile(path: string, content: string | null): Promise<void>;
  /** Commits and pushes the checkout; resolves with the new revision. */
  push(message: string): Promise<string>;
  status(): Promise<GetStatusResponse>;
  node(name: string): Promise<NodeStatus>;
  /** Waits for a node to satisfy `probe`, failing with the node's last status. */
  waitNode(name: string, probe: (n: NodeStatus) => boolean, what: string, timeoutMs?: number): Promise<NodeStatus>;
  /** Every node runs its desired bundle, connected, nothing held or queued. */
  converged(timeoutMs?: number): Promise<GetStatusResponse>;
  /** The coordinator's event journal, oldest first. */
  events(): Promise<Event[]>;
  machine(name: string): Promise<Machine>;
  /** The etcd snapshot files on the node's simulated disk (k3s's snapshot directory), sorted. */
  etcdSnapshots(name: string): Promise<string[]>;
  /** The agent's bundle directories and where each one's `result` GC root points (null: none). */
  bundleDirs(name: string): Promise<{ name: string; result: string | null }[]>;
  setFaults(name: string, faults: Faults): Promise<void>;
  /** Faults of the node's builder (builders mode): build-error, build-hang. */
  setBuilderFaults(name: string, faults: Faults): Promise<void>;
  /** The agent process's log (pino JSON lines, debug level). */
  agentLog(name: string): Promise<string>;
  /** The agent's state directory (state.json, bundles, nk-agent retry's request). */
  stateDir(name: string): string;
  /** The agent's persisted state.json. */
  agentState(name: string): Promise<{ phase: string; lease: { fencingToken: number } | null }>;
  /** Stops the agent, deletes its state.json (a lost or wiped disk) and starts it again. */
  loseState(name: string): Promise<void>;
  /**
   * Does what nk-agent-guard does when a new agent never came up: with the agent stopped, switches the machine back to
   * the generation before the current one and leaves guard/rolled-back.json; then starts the (previous) agent.
   */
  guardRollback(name: string, reason: string): Promise<{ from: string; to: string }>;
  /** The node's own token (what its agent authenticates with). */
  nodeToken(name: string): Promise<string>;
  disruptions(): DisruptionWindow[];
  close(): Promise<void>;
}

export interface AgentClusterOptions {
  /** Seconds; the inventory's minimum is 5. */
  readonly healthDeadlineSeconds?: number;
  /** Nodes whose agents also run a (simulated) builder, signing as this key. */
  readonly builders?: { readonly nodes: readonly string[]; readonly simPublicKey: string };
  /** Inventory edits pushed with the one-at-a-time limits once the first install converged (one push, not two). */
  readonly afterInstall?: (doc: Doc) => void;
}

const brief = (n: NodeStatus) => ({ name: n.name, phase: ApplyPhase[n.phase], applied: n.appliedSha256.slice(0, 8), desired: n.desiredSha256.slice(0, 8), healthy: n.health?.healthy, connected: n.connected, error: n.lastError });

async function readTrim(path: string): Promise<string> {
  return (await readFile(path, "utf8")).trim();
}

/** Resolves once every node converged on the inventory (with n4 and n5 removed). */
export async function startAgentCluster(options: AgentClusterOptions = {}): Promise<AgentCluster> {
  const kube = await FakeKubeApiserver.start();
  const workDir = await mkdtemp(join(tmpdir(), "nk-agent-it-"));
  const kubeconfig = join(workDir, "kubeconfig");
  await writeFile(kubeconfig, kube.kubeconfigYaml());
  const harness = await startHarness({ heartbeatSeconds: 1, healthCheckIntervalSeconds: 1, kubeconfigFile: kubeconfig });
  for (const node of NODES) kube.setNode({ name: node, ready: true });
  const { client, metadata } = harness.admin();
  await adminCall(client.setSecret.bind(client), { name: "k3s-token", value: Buffer.from("k3s-secret-token-value") }, metadata);
  const caFile = join(workDir, "ca.crt");
  await writeFile(caFile, harness.coordinator.caPem);

  const edit = async (mutate: (doc: Doc) => void): Promise<void> => {
    const path = join(harness.checkout, "inventory.yaml");
    const doc = parseDocument(await readFile(path, "utf8"));
    mutate(doc);
    await writeFile(path, doc.toString());
  };
  const writeRepoFile = async (path: string, content: string | null): Promise<void> => {
    const full = join(harness.checkout, path);
    if (content === null) return rm(full, { force: true });
    await mkdir(join(full, ".."), { recursive: true });
    await writeFile(full, content);
  };
  const push = async (message: string): Promise<string> => {
    await harness.push(message);
    return (await harness.git("rev-parse", "HEAD")).stdout.trim();
  };

  // Three servers (an odd etcd quorum); n4, n5 and n5's extra file go. Short deadlines so failures show in seconds.
  await writeRepoFile("nodes/n5.nix", null);
  await edit((doc) => {
    doc.deleteIn(["nodes", "n4"]);
    doc.deleteIn(["nodes", "n5"]);
    doc.setIn(["cluster", "rollout", "health_deadline_seconds"], options.healthDeadlineSeconds ?? 20);
    doc.setIn(["cluster", "rollout", "drain_timeout_seconds"], 20);
    doc.setIn(["cluster", "rollout", "reboot_timeout_seconds"], 30);
  });

  const agents = new Map<string, SimAgentProcess>();
  const nodeDir = (node: string) => join(workDir, "nodes", node);
  for (const node of NODES) {
    const dir = nodeDir(node);
    await mkdir(join(dir, "system"), { recursive: true });
    await writeFile(join(dir, "system", "commands.json"), JSON.stringify(HEALTHY_COMMANDS));
    const { token } = await adminCall<EnrollNodeRequest, EnrollNodeResponse>(client.enrollNode.bind(client), { node }, metadata);
    const tokenFile = join(dir, "token");
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    const builder = options.builders?.nodes.includes(node) ? { builder: { simPublicKey: options.builders.simPublicKey } } : {};
    const spec = { node, coordinators: [`127.0.0.1:${harness.coordinator.grpcPort}`], caFile, tokenFile, dir, timeScale: 0.05, reportIntervalSeconds: 1, logLevel: "debug", ...builder };
    agents.set(node, new SimAgentProcess(spec, { rebootDelayMs: 300 }));
  }
  // The first install reboots every node (the sim's initial kernel differs); all at once keeps startup short.
  await edit((doc) => {
    doc.setIn(["cluster", "rollout", "max_unavailable"], NODES.length);
    doc.setIn(["cluster", "rollout", "max_unavailable_servers"], NODES.length);
  });
  await push("initial inventory");
  await Promise.all([...agents.values()].map((a) => a.start()));

  const status = () => adminCall<GetStatusRequest, GetStatusResponse>(client.getStatus.bind(client), {}, metadata);
  const node = async (name: string): Promise<NodeStatus> => {
    const n = (await status()).nodes.find((x) => x.name === name);
    if (!n) throw new Error(`coordinator has no node ${name}`);
    return n;
  };

  const cluster: AgentCluster = {
    harness,
    kube,
    agents,
    edit,
    writeRepoFile,
    push,
    status,
    node,
    async waitNode(name, probe, what, timeoutMs = 20_000) {
      let last: NodeStatus | undefined;
      try {
        return await eventually(async () => ((last = await node(name)), probe(last) ? last : undefined), timeoutMs, `${name}: ${what}`);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${JSON.stringify(last && brief(last))}`);
      }
    },
    async converged(timeoutMs = 30_000) {
      let last: GetStatusResponse | undefined;
      try {
        return await eventually(
          async () => {
            const s = (last = await status());
            const done = s.nodes.length === NODES.length && s.nodes.every((n) => n.desiredSha256 !== "" && n.appliedSha256 === n.desiredSha256 && n.connected && n.phase === ApplyPhase.APPLY_PHASE_CONFIRMED) && s.leases.length === 0;
            return done ? s : undefined;
          },
          timeoutMs,
          "every node to converge",
        );
      } catch (err) {
        const why = last && { rollout: last.rollout, nodes: last.nodes.map(brief), leases: last.leases.map((l) => ({ node: l.node, state: l.state, waiting: l.waitingReason })) };
        throw new Error(`${(err as Error).message}\n${JSON.stringify(why, null, 1)}`);
      }
    },
    events() {
      return new Promise((resolve, reject) => {
        const out: Event[] = [];
        const stream = client.watchEvents({ afterSeq: 0, tail: 100_000, follow: false }, metadata);
        stream.on("data", (r: { event?: Event }) => r.event && out.push(r.event));
        stream.on("error", reject);
        stream.on("end", () => resolve(out));
      });
    },
    async machine(name) {
      const dir = join(nodeDir(name), "system");
      const generations = (await readdir(join(dir, "generations"))).map(Number).filter(Number.isInteger).sort((a, b) => a - b);
      const bootDefaultGen = await readTrim(join(dir, "boot-default"));
      const store = await readdir(join(dir, "store"));
      return {
        generations,
        generationSystems: await Promise.all(generations.map((g) => readTrim(join(dir, "generations", String(g), "system")))),
        currentSystem: await readTrim(join(dir, "current-system")),
        bootedSystem: await readTrim(join(dir, "booted-system")),
        bootDefault: await readTrim(join(dir, "generations", bootDefaultGen, "system")),
        bootId: await readTrim(join(dir, "boot-id")),
        builtSystems: store.filter((s) => !s.endsWith("-initial")).sort(),
      };
    },
    etcdSnapshots: (name) => simEtcdSnapshots(new SimMachineDir(join(nodeDir(name), "system"))),
    async bundleDirs(name) {
      const root = join(nodeDir(name), "state", "bundles");
      const names = (await readdir(root)).sort();
      return Promise.all(names.map(async (n) => ({ name: n, result: await readlink(join(root, n, "result")).catch(() => null) })));
    },
    stateDir: (name) => join(nodeDir(name), "state"),
    agentLog: (name) => readFile(join(nodeDir(name), "agent.log"), "utf8").catch(() => ""),
    setFaults: (name, faults) => writeFaults(join(nodeDir(name), "system"), faults),
    setBuilderFaults: async (name, faults) => {
      await mkdir(join(nodeDir(name), "builder"), { recursive: true });
      await writeFaults(join(nodeDir(name), "builder"), faults);
    },
    async agentState(name) {
      return JSON.parse(await readFile(join(nodeDir(name), "state", "state.json"), "utf8")) as { phase: string; lease: { fencingToken: number } | null };
    },
    async loseState(name) {
      const agent = agents.get(name)!;
      await agent.stop();
      await rm(join(nodeDir(name), "state", "state.json"));
      await agent.start();
    },
    async guardRollback(name, reason) {
      const agent = agents.get(name)!;
      await agent.stop();
      const disk = new SimMachineDir(join(nodeDir(name), "system"));
      const from = await disk.mustRead("current-system");
      const gens = await disk.generations();
      const systems = await Promise.all(gens.map((g) => disk.mustRead(`generations/${g}/system`)));
      const to = systems.slice(0, systems.lastIndexOf(from)).filter((sys) => sys !== from).at(-1);
      if (!to) throw new Error(`${name}: no generation before ${from} to roll back to`);
      await disk.write("current-system", to);
      await mkdir(join(nodeDir(name), "state", "guard"), { recursive: true });
      await writeFile(join(nodeDir(name), "state", "guard", "rolled-back.json"), JSON.stringify({ from, to, package: "/nix/store/sim-nk-agent-new", at: 1, reason }));
      await agent.start();
      return { from, to };
    },
    nodeToken: (name) => readTrim(join(nodeDir(name), "token")),
    disruptions: () => disruptionWindows(kube),
    async close() {
      await Promise.all([...agents.values()].map((a) => a.stop()));
      await harness.close();
      await kube.close();
      await rm(workDir, { recursive: true, force: true });
    },
  };
  try {
    await cluster.converged(90_000);
    // From here on, one disruption at a time, as the example inventory says (no bundle changes with it).
    await edit((doc) => {
      doc.setIn(["cluster", "rollout", "max_unavailable"], 1);
      doc.setIn(["cluster", "rollout", "max_unavailable_servers"], 1);
      options.afterInstall?.(doc);
    });
    const revision = await push("one disruption at a time");
    await eventually(async () => (await status()).rollout?.revision === revision || undefined, 10_000, "the coordinator to adopt the rollout limits");
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}

/** Events of one node (and revision, if given) of the given kinds. */
export function eventsOf(events: readonly Event[], node: string, kinds: readonly string[], revision?: string): Event[] {
  return events.filter((e) => e.node === node && kinds.includes(e.kind) && (revision === undefined || e.revision === revision));
}

/** An extra NixOS file for one node that changes its kernel command line: only that node needs a reboot. */
export function kernelParamsNix(value: string): string {
  return `# test: a kernel parameter, so this node (only) needs a reboot\n{ ... }:\n{\n  boot.kernelParams = [ "nk.test=${value}" ];\n}\n`;
}
