// LeaderElection against a real etcd: one leader among three, takeover after a crash, and leader-fenced grants.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Etcd3 } from "etcd3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { etcdSkipReason, startEtcd, type EtcdServer } from "../../../test/etcd/etcd-server.js";
import { TcpProxy } from "../../../test/support/tcp-proxy.js";
import { createEtcdClient } from "../store/etcd-client.js";
import { EtcdStore } from "../store/etcd-store.js";
import { ManualClock, grant } from "../store/store-conformance.js";
import type { LeaderGuard } from "../store/index.js";
import { LeaderElection } from "./leader-election.js";
import { SingleLeader } from "./single-leader.js";

const here = dirname(fileURLToPath(import.meta.url));
let server: EtcdServer;
let prefixCount = 0;
const clients: Etcd3[] = [];
const elections: LeaderElection[] = [];
const stores: EtcdStore[] = [];
const children: ChildProcess[] = [];
const newPrefix = (): string => `/nk-leader-${process.pid}-${++prefixCount}/`;

async function until<T>(what: string, fn: () => T | undefined, withinMs: number): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function client(): Promise<Etcd3> {
  const c = await createEtcdClient({ endpoints: [server.endpoint], callTimeoutMs: 1_000 });
  clients.push(c);
  return c;
}

/** `n` candidates on a fresh prefix, each with its own client (its own "process"). */
/** `n` in-process candidates, each with its own client. */
async function candidates(n: number, prefix = newPrefix()): Promise<{ prefix: string; all: LeaderElection[] }> {
  const all: LeaderElection[] = [];
  for (let i = 0; i < n; i++) {
    const le = LeaderElection.start({ client: await client(), prefix, id: `coord-${i}`, retryMs: 200 });
    all.push(le);
    elections.push(le);
  }
  return { prefix, all };
}

/**
 * A candidate in its own process, so it can really crash: closing an etcd3 client in-process
 * leaves its lease keep-alive stream running, a SIGKILL does not. Resolves once it leads.
 */
async function leaderProcess(prefix: string, id: string): Promise<{ guard: LeaderGuard; kill: () => void }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(here, "election-candidate.ts"), server.endpoint, prefix, id], {
    cwd: resolve(here, "../../.."),
    stdio: ["pipe", "pipe", "inherit"],
  });
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  const guard = await new Promise<LeaderGuard>((resolveGuard, reject) => {
    const timer = setTimeout(() => reject(new Error(`candidate ${id} did not lead within 10 s`)), 10_000);
    child.once("exit", (code) => reject(new Error(`candidate ${id} exited (${code})`)));
    lines.on("line", (line) => {
      const msg = JSON.parse(line) as { leader: boolean; guard: LeaderGuard | null };
      if (msg.leader && msg.guard) {
        clearTimeout(timer);
        resolveGuard(msg.guard);
      }
    });
  });
  return { guard, kill: () => child.kill("SIGKILL") };
}

const leaderOf = (all: LeaderElection[]): LeaderElection | undefined => {
  const leaders = all.filter((le) => le.isLeader());
  if (leaders.length > 1) throw new Error(`${leaders.length} leaders at once`);
  return leaders[0];
};

describe("SingleLeader", () => {
  it("leads until it resigns, and says so once", async () => {
    const single = new SingleLeader("solo");
    const changes: boolean[] = [];
    single.onChange((leader) => changes.push(leader));
    expect([single.isLeader(), single.leaderId()]).toEqual([true, "solo"]);
    await single.resign();
    await single.resign();
    expect([single.isLeader(), single.leaderId(), changes]).toEqual([false, undefined, [false]]);
  });
});

