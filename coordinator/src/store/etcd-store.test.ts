// EtcdStore against a real etcd: the shared conformance suite plus races between coordinators, cross-watch events and an etcd crash.
import type { Etcd3 } from "etcd3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { etcdSkipReason, startEtcd, type EtcdServer } from "../../../test/etcd/etcd-server.js";
import { createEtcdClient } from "./etcd-client.js";
import { EtcdStore, type EtcdStoreOptions } from "./etcd-store.js";
import { TcpProxy } from "../../../test/support/tcp-proxy.js";
import { ManualClock, grant, report, runStoreConformance, type StoreHarness } from "./store-conformance.js";
import type { EventRecord } from "./store.js";

let server: EtcdServer;
let prefixCount = 0;
const uniquePrefix = (): string => `/nk-test-${process.pid}-${++prefixCount}/`;

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, withinMs = 10_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function makeHarness(): Promise<StoreHarness> {
  const client = await createEtcdClient({ endpoints: [server.endpoint] });
  const prefix = uniquePrefix();
  const clock = new ManualClock();
  const open = (): Promise<EtcdStore> => EtcdStore.open({ client, prefix, clock: clock.now });
  const h: StoreHarness = {
    store: await open(),
    clock,
    reopen: async () => {
      await h.store.close();
      h.store = await open();
      return h.store;
    },
    cleanup: async () => {
      await h.store.close();
      await client.delete().prefix(prefix);
      client.close();
    },
  };
  return h;
}

describe("createEtcdClient", () => {
  it("rejects configurations that would talk to etcd insecurely or cannot load their files", async () => {
    const invalid = (e: unknown): boolean => isNkError(e, "CONFIG_INVALID");
    await expect(createEtcdClient({ endpoints: [] })).rejects.toSatisfy(invalid);
    await expect(createEtcdClient({ endpoints: ["http://10.0.0.1:2379"], tls: { caFile: "/nonexistent/ca.pem" } })).rejects.toSatisfy(invalid);
    await expect(createEtcdClient({ endpoints: ["https://10.0.0.1:2379"], tls: { caFile: "/nonexistent/ca.pem", certFile: "/x.pem" } })).rejects.toSatisfy(invalid);
    await expect(createEtcdClient({ endpoints: ["https://10.0.0.1:2379"], tls: { caFile: "/nonexistent/ca.pem" } })).rejects.toThrow(/tls.caFile \/nonexistent\/ca.pem/);
    await expect(createEtcdClient({ endpoints: ["http://127.0.0.1:2379"], auth: { username: "nk", passwordFile: "/nonexistent/pw" } })).rejects.toSatisfy(invalid);
  });
});

