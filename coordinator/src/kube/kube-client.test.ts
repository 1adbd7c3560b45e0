import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { FakeKubeApiserver } from "./fake-kube-apiserver.js";
import { InstantClock } from "./instant-clock.js";
import { KubeClient, loadKubeConfig } from "./kube-client.js";
import { NoKube } from "./no-kube.js";
import { fakeKubeConfig } from "./fake-kube-config.js";

let fake: FakeKubeApiserver;
let clock: InstantClock;
let kube: KubeClient;

beforeEach(async () => {
  fake = await FakeKubeApiserver.start();
  clock = new InstantClock();
  kube = new KubeClient(fakeKubeConfig(fake), { clock });
  fake.setNode({ name: "n1", ready: true });
  fake.setNode({ name: "n2", ready: false, message: "container runtime network not ready" });
});

afterEach(async () => {
  await fake.close();
});

describe("KubeClient node status", () => {
  it("maps the Ready condition and cordon flag", async () => {
    expect(await kube.nodeStatus("n1")).toEqual({ name: "n1", exists: true, ready: true, cordoned: false, cordonedBy: null, readyReason: "KubeletReady: kubelet is posting ready status" });
    expect(await kube.nodeStatus("n2")).toMatchObject({ exists: true, ready: false, readyReason: "KubeletNotReady: container runtime network not ready" });
    fake.setNode({ name: "n3", ready: "Unknown", unschedulable: true });
    expect(await kube.nodeStatus("n3")).toMatchObject({ ready: false, cordoned: true, readyReason: "NodeStatusUnknown" });
    expect(fake.calls("GET", "/api/v1/nodes/n1")).toHaveLength(1);
  });

  it("reports a node Kubernetes does not know as not existing", async () => {
    expect(await kube.nodeStatus("ghost")).toEqual({ name: "ghost", exists: false, ready: false, cordoned: false, cordonedBy: null, readyReason: "node not registered in Kubernetes" });
  });

  it("lists every node", async () => {
    const nodes = await kube.listNodes();
    expect(nodes.map((n) => [n.name, n.ready])).toEqual([["n1", true], ["n2", false]]);
  });

  it("throws UNAVAILABLE when the API server cannot be reached", async () => {
    await fake.close();
    const err = await kube.listNodes().catch((e: unknown) => e);
    expect(isNkError(err, "UNAVAILABLE")).toBe(true);
    fake = await FakeKubeApiserver.start();
  });

  it("loads its configuration from a kubeconfig file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nk-kube-"));
    try {
      const path = join(dir, "kubeconfig.yaml");
      await writeFile(path, fake.kubeconfigYaml());
      expect((await KubeClient.fromFile(path).nodeStatus("n1")).ready).toBe(true);
      expect(() => KubeClient.fromFile(join(dir, "missing.yaml"))).toThrow(/cannot load kubeconfig/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("KubeClient cordon", () => {
  it("patches spec.unschedulable with a strategic merge patch, and only when it changes", async () => {
    expect(await kube.cordon("n1")).toEqual({ wasCordoned: false });
    expect(fake.node("n1")?.unschedulable).toBe(true);
    expect(await kube.cordon("n1")).toEqual({ wasCordoned: true });
    expect(await kube.uncordon("n1")).toEqual({ wasCordoned: true });
    expect(fake.node("n1")?.unschedulable).toBe(false);
    const patches = fake.calls("PATCH");
    expect(patches.map((p) => [p.path, p.contentType, p.body])).toEqual([
      ["/api/v1/nodes/n1", "application/strategic-merge-patch+json", { spec: { unschedulable: true } }],
      ["/api/v1/nodes/n1", "application/strategic-merge-patch+json", { metadata: { annotations: { "nk.dev/cordoned-by": null } }, spec: { unschedulable: null } }],
    ]);
  });

  it("marks its own cordon, so a re-run with the same marker knows the node was not an operator's", async () => {
    expect(await kube.cordon("n1", undefined, "lease-7")).toEqual({ wasCordoned: false });
    expect(await kube.nodeStatus("n1")).toMatchObject({ cordoned: true, cordonedBy: "lease-7" });
    expect(await kube.cordon("n1", undefined, "lease-7")).toEqual({ wasCordoned: false });
    expect(await kube.cordon("n1", undefined, "lease-8")).toEqual({ wasCordoned: true });
    expect(fake.calls("PATCH").map((p) => p.body)).toEqual([{ metadata: { annotations: { "nk.dev/cordoned-by": "lease-7" } }, spec: { unschedulable: true } }]);
    await kube.uncordon("n1");
    expect(await kube.nodeStatus("n1")).toMatchObject({ cordoned: false, cordonedBy: null });
    expect(fake.node("n1")?.annotations).toEqual({});
    // An operator's cordon carries no marker: it stays the operator's, also when an uncordon names a marker.
    fake.setNode({ name: "n2", ready: true, unschedulable: true });
    expect(await kube.cordon("n2", undefined, "lease-9")).toEqual({ wasCordoned: true });
    expect(await kube.uncordon("n2", undefined, "lease-9")).toEqual({ wasCordoned: true });
    expect(fake.node("n2")?.unschedulable).toBe(true);
    // nk's cordon of another lease is not this lease's to lift either; this lease's is.
    await kube.cordon("n1", undefined, "lease-10");
    expect(await kube.uncordon("n1", undefined, "lease-11")).toEqual({ wasCordoned: true });
    expect(await kube.uncordon("n1", undefined, "lease-10")).toEqual({ wasCordoned: false });
    expect(await kube.nodeStatus("n1")).toMatchObject({ cordoned: false, cordonedBy: null });
    // A leader that may no longer act once the node's read came back writes nothing.
    const patches = fake.calls("PATCH").length;
    await expect(kube.cordon("n1", undefined, "lease-12", () => false)).rejects.toThrow("cordoning node n1: not sent, this coordinator may no longer act");
    expect([fake.calls("PATCH").length, fake.node("n1")?.unschedulable]).toEqual([patches, false]);
  });

  it("refuses to cordon a node Kubernetes does not know", async () => {
    const err = await kube.cordon("ghost").catch((e: unknown) => e);
    expect(isNkError(err, "NODE_UNKNOWN")).toBe(true);
    expect(fake.calls("PATCH")).toHaveLength(0);
  });
});

describe("KubeClient drain", () => {
  function evictions(): string[] {
    return fake.calls("POST").map((r) => r.path);
  }

  it("cordons, evicts workload pods and skips DaemonSet and mirror pods", async () => {
    fake.addPod({ namespace: "web", name: "web-1", nodeName: "n1", owner: "ReplicaSet" });
    fake.addPod({ namespace: "web", name: "cache-0", nodeName: "n1", owner: "StatefulSet", emptyDir: true });
    fake.addPod({ namespace: "kube-system", name: "svclb-1", nodeName: "n1", owner: "DaemonSet" });
    fake.addPod({ namespace: "kube-system", name: "static-n1", nodeName: "n1", owner: "Node", mirror: true });
    fake.addPod({ namespace: "web", name: "web-2", nodeName: "n2", owner: "ReplicaSet" });

    const result = await kube.drain("n1", { timeoutMs: 600_000 });

    expect(result).toEqual({ ok: true, evicted: ["web/web-1", "web/cache-0"], wasCordoned: false });
    expect(fake.node("n1")?.unschedulable).toBe(true);
    expect(fake.calls("GET", "/api/v1/pods")[0]?.query).toEqual({ fieldSelector: "spec.nodeName=n1" });
    expect(evictions().sort()).toEqual(["/api/v1/namespaces/web/pods/cache-0/eviction", "/api/v1/namespaces/web/pods/web-1/eviction"]);
    expect(fake.calls("POST")[0]?.body).toMatchObject({ apiVersion: "policy/v1", kind: "Eviction", metadata: { namespace: "web" } });
    expect(fake.podKeys().sort()).toEqual(["kube-system/static-n1", "kube-system/svclb-1", "web/web-2"]);
  });

  it("sends no call once mayAct says no (a leader whose lease clock ran out), and ends as aborted", async () => {
    fake.addPod({ namespace: "db", name: "postgres-0", nodeName: "n1", owner: "StatefulSet", pdbBlocks: 3 });
    // Asked before the cordon's read and before its write, before the pod list, then before each eviction.
    let allowed = 4;
    const result = await kube.drain("n1", { timeoutMs: 600_000, mayAct: () => allowed-- > 0 });
    expect(result).toMatchObject({ ok: false, reason: "drain aborted", evicted: [] });
    // The cordon, the pod list and one eviction went out; the retries did not.
    expect(evictions()).toEqual(["/api/v1/namespaces/db/pods/postgres-0/eviction"]);
    expect(fake.podKeys()).toEqual(["db/postgres-0"]);
  });

  it("retries an eviction a PodDisruptionBudget refuses, with backoff, until it is allowed", async () => {
    fake.addPod({ namespace: "db", name: "postgres-0", nodeName: "n1", owner: "StatefulSet", pdbBlocks: 3 });
    const result = await kube.drain("n1", { timeoutMs: 600_000 });
    expect(result.ok).toBe(true);
    expect(result.evicted).toEqual(["db/postgres-0"]);
    expect(evictions()).toEqual(Array(4).fill("/api/v1/namespaces/db/pods/postgres-0/eviction"));
    expect(clock.sleeps).toEqual([1_000, 2_000, 4_000]);
  });

  it("gives up at the timeout and names the pod the budget blocks", async () => {
    fake.addPod({ namespace: "db", name: "postgres-0", nodeName: "n1", owner: "StatefulSet", pdbBlocks: Infinity });
    fake.addPod({ namespace: "web", name: "web-1", nodeName: "n1", owner: "ReplicaSet" });
    const started = clock.now();
    const result = await kube.drain("n1", { timeoutMs: 600_000 });
    expect(result.ok).toBe(false);
    expect(result.reason).toBe(
      "drain timed out after 600s: pod db/postgres-0 blocked by PodDisruptionBudget (The disruption budget postgres-0-pdb needs 1 healthy pods and has 1 currently)",
    );
    expect(result.evicted).toEqual(["web/web-1"]);
    expect(clock.now() - started).toBe(600_000);
    expect(Math.max(...clock.sleeps)).toBe(5_000);
  });

  it("waits until evicted pods are gone, bounded by the timeout", async () => {
    fake.addPod({ namespace: "web", name: "slow", nodeName: "n1", owner: "ReplicaSet", lingerReads: 2 });
    expect(await kube.drain("n1", { timeoutMs: 60_000 })).toMatchObject({ ok: true, evicted: ["web/slow"] });
    expect(fake.calls("GET", "/api/v1/namespaces/web/pods/slow")).toHaveLength(3);

    fake.addPod({ namespace: "web", name: "stuck", nodeName: "n1", owner: "ReplicaSet", lingerReads: Infinity });
    const result = await kube.drain("n1", { timeoutMs: 10_000 });
    expect(result).toMatchObject({ ok: false, wasCordoned: true, reason: "drain timed out after 10s: pod web/stuck still terminating" });
  });

  it("refuses pods without a controller unless forced", async () => {
    fake.addPod({ namespace: "default", name: "debug", nodeName: "n1" });
    fake.addPod({ namespace: "default", name: "job-done", nodeName: "n1", phase: "Succeeded" });
    const refused = await kube.drain("n1", { timeoutMs: 60_000 });
    expect(refused.ok).toBe(false);
    expect(refused.reason).toBe("pods without a controller would be lost: default/debug (delete them or drain with force)");
    expect(evictions()).toHaveLength(0);

    const forced = await kube.drain("n1", { timeoutMs: 60_000, force: true });
    expect(forced).toMatchObject({ ok: true, evicted: ["default/debug", "default/job-done"] });
  });

  it("stops when its signal aborts", async () => {
    fake.addPod({ namespace: "db", name: "postgres-0", nodeName: "n1", owner: "StatefulSet", pdbBlocks: Infinity });
    const abort = new AbortController();
    clock.onSleep = () => {
      if (clock.sleeps.length === 2) abort.abort();
    };
    const result = await kube.drain("n1", { timeoutMs: 600_000, signal: abort.signal });
    expect(result).toMatchObject({ ok: false, reason: "drain aborted" });
    expect(evictions().length).toBeLessThanOrEqual(3);
  });

  it("bounds each call: a pod list that never answers is retried until the drain's deadline, then named", async () => {
    const bounded = new KubeClient(fakeKubeConfig(fake), { clock, tuning: { callTimeoutMs: 300 } });
    fake.blackHole("GET", "/api/v1/pods");
    const result = await bounded.drain("n1", { timeoutMs: 10_000 });
    expect(result).toEqual({ ok: false, evicted: [], wasCordoned: false, reason: "listing pods on n1 failed: Kubernetes API: listing pods on n1: no answer within 300ms" });
    expect(clock.sleeps).toEqual([1_000, 2_000, 4_000, 3_000]);
    // Each attempt's abort reached its connection: none is left open.
    await fake.hungUp(5);
    expect(fake.calls("GET", "/api/v1/pods")).toHaveLength(5);
  });

  it("reports a drain of a node Kubernetes does not know", async () => {
    const result = await kube.drain("ghost", { timeoutMs: 60_000 });
    expect(result).toEqual({ ok: false, evicted: [], wasCordoned: false, reason: "cordon of ghost failed: node ghost is not registered in Kubernetes" });
  });
});

describe("loadKubeConfig", () => {
  let dir = "";
  afterEach(async () => dir && (await rm(dir, { recursive: true, force: true })));

  it("accepts a kubeconfig that points at the API VIP (a server's k3s.yaml with its server address replaced)", async () => {
    dir = await mkdtemp(join(tmpdir(), "nk-kubeconfig-"));
    const path = join(dir, "kubeconfig");
    // As k3s writes /etc/rancher/k3s/k3s.yaml (server 127.0.0.1), edited to the VIP the certificate names (--tls-san).
    const k3sYaml = `apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: ${Buffer.from("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").toString("base64")}
    server: https://172.30.190.10:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
users:
- name: default
  user:
    token: k3s-admin-token
`;
    await writeFile(path, k3sYaml);
    const config = loadKubeConfig(path);
    expect(config.getCurrentCluster()).toMatchObject({ name: "default", server: "https://172.30.190.10:6443" });
    expect(config.getCurrentUser()?.token).toBe("k3s-admin-token");
    // The client's requests go to the VIP: the coordinator follows whichever node holds it.
    expect(new KubeClient(config, { clock }).enabled).toBe(true);
  });

  it("refuses a kubeconfig without a current cluster, naming the file", async () => {
    dir = await mkdtemp(join(tmpdir(), "nk-kubeconfig-"));
    const path = join(dir, "kubeconfig");
    await writeFile(path, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
    expect(() => loadKubeConfig(path)).toThrow(`kubeconfig ${path} has no current cluster`);
  });
});

describe("NoKube", () => {
  it("knows nothing and drains nothing", async () => {
    const none = new NoKube();
    expect(none.enabled).toBe(false);
    expect(await none.nodeStatus("n1")).toEqual({ name: "n1", exists: null, ready: null, cordoned: false, cordonedBy: null, readyReason: "no Kubernetes access configured" });
    expect(await none.listNodes()).toEqual([]);
    expect(await none.drain("n1", { timeoutMs: 1 })).toMatchObject({ ok: true, evicted: [] });
  });
});