describe.skipIf(etcdSkipReason !== undefined)(`LeaderElection on a real etcd${etcdSkipReason ? ` (${etcdSkipReason})` : ""}`, () => {
  beforeAll(async () => {
    server = await startEtcd();
  });
  afterAll(async () => server?.dispose());
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
    for (const s of stores.splice(0)) await s.close();
    await Promise.all(elections.splice(0).map((le) => le.close()));
    for (const c of clients.splice(0)) c.close();
  });

  it("elects exactly one of three candidates, and every candidate sees who", async () => {
    const { all } = await candidates(3);
    const changes: boolean[] = [];
    for (const le of all) le.onChange((leader) => changes.push(leader));
    const leader = await until("a leader", () => leaderOf(all), 5_000);
    await until("all to agree on the leader", () => (all.every((le) => le.leaderId() === leader.leaderId()) ? true : undefined), 5_000);
    expect(all.filter((le) => le.isLeader())).toEqual([leader]);
    expect(leader.leaderGuard()?.key).toMatch(/^\/nk-leader-\d+-\d+\/election\/coordinator\/.+/);
    expect(all.filter((le) => le !== leader).map((le) => le.leaderGuard())).toEqual([null, null]);
    expect(changes).toEqual([true]);
  });

  it("replaces a killed leader within a few seconds (lease TTL 3 s)", async () => {
    const prefix = newPrefix();
    const crashing = await leaderProcess(prefix, "doomed");
    const { all } = await candidates(2, prefix);
    await until("followers to see the leader", () => (all.every((le) => le.leaderId() === "doomed") ? true : undefined), 5_000);
    expect(all.map((le) => le.isLeader())).toEqual([false, false]);
    const killedAt = Date.now();
    crashing.kill();
    const next = await until("a new leader", () => leaderOf(all), 8_000);
    expect(Date.now() - killedAt).toBeLessThan(6_000);
    await until("both to see the new leader", () => (all.every((le) => le.leaderId() === next.leaderId()) ? true : undefined), 5_000);
    expect(all.filter((le) => le.isLeader())).toEqual([next]);
  });

  it("a leader whose etcd stops answering (packets dropped, nothing refused) steps down before etcd can elect another", async () => {
    const prefix = newPrefix();
    const proxy = await TcpProxy.start({ port: Number(new URL(server.endpoint).port) });
    try {
      // The production call deadline (5 s): stepping down must not wait for a call to fail.
      const behind = await createEtcdClient({ endpoints: [`http://${proxy.address}`], callTimeoutMs: 5_000 });
      clients.push(behind);
      const first = LeaderElection.start({ client: behind, prefix, id: "behind-proxy", retryMs: 200 });
      elections.push(first);
      await until("the first candidate to lead", () => (first.isLeader() ? true : undefined), 10_000);
      const { all: others } = await candidates(2, prefix);
      await until("the others to see it lead", () => (others.every((le) => le.leaderId() === "behind-proxy") ? true : undefined), 5_000);
      const order: string[] = [];
      first.onChange((leader) => void (leader || order.push("first stepped down")));
      others.forEach((le, i) => le.onChange((leader) => void (leader && order.push(`coord-${i} elected`))));
      proxy.stall();
      const next = await until("another leader", () => leaderOf(others), 15_000);
      expect(order[0]).toBe("first stepped down");
      expect(order).toContain(`coord-${others.indexOf(next)} elected`);
      expect([first.isLeader(), first.leaderGuard()]).toEqual([false, null]);
    } finally {
      proxy.heal();
      await proxy.close();
    }
  });

  it("a leader paused past its lease clock says no at once, announces it, and leads again on the next keepalive, not silently", async () => {
    const prefix = newPrefix();
    let shiftMs = 0;
    const first = LeaderElection.start({ client: await client(), prefix, id: "paused", retryMs: 200, now: () => performance.now() + shiftMs });
    elections.push(first);
    await until("it to lead", () => (first.isLeader() ? true : undefined), 10_000);
    const { all: others } = await candidates(1, prefix);
    const changes: boolean[] = [];
    first.onChange((leader) => changes.push(leader));
    const otherLed: boolean[] = [];
    others[0]!.onChange((leader) => otherLed.push(leader));
    // As this process sees it after a 3 s pause (SIGSTOP, a VM frozen), before any timer ran: etcd kept the lease.
    shiftMs = 3_000;
    expect([first.isLeader(), first.leaderGuard()]).toEqual([false, null]);
    await until("the step aside to be announced", () => (changes.length > 0 ? true : undefined), 2_000);
    expect(changes).toEqual([false]);
    expect(first.isLeader()).toBe(false);
    await until("it to lead again", () => (first.isLeader() ? true : undefined), 5_000);
    expect(changes).toEqual([false, true]);
    expect([otherLed, others[0]!.isLeader()]).toEqual([[], false]);
  });

  it("hands leadership over at once when the leader resigns", async () => {
    const { all } = await candidates(2);
    const leader = await until("a leader", () => leaderOf(all), 5_000);
    const other = all.find((le) => le !== leader)!;
    const resignedAt = Date.now();
    await leader.resign();
    expect(leader.isLeader()).toBe(false);
    await until("the other candidate to lead", () => (other.isLeader() ? true : undefined), 3_000);
    expect(Date.now() - resignedAt).toBeLessThan(2_000);
  });

  it("refuses grants from a deposed leader through the election key compared in the grant", async () => {
    const prefix = newPrefix();
    const clock = new ManualClock();
    const old = await leaderProcess(prefix, "old");
    const { all } = await candidates(1, prefix);
    const follower = all[0]!;
    const open = async (guard: () => LeaderGuard | null): Promise<EtcdStore> => {
      const store = await EtcdStore.open({ client: await client(), prefix, clock: clock.now, leaderGuard: guard });
      stores.push(store);
      return store;
    };
    // The old leader's view, kept after its death: a coordinator that has not noticed yet.
    const oldStore = await open(() => old.guard);
    const followerStore = await open(() => follower.leaderGuard());
    expect((await oldStore.grantLease(grant("n1", clock), { revision: undefined, holders: [] })).ok).toBe(true);
    await expect(followerStore.grantLease(grant("n2", clock), { revision: undefined, holders: ["n1"] })).rejects.toSatisfy((e) => isNkError(e, "NOT_LEADER"));
    old.kill();
    await until("the follower to take over", () => (follower.isLeader() ? true : undefined), 8_000);
    await expect(oldStore.grantLease(grant("n2", clock), { revision: undefined, holders: ["n1"] })).rejects.toSatisfy((e) => isNkError(e, "NOT_LEADER"));
    expect((await followerStore.grantLease(grant("n2", clock), { revision: undefined, holders: ["n1"] })).ok).toBe(true);
    expect((await followerStore.listLeases()).map((l) => l.node)).toEqual(["n1", "n2"]);
  });
});