describe.skipIf(etcdSkipReason !== undefined)(`EtcdStore on a real etcd${etcdSkipReason ? ` (${etcdSkipReason})` : ""}`, () => {
  beforeAll(async () => {
    server = await startEtcd();
  });
  afterAll(async () => server?.dispose());

  runStoreConformance("EtcdStore", makeHarness);

  describe("several coordinators on one prefix", () => {
    const clients: Etcd3[] = [];
    const stores: EtcdStore[] = [];
    const clock = new ManualClock();
    const open = async (prefix: string, extra: Partial<EtcdStoreOptions> = {}): Promise<EtcdStore> => {
      const client = await createEtcdClient({ endpoints: [server.endpoint], callTimeoutMs: 2_000 });
      clients.push(client);
      const store = await EtcdStore.open({ client, prefix, clock: clock.now, ...extra });
      stores.push(store);
      return store;
    };
    afterEach(async () => {
      for (const s of stores.splice(0)) await s.close();
      for (const c of clients.splice(0)) c.close();
    });

    it("never lets two coordinators take the last slot, and fencing tokens only grow", async () => {
      const prefix = uniquePrefix();
      const [a, b] = [await open(prefix), await open(prefix)];
      expect((await a.grantLease(grant("base", clock), { revision: undefined, holders: [] })).ok).toBe(true);
      const tokens: number[] = [];
      for (let round = 0; round < 50; round++) {
        const results = await Promise.all([
          a.grantLease(grant(`a${round}`, clock), { revision: undefined, holders: ["base"] }),
          b.grantLease(grant(`b${round}`, clock), { revision: undefined, holders: ["base"] }),
        ]);
        const winners = results.filter((r) => r.ok);
        expect(winners).toHaveLength(1);
        const loser = results.find((r) => !r.ok);
        expect(loser).toMatchObject({ ok: false, reason: "holders-changed" });
        const won = winners[0]!;
        if (!won.ok) throw new Error("unreachable");
        tokens.push(won.lease.fencingToken);
        expect((await b.listLeases()).map((l) => l.node)).toEqual(["base", won.lease.node]);
        expect((await a.releaseLease(won.lease.node, won.lease.fencingToken)).ok).toBe(true);
      }
      expect(new Set(tokens).size).toBe(50);
      expect(tokens).toEqual([...tokens].sort((x, y) => x - y));
    });

    it("delivers events appended by any coordinator to every listener, in seq order without gaps", async () => {
      const prefix = uniquePrefix();
      const [a, b] = [await open(prefix), await open(prefix)];
      const seenA: EventRecord[] = [];
      const seenB: EventRecord[] = [];
      a.onEvent((e) => seenA.push(e));
      b.onEvent((e) => seenB.push(e));
      await Promise.all([
        ...Array.from({ length: 15 }, (_, i) => a.appendEvent({ kind: "from-a", message: `a${i}` })),
        ...Array.from({ length: 15 }, (_, i) => b.appendEvent({ kind: "from-b", message: `b${i}` })),
      ]);
      const all = Array.from({ length: 30 }, (_, i) => i + 1);
      await until("B to see every event", () => (seenB.length >= 30 ? true : undefined));
      await until("A to see every event", () => (seenA.length >= 30 ? true : undefined));
      expect(seenB.map((e) => e.seq)).toEqual(all);
      expect(seenA.map((e) => e.seq)).toEqual(all);
      expect(seenB.filter((e) => e.kind === "from-a").map((e) => e.message)).toEqual(Array.from({ length: 15 }, (_, i) => `a${i}`));
      expect(seenA).toEqual(seenB);
    });

    it("writes telemetry lazily so another coordinator sees it after the flush interval", async () => {
      const prefix = uniquePrefix();
      const a = await open(prefix, { telemetryFlushMs: 50 });
      const b = await open(prefix);
      await a.enrollNode("n1");
      const hello = { agentVersion: "1", bootId: "b1", bootedSystem: "/s", currentSystem: "/s", phase: "idle", heldFencingToken: 0, atMs: clock.now() };
      await a.recordHello("n1", hello, { revision: "r1", sha256: "s1" });
      expect((await b.getNode("n1"))?.applied).toEqual({ revision: "r1", sha256: "s1" });
      expect((await a.getNode("n1"))?.lastHello).toEqual(hello);
      await until("the hello to reach etcd", async () => (await b.getNode("n1"))?.lastHello);
      expect((await b.listNodes())[0]?.lastHello).toEqual(hello);
    });

    it("retries a failed telemetry flush by itself, and buffered telemetry never hides a newer report from another coordinator", async () => {
      const prefix = uniquePrefix();
      const proxy = await TcpProxy.start({ port: Number(new URL(server.endpoint).port) });
      try {
        const viaProxy = await createEtcdClient({ endpoints: [`http://${proxy.address}`], callTimeoutMs: 1_000 });
        clients.push(viaProxy);
        const a = await EtcdStore.open({ client: viaProxy, prefix, clock: clock.now, telemetryFlushMs: 100 });
        stores.push(a);
        const b = await open(prefix);
        await b.enrollNode("n1");
        const older = report(clock, { phase: "waiting-lease" });
        await a.recordReport("n1", older);
        // etcd out of a's reach when it flushes: the report stays buffered, and no further report ever reaches a.
        proxy.cut();
        await expect(a.flush()).rejects.toSatisfy((e) => isNkError(e, "UNAVAILABLE"));
        proxy.restore();
        await until("a's retried flush to reach etcd", async () => ((await b.getNode("n1"))?.lastReport?.phase === "waiting-lease" ? true : undefined));
        // A coordinator still holding an older report in its buffer shows the newer one another coordinator wrote.
        const slow = await open(prefix, { telemetryFlushMs: 60_000 });
        await slow.recordReport("n1", older);
        clock.advance(1_000);
        const newer = report(clock, { phase: "confirmed" });
        await b.recordReport("n1", newer);
        await b.flush();
        expect((await slow.getNode("n1"))?.lastReport).toEqual(newer);
        expect((await slow.listNodes())[0]?.lastReport).toEqual(newer);
      } finally {
        await proxy.close();
      }
    });

    it("sets desired state for more nodes than one transaction holds", async () => {
      const store = await open(uniquePrefix());
      const names = Array.from({ length: 230 }, (_, i) => `n${String(i).padStart(3, "0")}`);
      await Promise.all(names.map((n) => store.enrollNode(n)));
      const entries = [...names, ...Array.from({ length: 20 }, (_, i) => `ghost${i}`)].map((node) => ({ node, revision: "r2", sha256: "s2" }));
      const { unknown } = await store.setDesired(entries);
      expect(unknown).toHaveLength(20);
      const nodes = await store.listNodes();
      expect(nodes.map((n) => n.name)).toEqual(names);
      expect(nodes.every((n) => n.desired?.revision === "r2")).toBe(true);
    });

    it("batches concurrent enrolments and desired writes into few transactions, as if each had run alone", async () => {
      const prefix = uniquePrefix();
      const [a, b] = [await open(prefix), await open(prefix)];
      const names = Array.from({ length: 150 }, (_, i) => `e${String(i).padStart(3, "0")}`);
      const revision = async (): Promise<bigint> => BigInt((await clients[0]!.kv.range({ key: Buffer.from(prefix) })).header.revision);
      const before = await revision();
      // "twice" is enrolled twice in the same batch: one of the two tokens is the node's, the other refused.
      const [tokens, twice] = await Promise.all([Promise.all(names.map((n) => a.enrollNode(n))), Promise.all([a.enrollNode("twice"), a.enrollNode("twice")])]);
      expect(await revision() - before).toBeLessThan(20n);
      for (const [i, n] of names.entries()) expect(await b.verifyNodeToken(n, tokens[i]!)).toBe(true);
      expect([await b.verifyNodeToken("twice", twice[0]), await b.verifyNodeToken("twice", twice[1])].filter(Boolean)).toHaveLength(1);
      // One-node desired writes from two coordinators at once (a's coalesced, b's too), plus a node nobody enrolled.
      const results = await Promise.all([
        ...names.map((node, i) => (i % 2 ? a : b).setDesired([{ node, revision: "r1", sha256: `s${i}` }])),
        a.setDesired([{ node: "ghost", revision: "r1", sha256: "s" }]),
      ]);
      expect(results.flatMap((r) => r.unknown)).toEqual(["ghost"]);
      // Re-enrolling in a batch keeps what is known about each node (its desired ref), as one by one.
      await Promise.all(names.slice(0, 40).map((n) => b.enrollNode(n)));
      const nodes = new Map((await a.listNodes()).map((n) => [n.name, n]));
      expect(names.map((n, i) => nodes.get(n)?.desired)).toEqual(names.map((_, i) => ({ revision: "r1", sha256: `s${i}` })));
    });

    it("pages long event reads and trims the oldest events past maxEvents", async () => {
      const store = await open(uniquePrefix(), { maxEvents: 200 });
      await Promise.all(Array.from({ length: 1_100 }, (_, i) => store.appendEvent({ kind: "bulk", message: `m${i}` })));
      const kept = await store.readEvents();
      expect(kept.length).toBeGreaterThanOrEqual(200);
      expect(kept.length).toBeLessThan(1_100);
      expect(kept.at(-1)?.seq).toBe(1_100);
      expect(kept.map((e) => e.seq)).toEqual(Array.from({ length: kept.length }, (_, i) => 1_100 - kept.length + 1 + i));
      expect((await store.readEvents({ afterSeq: 1_050, tail: 3 })).map((e) => e.seq)).toEqual([1_098, 1_099, 1_100]);
    });
  });

  describe("etcd crash and restart", () => {
    it("fails calls with UNAVAILABLE during the outage, recovers, and keeps every acknowledged write", async () => {
      const client = await createEtcdClient({ endpoints: [server.endpoint], callTimeoutMs: 1_000 });
      const clock = new ManualClock();
      const store = await EtcdStore.open({ client, prefix: uniquePrefix(), clock: clock.now });
      try {
        const acked: string[] = [];
        let stop = false;
        // A writer keeps going while etcd is killed: whatever it saw acknowledged must survive.
        const writer = (async () => {
          for (let i = 0; !stop; i++) {
            try {
              await store.enqueue({ node: `q${i}`, kind: "reboot", revision: "r", sha256: "s", reason: "" });
              acked.push(`q${i}`);
            } catch (err) {
              if (!isNkError(err, "UNAVAILABLE")) throw err;
              await new Promise((r) => setTimeout(r, 50));
            }
          }
        })();
        await until("some acknowledged writes", () => (acked.length >= 20 ? true : undefined));
        const g = await store.grantLease(grant("holder", clock), { revision: undefined, holders: [] });
        await server.kill();
        await expect(store.getLease("holder")).rejects.toSatisfy((e) => isNkError(e, "UNAVAILABLE"));
        await expect(store.appendEvent({ kind: "x", message: "during outage" })).rejects.toSatisfy((e) => isNkError(e, "UNAVAILABLE"));
        const ackedBeforeRestart = [...acked];
        await server.restart();
        const lease = await until("the store to recover", () => store.getLease("holder").catch(() => undefined), 20_000);
        expect(g.ok && lease).toEqual(g.ok ? g.lease : undefined);
        const countAfter = acked.length;
        await until("the writer to make progress again", () => (acked.length > countAfter ? true : undefined), 20_000);
        stop = true;
        await writer;
        const queued = new Set((await store.listQueue()).map((r) => r.node));
        expect(ackedBeforeRestart.filter((n) => !queued.has(n))).toEqual([]);
        expect(acked.filter((n) => !queued.has(n))).toEqual([]);
        expect((await store.appendEvent({ kind: "x", message: "after" })).seq).toBe(1);
      } finally {
        await store.close();
        client.close();
      }
    });
  });
});
