// When manifests are applied: after the servers converge, at once, or by hand; one run at a time; failures retried with backoff.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import type { ManifestApplyMode, RepoFiles } from "../../../shared/src/inventory/index.js";
import { silentLogger } from "../../../shared/src/log/index.js";
import { exampleInventory } from "../../../shared/src/render/test-inventory.js";
import { FakeKubeApiserver } from "../kube/fake-kube-apiserver.js";
import { InstantClock } from "../kube/instant-clock.js";
import { ManifestClient } from "./manifest-client.js";
import { NoManifests } from "./no-manifests.js";
import type { ManifestDriver } from "./manifest-driver.js";
import { ManifestSyncer, type StoreRollout, type SyncerTimers } from "./manifest-syncer.js";
import type { ManifestsState } from "./manifests-view.js";
import { fakeKubeConfig } from "../kube/fake-kube-config.js";

const FILES = new Map([
  ["manifests/app.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: { name: app }\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: cfg, namespace: app }\ndata: { k: v }\n"],
]);

/** Timers the test fires by hand, recording each delay asked for. */
class ManualTimers implements SyncerTimers {
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  readonly delays: number[] = [];
  private next = 1;
  setTimeout(fn: () => void, ms: number): unknown {
    this.delays.push(ms);
    this.pending.set(this.next, { fn, ms });
    return this.next++;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  fire(): void {
    const [id, t] = [...this.pending][0]!;
    this.pending.delete(id);
    t.fn();
  }
}

let fake: FakeKubeApiserver;
let events: { kind: string; message: string }[];
/** The store refuses event appends (etcd cut off). */
let eventsFail: boolean;
let applies: boolean[];
let converged: boolean;
let timers: ManualTimers;
/** Reads of the store's rollout record. */
let rolloutReads: number;

/** A coordinator sharing its store with others: its catalog and the store's rollout record are the test's to move. */
interface Shared {
  readonly cluster: string;
  readonly catalog: () => { revision: string; files: RepoFiles };
  readonly store: () => StoreRollout;
  readonly deferred?: () => string | undefined;
}

function realDriver(): ManifestDriver {
  return new ManifestClient(fakeKubeConfig(fake), { clock: new InstantClock() });
}

function syncer(mode: ManifestApplyMode, driver: ManifestDriver = realDriver(), revision = "a".repeat(40), shared?: Shared): ManifestSyncer {
  const base = exampleInventory();
  const inventory = { ...base, cluster: { ...base.cluster, name: shared?.cluster ?? `lab-${mode}` }, manifests: { ...base.manifests, apply: mode } };
  return new ManifestSyncer({
    driver,
    current: () => ({ ...(shared?.catalog() ?? { revision, files: FILES }), inventory }),
    // A lone coordinator's store names the catalog's revision once adopted.
    rollout: async () => {
      rolloutReads++;
      return shared?.store() ?? { revision };
    },
    ...(shared?.deferred ? { deferred: shared.deferred } : {}),
    serversConverged: () => converged,
    isLeader: () => true,
    events: {
      appendEvent: async (e) => {
        if (eventsFail) throw new Error("etcd transaction failed: 14 UNAVAILABLE: No connection established");
        events.push(e);
      },
    },
    metrics: { manifestApply: (ok) => void applies.push(ok) },
    log: silentLogger(),
    now: () => 1_000,
    timers,
  });
}

/** Resolves once `done` holds, checked on each of the syncer's change signals (no polling). */
function until(s: ManifestSyncer, done: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (done()) {
        off();
        resolve();
      }
    };
    const off = s.changed.subscribe(check);
    check();
  });
}

function reach(s: ManifestSyncer, ...states: ManifestsState[]): Promise<void> {
  return until(s, () => states.includes(s.snapshot().state));
}

function parentPatches(cluster: string): number {
  return fake.calls("PATCH", `/api/v1/namespaces/kube-system/secrets/nk-${cluster}`).length;
}

beforeAll(async () => {
  fake = await FakeKubeApiserver.start();
});
afterAll(() => fake.close());
beforeEach(() => {
  events = [];
  eventsFail = false;
  applies = [];
  converged = false;
  timers = new ManualTimers();
  rolloutReads = 0;
});

