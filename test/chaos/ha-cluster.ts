// The HA chaos environment: three coordinator processes on a real three-member etcd cluster, following one upstream
// repo (pushes go there, then every coordinator's webhook is called at once). Each coordinator reaches each etcd
// member through a TCP proxy of its own, so one coordinator can be cut off from etcd while agents still reach it;
// each agent lists all three coordinators, each through a proxy of the agent's own (a node's cut cuts all three).
import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Etcd3 } from "etcd3";
import type { GetStatusResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { FakeKubeApiserver } from "../../coordinator/src/kube/fake-kube-apiserver.js";
import { createEtcdClient } from "../../coordinator/src/store/etcd-client.js";
import { caFetch } from "../support/ca-fetch.js";
import { CoordinatorProcess } from "../support/coordinator-process.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import { EtcdCluster } from "../etcd/etcd-cluster.js";
import { ChaosBase, type ChaosClusterOptions, type Cuttable } from "./chaos-base.js";
import { missingPushes } from "./chaos-invariants.js";

const run = promisify(execFile);
export const HA_PREFIX = "/nk-chaos/";
export const HA_COORDINATORS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Several proxies cut and restored together. */
class ProxyGroup implements Cuttable {
  constructor(readonly proxies: readonly TcpProxy[]) {}
  cut(): void {
    for (const p of this.proxies) p.cut();
  }
  restore(): void {
    for (const p of this.proxies) p.restore();
  }
  heal(): void {
    for (const p of this.proxies) p.heal();
  }
  stall(): void {
    for (const p of this.proxies) p.stall();
  }
  unstall(): void {
    for (const p of this.proxies) p.unstall();
  }
  async close(): Promise<void> {
    for (const p of this.proxies) await p.close();
  }
}

export class HaCluster extends ChaosBase {
  readonly proxies = new Map<string, ProxyGroup>();
  /** Coordinator i's paths to the etcd members. */
  readonly etcdLinks: ProxyGroup[] = [];
  readonly coordinators: CoordinatorProcess[] = [];
  private readonly up = new Set<number>();
  private ops: Promise<unknown> = Promise.resolve();
  private etcdOps: Promise<unknown> = Promise.resolve();
  /** The leader as last seen by status(), for admin calls. */
  private leaderIndex = 0;

  private constructor(
    options: ChaosClusterOptions,
    workDir: string,
    kube: FakeKubeApiserver,
    readonly etcd: EtcdCluster,
    /** The recorders' own etcd client, straight to every member. */
    readonly etcdClient: Etcd3,
  ) {
    super(options, workDir, kube);
  }

  get upstream(): string {
    return join(this.workDir, "upstream.git");
  }

  /** The coordinator id behind a kube bearer token (each coordinator has a kubeconfig of its own). */
  static coordinatorOf(bearer: string): string | undefined {
    return /^chaos-coordinator-(c\d+)$/.exec(bearer)?.[1];
  }

  static async start(options: ChaosClusterOptions): Promise<HaCluster> {
    const workDir = await mkdtemp(join(tmpdir(), "nk-chaos-ha-"));
    const kube = await FakeKubeApiserver.start();
    for (const node of options.nodes) kube.setNode({ name: node, ready: true });
    const etcd = await EtcdCluster.start(3).catch(async (err: unknown) => {
      await kube.close();
      throw err;
    });
    const cluster = new HaCluster(options, workDir, kube, etcd, await createEtcdClient({ endpoints: etcd.endpoints }));
    return ChaosBase.setUpOrDiscard(cluster, () => cluster.setUp());
  }

  private async setUp(): Promise<void> {
    const { workDir } = this;
    this.adminToken = `chaos-admin-token-${process.pid}-0123456789abcdef`;
    await writeFile(join(workDir, "admin.token"), `${this.adminToken}\n`, { mode: 0o600 });
    await run("git", ["init", "-q", "--bare", "-b", "main", this.upstream]);
    await this.prepareCheckout();
    await this.git("remote", "add", "upstream", this.upstream);
    await this.git("add", "-A");
    await this.git("commit", "-q", "-m", "initial inventory");
    await this.git("push", "-q", "upstream", "main");
    for (let i = 0; i < HA_COORDINATORS; i++) {
      const links = new ProxyGroup(await Promise.all(this.etcd.endpoints.map((e) => TcpProxy.start({ port: Number(new URL(e).port) }))));
      this.etcdLinks.push(links);
      await writeFile(join(workDir, `kubeconfig-c${i}`), this.kube.kubeconfigYaml(`chaos-coordinator-c${i}`));
      const stateDir = join(workDir, `c${i}`, "state");
      this.coordinators.push(
        new CoordinatorProcess({
          stateDir,
          logFile: join(workDir, `c${i}.log`),
          config: {
            id: `c${i}`,
            store: { kind: "etcd", endpoints: links.proxies.map((p) => `http://${p.address}`), prefix: HA_PREFIX },
            source: { kind: "upstream", url: this.upstream, intervalSeconds: 5 },
            adminTokenFile: join(workDir, "admin.token"),
            kubeconfigFile: join(workDir, `kubeconfig-c${i}`),
            heartbeatSeconds: 1,
            healthCheckIntervalSeconds: 1,
            logLevel: this.options.logLevel ?? "info",
          },
        }),
      );
    }
    // c0 first: it makes the CA, which the others share, so agents pin one certificate. Then the other two at once.
    const start = async (i: number): Promise<void> => {
      await this.coordinators[i]!.start(60_000);
      this.up.add(i);
    };
    const [first, ...others] = this.coordinators;
    await start(0);
    this.caPem = await first!.caPem();
    await Promise.all(
      others.map(async (c, k) => {
        await c.shareCaFrom(first!);
        await start(k + 1);
      }),
    );
    await writeFile(join(workDir, "ca.crt"), this.caPem);
    await this.git("config", "http.sslCAInfo", join(workDir, "ca.crt"));
    await this.setK3sSecret();
    await this.notifyAll();
    await this.startAgents(async (node) => {
      const group = new ProxyGroup(await Promise.all(this.coordinators.map((c) => TcpProxy.start({ port: c.grpcPort }))));
      this.proxies.set(node, group);
      return group.proxies.map((p) => p.address);
    });
  }

  /** Tells every live coordinator to fetch the upstream now, all at once (their fetches and adoptions race). */
  async notifyAll(): Promise<void> {
    const fetch = caFetch(this.caPem);
    await Promise.all(
      [...this.up].map((i) =>
        fetch(`${this.coordinators[i]!.httpUrl}/hooks/git`, { method: "POST", headers: { authorization: `Bearer ${this.adminToken}` } }).catch(() => undefined),
      ),
    );
  }

  protected async pushHead(): Promise<void> {
    await this.git("push", "-q", "upstream", "main");
    await this.notifyAll();
  }

  /** Pushes HEAD to coordinator i's own repo; true when refused (a coordinator following an upstream must refuse it). */
  async pushToCoordinator(i: number): Promise<boolean> {
    const c = this.coordinators[i]!;
    return this.git("push", "-q", `https://ops:${this.adminToken}@127.0.0.1:${c.httpPort}/git/inventory.git`, "HEAD:refs/heads/main").then(
      () => false,
      () => true,
    );
  }

  protected async adminAddress(): Promise<string> {
    const i = this.up.has(this.leaderIndex) ? this.leaderIndex : ([...this.up][0] ?? 0);
    return this.coordinators[i]!.grpcAddress;
  }

  protected coordinatorAddresses(): string[] {
    return this.coordinators.map((c) => c.grpcAddress);
  }

  /** The leader's status (it alone grants and drains); any live coordinator's while nobody leads. */
  override async status(): Promise<GetStatusResponse> {
    const all = await Promise.all(
      [...this.up].map((i) => this.callAt<GetStatusResponse>(this.coordinators[i]!.grpcAddress, (c, md, o, cb) => c.getStatus({}, md, o, cb), 3_000).then((s) => ({ i, s }), () => null)),
    );
    const live = all.filter((x): x is { i: number; s: GetStatusResponse } => x !== null);
    const leader = live.find((x) => x.s.leader);
    if (leader) this.leaderIndex = leader.i;
    const pick = leader ?? live[0];
    if (!pick) throw new Error("no coordinator answered its status");
    return pick.s;
  }

  /** Index of the coordinator that says it leads, or undefined. */
  async leader(): Promise<number | undefined> {
    const s = await this.status().catch(() => null);
    return s?.leader ? this.leaderIndex : undefined;
  }

  /**
   * Every acknowledged push on main in every coordinator's repo (followers fetch on the webhook or their poll). Bounded
   * by time, not attempts: with three test files at once a follower's fetch, validation and adoption took longer than
   * twenty quick rounds (about 13 s).
   */
  async missingPushes(acked: readonly string[]): Promise<string[]> {
    let missing: string[] = [];
    for (const until = Date.now() + 45_000; Date.now() < until; ) {
      missing = (await Promise.all(this.coordinators.map(async (c, i) => (await missingPushes(join(this.workDir, `c${i}`, "state"), acked)).map((m) => `c${i}: ${m}`)))).flat();
      if (missing.length === 0) return [];
      await this.notifyAll();
      await sleep(500);
    }
    return missing;
  }

  /** Every enrolled node still in etcd with its token hash. */
  async missingNodes(): Promise<string[]> {
    const kvs = await this.etcdClient.getAll().prefix(`${HA_PREFIX}nodes/`).strings();
    return this.options.nodes.filter((n) => !(JSON.parse(kvs[`${HA_PREFIX}nodes/${n}`] ?? "{}") as { tokenHash?: string }).tokenHash).map((n) => `enrolled node ${n} is missing from etcd`);
  }

  /** kill -9 of the leader (of coordinator 0 when none leads). */
  killCoordinator(): Promise<void> {
    return this.op(async () => {
      const i = (await this.leader()) ?? 0;
      if (!this.up.delete(i)) return;
      await this.coordinators[i]!.kill();
    });
  }

  /** Heals every etcd cut, starts every etcd member and coordinator that is down. */
  startCoordinator(): Promise<void> {
    return this.op(async () => {
      for (const links of this.etcdLinks) links.heal();
      await this.etcdOp(() => this.etcd.startAll());
      for (const [i, c] of this.coordinators.entries()) {
        if (this.up.has(i)) continue;
        await c.start(60_000);
        this.up.add(i);
      }
    });
  }

  /**
   * Cuts coordinator i (or the leader) off from every etcd member for `forMs`; agents still reach it. `drop`: the links
   * carry nothing but stay open, as when packets are dropped, instead of being reset.
   */
  async cutFromEtcd(target: number | "leader", forMs: number, drop = false): Promise<void> {
    const i = target === "leader" ? ((await this.leader()) ?? 0) : target;
    const links = this.etcdLinks[i]!;
    if (drop) links.stall();
    else links.cut();
    await sleep(forMs);
    if (drop) links.unstall();
    else links.restore();
  }

  /**
   * kill -9 of etcd member i, started again after `downMs`. Every stopped member is started then: a kill of all
   * members that overlapped this one left the others queued behind this member's start, which waited for a quorum
   * they were needed for (seed 24600025: "not healthy within 60000 ms").
   */
  async killEtcdMember(i: number, downMs: number): Promise<void> {
    await this.etcdOp(() => this.etcd.kill(i));
    await sleep(downMs);
    await this.etcdOp(() => this.etcd.startAll());
  }

  /** kill -9 of every etcd member at once (under load), all started again after `downMs`. */
  async restartEtcd(downMs: number): Promise<void> {
    await this.etcdOp(() => this.etcd.killAll());
    await sleep(downMs);
    await this.etcdOp(() => this.etcd.startAll());
  }

  private op(fn: () => Promise<void>): Promise<void> {
    const next = this.ops.then(fn);
    this.ops = next.catch(() => undefined);
    return next;
  }

  private etcdOp(fn: () => Promise<void>): Promise<void> {
    const next = this.etcdOps.then(fn);
    this.etcdOps = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    this.closeAdmin();
    await this.stopAgents();
    await Promise.all(this.coordinators.map((c) => c.stop().catch(() => undefined)));
    for (const g of [...this.proxies.values(), ...this.etcdLinks]) await g.close();
    this.etcdClient.close();
    await this.etcd.dispose();
    await this.kube.close();
  }
}
