// Blocking pods: the pure rule, and the lease manager asking a real KubeClient against the fake kube-apiserver.
import { afterEach, describe, expect, it } from "vitest";
import { FakeKubeApiserver } from "../kube/fake-kube-apiserver.js";
import { KubeClient } from "../kube/kube-client.js";
import { decideGrants, type GrantInput } from "./grant-decision.js";
import { acquire, harness, heldNodes, settingsFor, type Harness } from "./test-lease-kit.js";
import { fakeKubeConfig } from "../kube/fake-kube-config.js";

const NOW = 1_000_000;
const base = (over: Partial<GrantInput>): GrantInput => ({
  now: NOW,
  queue: [{ node: "n1", role: "agent" }, { node: "n2", role: "agent" }],
  holders: [],
  limits: { maxUnavailable: 2, maxUnavailableServers: 1, settleSeconds: 0 },
  rollout: {},
  health: new Map(),
  clusterChecks: { ok: true, failing: [] },
  ...over,
});

describe("blocking pods (pure)", () => {
  const pods = [{ key: "ops/backup-1", node: "n1" }];

  it("holds a node while a matching pod runs on it, and lets the others pass", () => {
    const d = decideGrants(base({ blockingPods: { rule: { selector: "app=backup", scope: "node" }, pods } }));
    expect(d.grants.map((g) => g.node)).toEqual(["n2"]);
    expect(d.blocked).toEqual([{ node: "n1", reason: "pods matching app=backup run on it: ops/backup-1" }]);
    expect(d.wakeAtMs).toBe(NOW + 15_000);
  });

  it("holds everyone with scope cluster, and when the pods cannot be listed", () => {
    const cluster = decideGrants(base({ blockingPods: { rule: { selector: "app=backup", scope: "cluster" }, pods } }));
    expect(cluster.grants).toEqual([]);
    expect(cluster.headReason).toBe("pods matching app=backup are running: ops/backup-1 on n1");
    const failed = decideGrants(base({ blockingPods: { rule: { selector: "app=backup", scope: "node" }, pods: [], error: "connect ECONNREFUSED" } }));
    expect(failed.grants).toEqual([]);
    expect(failed.headReason).toBe("cannot tell whether pods matching app=backup run: connect ECONNREFUSED");
  });

  it("blocks nobody without matching pods", () => {
    const d = decideGrants(base({ blockingPods: { rule: { selector: "app=backup", scope: "cluster" }, pods: [] } }));
    expect(d.grants.map((g) => g.node)).toEqual(["n1", "n2"]);
    expect(d.wakeAtMs).toBeNull();
  });
});

describe("blocking pods through the Kubernetes API", () => {
  let h: Harness;
  let fake: FakeKubeApiserver;
  afterEach(async () => {
    await h.cleanup();
    await fake.close();
  });

  it("waits while the backup pod runs on the node and grants once it has finished", async () => {
    fake = await FakeKubeApiserver.start();
    fake.addPod({ namespace: "ops", name: "backup-1", nodeName: "n1", owner: "Job", labels: { app: "backup" } });
    fake.addPod({ namespace: "ops", name: "web-1", nodeName: "n2", owner: "ReplicaSet", labels: { app: "web" } });
    const kube = new KubeClient(fakeKubeConfig(fake));
    const settings = settingsFor({ n1: "agent", n2: "agent" }, { maxUnavailable: 2, blockingPods: { selector: "app=backup", scope: "node" } });
    h = await harness(settings, {}, { pods: { list: (selector) => kube.listPods(selector) } });
    await acquire(h, "n1");
    await acquire(h, "n2");
    expect(heldNodes(h)).toEqual(["n2"]);
    expect(h.manager.queue().map((q) => [q.node, q.waitingReason])).toEqual([["n1", "pods matching app=backup run on it: ops/backup-1"]]);
    expect(fake.calls("GET", "/api/v1/pods").at(-1)?.query).toMatchObject({ labelSelector: "app=backup" });
    // The job ends; the next look (on the poll timer) grants.
    fake.addPod({ namespace: "ops", name: "backup-1", nodeName: "n1", owner: "Job", labels: { app: "backup" }, phase: "Succeeded" });
    await h.advance(15_000);
    expect(heldNodes(h)).toEqual(["n2", "n1"]);
  });
});
