// A whole simulated cluster for e2e tests: a real coordinator, one agent process per node on SimSystem,
// a fake kube-apiserver (the only fake: no real one can run here), and an independent disruption recorder.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseDocument } from "yaml";
import type { EnrollNodeRequest, EnrollNodeResponse, GetStatusRequest, GetStatusResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { FakeKubeApiserver } from "../../coordinator/src/kube/fake-kube-apiserver.js";
import { SimAgentProcess } from "../../demo/agent-supervisor.js";
import { pinSynthetic } from "./pin-synthetic.js";
import { adminCall, eventually, startHarness, type Harness } from "./coordinator-harness.js";
import { HEALTHY_COMMANDS } from "./healthy-commands.js";
import { disruptionWindows, type DisruptionWindow } from "./disruption-windows.js";

// Re-exported for the tests that start a cluster; a test that needs only these imports their own files (this one
// loads the whole coordinator into its worker).
export { disruptionWindows, maxConcurrent, type DisruptionWindow } from "./disruption-windows.js";
export { HEALTHY_COMMANDS } from "./healthy-commands.js";

export interface SimCluster {
  readonly harness: Harness;
  readonly kube: FakeKubeApiserver;
  readonly agents: Map<string, SimAgentProcess>;
  readonly nodes: readonly string[];
  /** Edits inventory.yaml in the checkout with a function over the parsed document, then pushes. */
  editAndPush(message: string, edit: (doc: ReturnType<typeof parseDocument>) => void): Promise<string>;
  status(): Promise<GetStatusResponse>;
  /** Waits until every node runs its desired bundle and nothing is held or queued. */
  converged(timeoutMs?: number): Promise<GetStatusResponse>;
  simDir(node: string): string;
  /** Sets a simulated program's answer on one node (e.g. ceph health). */
  setCommand(node: string, command: string, answer: { stdout: string; exitCode?: number }): Promise<void>;
  disruptions(): DisruptionWindow[];
  close(): Promise<void>;
}

export interface SimClusterOptions {
  readonly nodes?: readonly string[];
  readonly timeScale?: number;
  /** Applied to the example inventory before the first push. */
  readonly edit?: (doc: ReturnType<typeof parseDocument>) => void;
  /** Repo files to write (or, with null, remove) before the first push. */
  readonly files?: Readonly<Record<string, string | null>>;
  /** Secrets set in the coordinator besides k3s-token, before the first push. */
  readonly secrets?: Readonly<Record<string, string>>;
  /**
   * The first install (a reboot everywhere: the sim's initial kernel differs) on every node at once, then the
   * inventory's own limits pushed and adopted before this resolves; for files that check nothing of that install.
   */
  readonly installAtOnce?: boolean;
}

export async function startSimCluster(options: SimClusterOptions = {}): Promise<SimCluster> {
  const kube = await FakeKubeApiserver.start();
  const workDir = await (await import("node:fs/promises")).mkdtemp(join((await import("node:os")).tmpdir(), "nk-sim-"));
  const kubeconfig = join(workDir, "kubeconfig");
  await writeFile(kubeconfig, kube.kubeconfigYaml());
  const harness = await startHarness({ heartbeatSeconds: 1, healthCheckIntervalSeconds: 1, kubeconfigFile: kubeconfig });
  const nodes = options.nodes ?? ["n1", "n2", "n3", "n4", "n5"];
  for (const node of nodes) kube.setNode({ name: node, ready: true });
  const { client, metadata } = harness.admin();
  for (const [name, value] of Object.entries({ "k3s-token": "k3s-secret-token-value", ...options.secrets })) {
    await adminCall(client.setSecret.bind(client), { name, value: Buffer.from(value) }, metadata);
  }
  for (const [path, content] of Object.entries(options.files ?? {})) {
    const full = join(harness.checkout, path);
    if (content === null) await (await import("node:fs/promises")).rm(full, { force: true });
    else await writeFile(full, content);
  }
  const caFile = join(workDir, "ca.crt");
  await writeFile(caFile, harness.coordinator.caPem);

  const edit = async (mutate: (doc: ReturnType<typeof parseDocument>) => void): Promise<void> => {
    const path = join(harness.checkout, "inventory.yaml");
    const doc = parseDocument(await (await import("node:fs/promises")).readFile(path, "utf8"));
    mutate(doc);
    await writeFile(path, doc.toString());
    await pinSynthetic(harness.checkout);
  };
  const limitKeys = ["max_unavailable", "max_unavailable_servers"];
  const limits = new Map<string, unknown>();
  // Short deadlines so a failure shows in seconds, not minutes.
  await edit((doc) => {
    doc.setIn(["cluster", "rollout", "health_deadline_seconds"], 20);
    doc.setIn(["cluster", "rollout", "drain_timeout_seconds"], 20);
    doc.setIn(["cluster", "rollout", "reboot_timeout_seconds"], 30);
    options.edit?.(doc);
    for (const key of options.installAtOnce ? limitKeys : []) {
      limits.set(key, doc.getIn(["cluster", "rollout", key]));
      doc.setIn(["cluster", "rollout", key], nodes.length);
    }
  });

  const agents = new Map<string, SimAgentProcess>();
  for (const node of nodes) {
    const dir = join(workDir, "nodes", node);
    await mkdir(join(dir, "system"), { recursive: true });
    await writeFile(join(dir, "system", "commands.json"), JSON.stringify(HEALTHY_COMMANDS));
    const { token } = await adminCall<EnrollNodeRequest, EnrollNodeResponse>(client.enrollNode.bind(client), { node }, metadata);
    const tokenFile = join(dir, "token");
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    agents.set(node, new SimAgentProcess({ node, coordinators: [`127.0.0.1:${harness.coordinator.grpcPort}`], caFile, tokenFile, dir, timeScale: options.timeScale ?? 0.05, reportIntervalSeconds: 1, logLevel: "debug", lanDir: join(workDir, "lan") }, { rebootDelayMs: 300 }));
  }
  await harness.push("initial inventory");
  await Promise.all([...agents.values()].map((a) => a.start()));

  const status = () => adminCall<GetStatusRequest, GetStatusResponse>(client.getStatus.bind(client), {}, metadata);
  const cluster: SimCluster = {
    harness,
    kube,
    agents,
    nodes,
    async editAndPush(message, mutate) {
      await edit(mutate);
      return harness.push(message);
    },
    status,
    converged: async (timeoutMs = 60_000) => {
      let last: GetStatusResponse | undefined;
      try {
        return await eventually(
          async () => {
            const s = (last = await status());
            const done = s.nodes.length === nodes.length && s.nodes.every((n) => n.desiredSha256 !== "" && n.appliedSha256 === n.desiredSha256 && n.connected) && s.leases.length === 0;
            return done ? s : undefined;
          },
          timeoutMs,
          "every node to converge",
        );
      } catch (err) {
        // Say why, so a failure in CI can be read without the logs.
        const why = last ? { rollout: last.rollout, nodes: last.nodes.map((n) => ({ name: n.name, phase: n.phase, applied: n.appliedSha256.slice(0, 8), desired: n.desiredSha256.slice(0, 8), healthy: n.health?.healthy, error: n.lastError, connected: n.connected })), leases: last.leases.map((l) => ({ node: l.node, state: l.state, waiting: l.waitingReason })) } : null;
        throw new Error(`${(err as Error).message}\n${JSON.stringify(why, null, 1)}`);
      }
    },
    simDir: (node) => join(workDir, "nodes", node, "system"),
    async setCommand(node, command, answer) {
      await writeFile(join(workDir, "nodes", node, "system", "commands.json"), JSON.stringify({ ...HEALTHY_COMMANDS, [command]: answer }));
    },
    disruptions: () => disruptionWindows(kube),
    async close() {
      await Promise.all([...agents.values()].map((a) => a.stop()));
      await harness.close();
      await kube.close();
      await (await import("node:fs/promises")).rm(workDir, { recursive: true, force: true });
    },
  };
  if (options.installAtOnce) {
    try {
      await cluster.converged(180_000);
      // The limits the inventory had (no bundle changes with them), in force before the file's tests start.
      await cluster.editAndPush("the inventory's rollout limits", (doc) => {
        for (const key of limitKeys) {
          if (limits.get(key) === undefined) doc.deleteIn(["cluster", "rollout", key]);
          else doc.setIn(["cluster", "rollout", key], limits.get(key));
        }
      });
      const revision = (await harness.git("rev-parse", "HEAD")).stdout.trim();
      await eventually(async () => (await status()).rollout?.revision === revision || undefined, 20_000, "the coordinator to adopt the rollout limits");
    } catch (err) {
      await cluster.close();
      throw err;
    }
  }
  return cluster;
}
