// Which nodes snapshot etcd before going down, and the snapshot name k3s is given.
import { describe, expect, it } from "vitest";
import { etcdSnapshotFor, etcdSnapshotName, isEmbeddedEtcdServer } from "./etcd-snapshot.js";
import { exampleInventory, withCluster, withNode } from "./test-inventory.js";

const REV = "a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0";

describe("etcd snapshots", () => {
  it("names a snapshot nk-<first 12 of the revision>-<node>, letters, digits and dashes only", () => {
    expect(etcdSnapshotName(REV, "n1")).toBe("nk-a1b2c3d4e5f6-n1");
    expect(etcdSnapshotName("Rev_X.1", "n2")).toBe("nk-rev-x-1-n2");
    expect(etcdSnapshotName("", "")).toBe("nk-unknown-node");
    expect(etcdSnapshotName(REV, "node-3")).toMatch(/^[a-z0-9][a-z0-9-]*$/);
  });

  it("snapshots the servers of a cluster on embedded etcd (init or joining, also once init is dropped), never agents", () => {
    const inv = exampleInventory();
    const byName = (name: string) => inv.nodes.find((n) => n.name === name)!;
    expect(etcdSnapshotFor(inv, byName("n1"), REV)).toBe("nk-a1b2c3d4e5f6-n1");
    expect(etcdSnapshotFor(inv, byName("n2"), REV)).toBe("nk-a1b2c3d4e5f6-n2");
    expect(etcdSnapshotFor(inv, byName("n4"), REV)).toBeUndefined();
  });

  it("does not snapshot with an external datastore or with rollout.etcd_snapshot: false", () => {
    const inv = exampleInventory();
    const n2 = inv.nodes.find((n) => n.name === "n2")!;
    const external = withCluster(inv, { k3s: { ...inv.cluster.k3s, extraFlags: ["--datastore-endpoint=postgres://db:5432/k3s"] } });
    expect(isEmbeddedEtcdServer(external, n2)).toBe(false);
    const ownFlag = withNode(inv, "n2", { k3sExtraFlags: ["--datastore-endpoint", "mysql://k3s@tcp(db:3306)/k3s"] });
    expect(isEmbeddedEtcdServer(ownFlag, ownFlag.nodes.find((n) => n.name === "n2")!)).toBe(false);
    // A running cluster whose former init server joins like the others (init dropped) still runs etcd.
    const noInit = withNode(inv, "n1", { init: false });
    expect(etcdSnapshotFor(noInit, noInit.nodes[0]!, REV)).toBe("nk-a1b2c3d4e5f6-n1");
    const off = withCluster(inv, { rollout: { ...inv.cluster.rollout, etcdSnapshot: false } });
    expect(isEmbeddedEtcdServer(off, n2)).toBe(true);
    expect(etcdSnapshotFor(off, n2, REV)).toBeUndefined();
  });
});
