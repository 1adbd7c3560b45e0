// The single-coordinator chaos environment: the coordinator as a process (kill -9 able) on the file store, and a
// cuttable TCP proxy in front of it per agent; the checkout, machines and agents come from ChaosBase.
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeKubeApiserver } from "../../coordinator/src/kube/fake-kube-apiserver.js";
import { CoordinatorProcess } from "../support/coordinator-process.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import { ChaosBase, type ChaosClusterOptions } from "./chaos-base.js";
import { missingNodes, missingPushes } from "./chaos-invariants.js";

export { CHAOS_NODES, K3S_SECRET, type ChaosClusterOptions, type PushResult } from "./chaos-base.js";

export class ChaosCluster extends ChaosBase {
  readonly proxies = new Map<string, TcpProxy>();
  private coordinatorOps: Promise<unknown> = Promise.resolve();
  coordinatorUp = false;

  private constructor(
    options: ChaosClusterOptions,
    workDir: string,
    kube: FakeKubeApiserver,
    readonly coordinator: CoordinatorProcess,
  ) {
    super(options, workDir, kube);
  }

  get stateDir(): string {
    return join(this.workDir, "state");
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
    return ChaosBase.setUpOrDiscard(cluster, () => cluster.setUp());
  }

  private async setUp(): Promise<void> {
    await this.startCoordinator();
    this.caPem = await this.coordinator.caPem();
    this.adminToken = (await readFile(join(this.workDir, "admin.token"), "utf8")).trim();
    await writeFile(join(this.workDir, "ca.crt"), this.caPem);
    await this.setK3sSecret();
    await this.prepareCheckout();
    await this.git("config", "http.sslCAInfo", join(this.workDir, "ca.crt"));
    await this.git("remote", "add", "nk", `https://ops:${this.adminToken}@127.0.0.1:${this.coordinator.httpPort}/git/inventory.git`);
    const first = await this.push("initial inventory");
    if (!first.acked) throw new Error(`initial push failed: ${first.error}`);
    await this.startAgents(async (node) => {
      const proxy = await TcpProxy.start({ port: this.coordinator.grpcPort });
      this.proxies.set(node, proxy);
      return [proxy.address];
    });
  }

  protected async pushHead(): Promise<void> {
    await this.git("push", "-q", "nk", "main");
  }

  protected async adminAddress(): Promise<string> {
    return this.coordinator.grpcAddress;
  }

  protected coordinatorAddresses(): string[] {
    return [this.coordinator.grpcAddress];
  }

  missingPushes(acked: readonly string[]): Promise<string[]> {
    return missingPushes(this.stateDir, acked);
  }

  missingNodes(): Promise<string[]> {
    return missingNodes(this.stateDir, this.options.nodes);
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

  async close(): Promise<void> {
    this.closeAdmin();
    await this.stopAgents();
    await this.coordinator.stop().catch(() => undefined);
    for (const p of this.proxies.values()) await p.close();
    await this.kube.close();
  }
}