describe("ManifestSyncer", () => {
  it("after-servers: waits until the revision's servers converged, then applies once", async () => {
    const s = syncer("after-servers");
    s.noteAdopted();
    expect(s.snapshot()).toMatchObject({ state: "waiting", mode: "after-servers", appliedRevision: "" });
    expect(parentPatches("lab-after-servers")).toBe(0);
    converged = true;
    s.evaluate();
    await reach(s, "applied");
    expect(s.snapshot()).toMatchObject({ state: "applied", appliedRevision: "a".repeat(40), error: "" });
    expect(s.snapshot().objects.map((o) => [o.key, o.action, o.health])).toEqual([["Namespace app", "created", "healthy"], ["ConfigMap app/cfg", "created", "healthy"]]);
    expect(events).toEqual([{ kind: "manifests-applied", revision: "a".repeat(40), message: "manifests of aaaaaaaaaaaa applied: 2 created" }]);
    s.evaluate();
    expect(parentPatches("lab-after-servers")).toBe(2);
  });

  it("never runs concurrently with itself", async () => {
    const s = syncer("immediately");
    s.noteAdopted();
    s.noteAdopted();
    s.evaluate();
    await reach(s, "applied");
    expect(parentPatches("lab-immediately")).toBe(2);
    expect(applies).toEqual([true]);
  });

  it("reports a failing apply, retries it with doubling backoff, and recovers", async () => {
    const created = await fetch(`${fake.url}/api/v1/namespaces?fieldManager=kubectl-create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "app" } }) });
    expect([201, 409]).toContain(created.status);
    const edit = await fetch(`${fake.url}/api/v1/namespaces/app/configmaps?fieldManager=kubectl-edit`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg-conflict" }, data: { k: "theirs" } }) });
    expect(edit.status).toBe(201);
    const files = new Map([["manifests/app.yaml", FILES.get("manifests/app.yaml")!.replace("name: cfg,", "name: cfg-conflict,")]]);
    const base = exampleInventory();
    const inventory = { ...base, cluster: { ...base.cluster, name: "lab-retry" }, manifests: { ...base.manifests, apply: "immediately" as const } };
    const s = new ManifestSyncer({ driver: new ManifestClient(fakeKubeConfig(fake), { clock: new InstantClock() }), current: () => ({ revision: "b".repeat(40), inventory, files }), rollout: async () => ({ revision: "b".repeat(40) }), serversConverged: () => true, isLeader: () => true, events: { appendEvent: async (e) => void events.push(e) }, metrics: { manifestApply: (ok) => void applies.push(ok) }, log: silentLogger(), now: () => 1_000, timers });
    s.noteAdopted();
    await reach(s, "failed");
    expect(s.snapshot()).toMatchObject({ state: "failed", failures: 1, nextRetryMs: 6_000 });
    expect(s.snapshot().error).toMatch(/^1 object\(s\) not applied; nothing pruned; ConfigMap app\/cfg-conflict \(manifests\/app\.yaml:5\): HTTP 409: Apply failed with 1 conflict: conflict with "kubectl-edit": \.data\.k/);
    expect(events.map((e) => e.kind)).toEqual(["manifests-failed"]);
    timers.fire();
    await until(s, () => applies.length === 2 && s.snapshot().state === "failed");
    expect(timers.delays).toEqual([5_000, 10_000]);
    expect(s.snapshot().failures).toBe(2);
    const gone = await fetch(`${fake.url}/api/v1/namespaces/app/configmaps/cfg-conflict`, { method: "DELETE" });
    expect(gone.status).toBe(200);
    timers.fire();
    await until(s, () => applies.length === 3 && s.snapshot().state === "applied");
    expect(applies).toEqual([false, false, true]);
    expect(events.map((e) => e.kind)).toEqual(["manifests-failed", "manifests-applied"]);
  });

  it("a run that throws neither ends the process nor loses the outcome: an event etcd refused, a driver that threw", async () => {
    // HA chaos seed 25200018: a new leader applied the manifests, etcd refused the event, and the run's rejection,
    // which nothing awaited, ended the coordinator. vitest fails the file on an unhandled rejection.
    eventsFail = true;
    const s = syncer("immediately");
    s.noteAdopted();
    await reach(s, "applied");
    expect((await s.applyNow()).state).toBe("applied");
    expect(events).toEqual([]);
    expect(timers.delays).toEqual([]);

    const throwing: ManifestDriver = {
      enabled: true,
      apply: () => Promise.reject(new Error("kube-apiserver unreachable")),
      diff: () => Promise.resolve([]),
      status: () => Promise.resolve([]),
    };
    const t = syncer("immediately", throwing);
    t.noteAdopted();
    await reach(t, "failed");
    expect(t.snapshot()).toMatchObject({ state: "failed", error: "kube-apiserver unreachable", failures: 1 });
    expect(timers.delays).toEqual([5_000]);
  });

  it("manual: applies only when asked", async () => {
    const s = syncer("manual");
    converged = true;
    s.noteAdopted();
    expect(s.snapshot().state).toBe("manual");
    expect(parentPatches("lab-manual")).toBe(0);
    const view = await s.applyNow();
    expect(view.state).toBe("applied");
    expect(parentPatches("lab-manual")).toBe(2);
  });

  it("without Kubernetes access says so and applies nothing", () => {
    const s = syncer("immediately", new NoManifests());
    s.noteAdopted();
    expect(s.snapshot()).toMatchObject({ state: "disabled", error: "no Kubernetes access configured (kubeconfigFile): manifests are validated but not applied" });
  });
});

/** Records the revision of each apply it passes on. */
function recording(inner: ManifestDriver, applied: string[], beforeApply: (revision: string) => void = () => undefined): ManifestDriver {
  return {
    enabled: true,
    apply: (r) => {
      applied.push(r.revision);
      beforeApply(r.revision);
      return inner.apply(r);
    },
    diff: (r) => inner.diff(r),
    status: (r) => inner.status(r),
  };
}

// Review finding: a new leader whose repo was behind (upstream not fetched yet, or restarted on an older main with
// its adoption deferred) applied its older revision, and the prune deleted the newer revision's objects.
describe("a coordinator whose revision is not the cluster's (shared store)", () => {
  const [R1, R2, R3] = ["1", "2", "3"].map((c) => c.repeat(40)) as [string, string, string];
  const V1: RepoFiles = FILES;
  const V2: RepoFiles = new Map([...FILES, ["manifests/extra.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: extra, namespace: app }\ndata: { k: v }\n"]]);
  const extra = () => fake.object("", "ConfigMap", "app", "extra");
  const behindR2 = "waiting: this coordinator's revision 111111111111 is not the cluster's 222222222222 (behind it, or not recorded yet); it applies once it has adopted the cluster's revision";

  it("as the new leader waits without calling the driver, so the newer revision's objects stay, and applies once it caught up", async () => {
    converged = true; // R2 changed manifests/ only: every server's bundle is the same under R1 and R2
    let store: StoreRollout = { revision: R2 };
    const old = syncer("after-servers", realDriver(), R2, { cluster: "lab-behind", catalog: () => ({ revision: R2, files: V2 }), store: () => store });
    old.noteAdopted();
    await reach(old, "applied");
    old.stop();
    expect(extra()).toBeDefined();

    // The old leader is gone; the new one still has R1.
    let catalog = { revision: R1, files: V1 };
    const applied: string[] = [];
    const s = syncer("after-servers", recording(realDriver(), applied), R1, { cluster: "lab-behind", catalog: () => catalog, store: () => store });
    s.evaluate();
    await until(s, () => s.snapshot().state === "waiting");
    expect(s.snapshot()).toMatchObject({ state: "waiting", revision: R1, appliedRevision: "", error: behindR2 });
    expect(applied).toEqual([]);
    expect(extra()).toBeDefined();

    // Node reports decide again without reading the store each time; the recheck reads it once more.
    const reads = rolloutReads;
    s.evaluate();
    s.evaluate();
    expect(rolloutReads).toBe(reads);
    expect(timers.delays).toEqual([10_000]);
    timers.fire();
    await until(s, () => rolloutReads === reads + 1 && timers.pending.size === 1);
    expect(s.snapshot()).toMatchObject({ state: "waiting", error: behindR2 });
    expect(applied).toEqual([]);

    // It fetches and adopts R2: applied at once, nothing pruned.
    catalog = { revision: R2, files: V2 };
    store = { revision: R2 };
    s.noteAdopted();
    await reach(s, "applied");
    expect(applied).toEqual([R2]);
    expect(timers.pending.size).toBe(0);
    expect(s.snapshot().objects.map((o) => [o.key, o.action])).toEqual([["Namespace app", "unchanged"], ["ConfigMap app/cfg", "unchanged"], ["ConfigMap app/extra", "unchanged"]]);
    expect(extra()).toBeDefined();
    s.stop();
  });

  it("refuses nkctl manifests apply while behind, held back by the adopter, or while the cluster's adoption is under way", async () => {
    let catalog = { revision: R1, files: V1 };
    let store: StoreRollout = { revision: R2 };
    let deferred: string | undefined;
    const applied: string[] = [];
    const s = syncer("manual", recording(realDriver(), applied), R1, { cluster: "lab-forced", catalog: () => catalog, store: () => store, deferred: () => deferred });
    s.noteAdopted();
    expect(s.snapshot().state).toBe("manual");
    const err = await s.applyNow().catch((e: unknown) => e);
    expect(isNkError(err, "UNAVAILABLE")).toBe(true);
    expect((err as Error).message).toBe(`manifests not applied: ${behindR2}`);
    expect(s.snapshot()).toMatchObject({ state: "waiting", error: behindR2 });

    deferred = R1; // restarted on an older main: the adopter held R1 back, whatever the store reads
    store = { revision: R1 };
    await expect(s.applyNow()).rejects.toThrow("manifests not applied: waiting: this coordinator's revision 111111111111 is behind the cluster's (the store named a newer one at its adoption); it applies once it has fetched and adopted the cluster's revision");

    catalog = { revision: R2, files: V2 };
    store = { revision: R2, adopting: { revision: R2 } }; // another coordinator is writing R2's desired bundles
    s.noteAdopted();
    await expect(s.applyNow()).rejects.toThrow("manifests not applied: waiting: the adoption of 222222222222 is still writing its desired bundles; manifests are applied once it completes");
    expect(applied).toEqual([]);

    store = { revision: R2 };
    expect(await s.applyNow()).toMatchObject({ state: "applied", appliedRevision: R2, error: "" });
    expect(applied).toEqual([R2]);
    s.stop();
  });

  it("prunes nothing when the cluster moves on during the apply, and prunes once it has the newer revision", async () => {
    let catalog = { revision: R1, files: V2 };
    let store: StoreRollout = { revision: R1 };
    const applied: string[] = [];
    // Another coordinator adopts R3 while this one applies R2 (after the check before the apply, before the prune).
    const driver = recording(realDriver(), applied, (revision) => void (revision === R2 && (store = { revision: R3 })));
    const s = syncer("immediately", driver, R1, { cluster: "lab-moved", catalog: () => catalog, store: () => store });
    s.noteAdopted();
    await reach(s, "applied");
    expect(extra()).toBeDefined();

    // R2 drops extra.
    catalog = { revision: R2, files: V1 };
    store = { revision: R2 };
    s.noteAdopted();
    await until(s, () => s.snapshot().state === "waiting");
    expect(s.snapshot()).toMatchObject({
      revision: R2,
      appliedRevision: R1,
      error: "waiting: this coordinator's revision 222222222222 is not the cluster's 333333333333 (behind it, or not recorded yet); it applies once it has adopted the cluster's revision; applied, nothing pruned",
    });
    expect(s.snapshot().objects.map((o) => [o.key, o.action])).toEqual([["Namespace app", "unchanged"], ["ConfigMap app/cfg", "unchanged"]]);
    expect(extra()).toBeDefined();
    expect(applies).toEqual([true]); // neither a failure nor a retry with backoff
    expect(events.map((e) => e.kind)).toEqual(["manifests-applied"]);

    // This coordinator adopts R3 (which drops extra too): applied, and pruned now.
    catalog = { revision: R3, files: V1 };
    s.noteAdopted();
    await reach(s, "applied");
    expect(applied).toEqual([R1, R2, R3]);
    expect(s.snapshot().objects.map((o) => [o.key, o.action])).toContainEqual(["ConfigMap app/extra", "pruned"]);
    expect(extra()).toBeUndefined();
    s.stop();
  });
});
