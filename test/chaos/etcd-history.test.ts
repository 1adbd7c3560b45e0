// EtcdHistory reads a coordinator prefix's revision history from a real etcd and checks fencing from it alone.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Etcd3 } from "etcd3";
import { createEtcdClient } from "../../coordinator/src/store/etcd-client.js";
import { etcdSkipReason, startEtcd, type EtcdServer } from "../etcd/etcd-server.js";
import { EtcdHistory } from "./etcd-history.js";

const P = "/hist/";
const lease = (fencingToken: number, role = "server") => JSON.stringify({ node: "x", fencingToken, role });

describe.skipIf(etcdSkipReason !== undefined)(`EtcdHistory ${etcdSkipReason ?? ""}`, () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  beforeAll(async () => {
    etcd = await startEtcd();
    client = await createEtcdClient({ endpoints: [etcd.endpoint] });
  });
  afterAll(async () => {
    client?.close();
    await etcd?.dispose();
  });

  it("records leadership terms and grants, and flags a grant without a leader, a reused token and too many leases", async () => {
    const history = await EtcdHistory.start(client, P, { total: 1, servers: 1 }, () => true);
    try {
      await client.put(`${P}leases/n1`).value(lease(1));
      await client.put(`${P}election/coordinator/a1`).value("c0");
      await client.put(`${P}leases/n1`).value(lease(1)); // an update, not a grant
      await client.delete().key(`${P}leases/n1`);
      await client.put(`${P}leases/n2`).value(lease(2));
      await client.put(`${P}leases/n3`).value(lease(2));
      await client.put(`${P}events/0000000000000001`).value(JSON.stringify({ seq: 1, timeMs: 5, kind: "rollout-halted" }));
      await client.put(`${P}events/0000000000000003`).value(JSON.stringify({ seq: 3, timeMs: 6, kind: "lease-granted" }));
      await client.delete().key(`${P}election/coordinator/a1`);
      await history.readNew();
      const violations = history.takeViolations();
      expect(violations).toEqual([
        expect.stringMatching(/lease #1 of n1 granted while no coordinator's election key existed/),
        expect.stringMatching(/lease #2 of n3 granted after #2 \(tokens must strictly increase\)/),
        expect.stringMatching(/2 leases open \(n2, n3\) > max_unavailable 1/),
        expect.stringMatching(/more server leases open than max_unavailable_servers 1/),
        expect.stringMatching(/event seq 3 follows seq 1/),
      ]);
      expect(history.grants).toBe(3);
      expect(history.peak).toBe(2);
      expect(history.lastHaltAtMs).toBe(5);
      expect([...history.openLeases()]).toEqual([["n2", 2], ["n3", 2]]);
      expect(history.terms).toHaveLength(1);
      expect(history.terms[0]).toMatchObject({ id: "c0" });
      expect(history.terms[0]!.goneAtMs).toBeGreaterThanOrEqual(history.terms[0]!.seenAtMs);
    } finally {
      await history.close();
    }
  });
});
