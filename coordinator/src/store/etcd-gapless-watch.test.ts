// watchGapless against a real etcd behind a proxy: a stream lost before the catch-up arrives resumes where delivery stopped.
import type { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdSkipReason, startEtcd, type EtcdServer } from "../../../test/etcd/etcd-server.js";
import { TcpProxy } from "../../../test/support/tcp-proxy.js";
import { createEtcdClient } from "./etcd-client.js";
import { watchGapless } from "./etcd-gapless-watch.js";

const KEYS = 1_500;
const P = `/gapless-${process.pid}/`;

describe.skipIf(etcdSkipReason !== undefined)(`watchGapless ${etcdSkipReason ?? ""}`, () => {
  let etcd: EtcdServer;
  let writer: Etcd3;
  let head = 0n;
  beforeAll(async () => {
    etcd = await startEtcd();
    writer = await createEtcdClient({ endpoints: [etcd.endpoint] });
    // More revisions than etcd's catch-up batch (1,000), each with a value big enough that the
    // catch-up cannot all be in flight when the stream is cut.
    const value = "v".repeat(1_024);
    for (let i = 0; i < KEYS; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, KEYS - i) }, (_, j) => writer.put(`${P}k${i + j}`).value(value)));
    }
    head = BigInt((await writer.get(`${P}k0`).exec()).header.revision);
  }, 60_000);
  afterAll(async () => {
    writer?.close();
    await etcd?.dispose();
  });

  it("delivers every revision exactly once when the stream is cut as soon as the watch is created", async () => {
    const proxy = await TcpProxy.start({ port: Number(new URL(etcd.endpoint).port) });
    const client = await createEtcdClient({ endpoints: [`http://${proxy.address}`] });
    const revisions: bigint[] = [];
    let cuts = 0;
    let reconnected!: () => void;
    const again = new Promise<void>((r) => (reconnected = r));
    try {
      const watcher = await watchGapless(client.watch().prefix(P), 1n, (w) => {
        w.on("data", (res) => {
          for (const e of res.events) revisions.push(BigInt(e.kv.mod_revision));
        });
        // The created answer carries etcd's current revision before a single catch-up event: cut right there.
        w.on("connected", () => {
          if (cuts++ === 0) {
            proxy.cut();
            proxy.restore();
          } else reconnected();
        });
      });
      await again;
      for (let i = 0; i < 400 && (revisions.length === 0 || revisions[revisions.length - 1]! < head); i++) await new Promise((r) => setTimeout(r, 25));
      await watcher.cancel();
      expect(cuts).toBe(2);
      expect(revisions.length).toBe(KEYS);
      expect(new Set(revisions).size).toBe(KEYS);
      expect(revisions[revisions.length - 1]).toBe(head);
      expect(revisions).toEqual([...revisions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    } finally {
      client.close();
      await proxy.close();
    }
  }, 60_000);

  it("never moves its resume point back: a progress notice from a member that lags carries an older revision", async () => {
    const client = await createEtcdClient({ endpoints: [etcd.endpoint] });
    try {
      const watcher = await watchGapless(client.watch().prefix(P), head + 1n, () => undefined);
      const progress = (revision: bigint) => ({ events: [], header: { revision: revision.toString() }, created: false, canceled: false, watch_id: watcher.id });
      // What the library's own listener does with such a notice, and what is kept instead.
      watcher.emit("data", progress(head - 100n));
      expect(watcher.request.start_revision).toBe((head + 1n).toString());
      watcher.emit("data", progress(head + 5n));
      expect(watcher.request.start_revision).toBe((head + 6n).toString());
      await watcher.cancel();
    } finally {
      client.close();
    }
  });
});

