// A real three-member etcd cluster (the Debian etcd binary) on 127.0.0.1 for HA tests: members can be killed
// with SIGKILL and started again on their own data dirs, one at a time or all at once.
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../support/free-port.js";
import { etcdSkipReason, launch, waitExit } from "./etcd-server.js";

interface Member {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  child: ChildProcess | undefined;
}

export class EtcdCluster {
  private constructor(
    readonly dataRoot: string,
    private readonly members: Member[],
  ) {}

  /** Client URL of each member, in member order. */
  get endpoints(): string[] {
    return this.members.map((m) => `http://127.0.0.1:${m.clientPort}`);
  }

  get size(): number {
    return this.members.length;
  }

  isUp(i: number): boolean {
    return this.members[i]!.child !== undefined;
  }

  /** Starts `size` members on free loopback ports; resolves once every one is healthy (a leader elected). */
  static async start(size = 3): Promise<EtcdCluster> {
    if (etcdSkipReason) throw new Error(etcdSkipReason);
    const dataRoot = await mkdtemp(join(tmpdir(), "nk-etcd-cluster-"));
    const members: Member[] = [];
    const taken = new Set<number>();
    const port = async (): Promise<number> => {
      for (let i = 0; i < 20; i++) {
        const p = await freePort();
        if (!taken.has(p)) return taken.add(p), p;
      }
      throw new Error("no free port for etcd");
    };
    for (let i = 0; i < size; i++) members.push({ name: `m${i}`, clientPort: await port(), peerPort: await port(), child: undefined });
    const cluster = new EtcdCluster(dataRoot, members);
    try {
      await cluster.startAll();
    } catch (err) {
      await cluster.dispose();
      throw err;
    }
    return cluster;
  }

  /** SIGKILL one member; its data dir stays. */
  async kill(i: number): Promise<void> {
    const m = this.members[i]!;
    const child = m.child;
    m.child = undefined;
    if (child) await waitExit(child, "SIGKILL");
  }

  /** Starts one member again (no-op when running); healthy once it has joined a quorum. */
  async startMember(i: number): Promise<void> {
    const m = this.members[i]!;
    if (m.child) return;
    // A member is healthy only once a quorum elected a leader: after a kill -9 of all three on a loaded machine
    // (WAL replay, elections) that took over 15 s.
    m.child = await launch(this.args(m), `http://127.0.0.1:${m.clientPort}`, 60_000);
  }

  /** Starts every stopped member at once: after a full outage none is healthy before a quorum is back. */
  async startAll(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.startMember(i)));
  }

  async killAll(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.kill(i)));
  }

  async dispose(): Promise<void> {
    await Promise.all(this.members.map(async (m) => {
      const child = m.child;
      m.child = undefined;
      if (child) await waitExit(child, "SIGTERM");
    }));
    await rm(this.dataRoot, { recursive: true, force: true });
  }

  private args(m: Member): string[] {
    const client = `http://127.0.0.1:${m.clientPort}`;
    const peer = `http://127.0.0.1:${m.peerPort}`;
    return [
      "--name", m.name,
      "--data-dir", join(this.dataRoot, m.name),
      "--listen-client-urls", client,
      "--advertise-client-urls", client,
      "--listen-peer-urls", peer,
      "--initial-advertise-peer-urls", peer,
      "--initial-cluster", this.members.map((x) => `${x.name}=http://127.0.0.1:${x.peerPort}`).join(","),
      "--initial-cluster-token", `nk-chaos-${this.dataRoot.slice(-6)}`,
      "--initial-cluster-state", "new",
      // Three members on a shared loaded machine: a longer election timeout than a lone member, to avoid flapping.
      "--heartbeat-interval", "100",
      "--election-timeout", "1000",
      "--logger", "zap",
      "--log-level", "error",
    ];
  }
}
