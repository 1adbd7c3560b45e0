// RevisionAdopter at start on a store shared by several coordinators: a main older than the store's revision is served
// but takes nothing back in the store (HA chaos seed 24700002: a restarted coordinator's older bundles left a request
// out as stale); a main the store has not caught up with is written as before.
import { rm } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { homelabFiles, tempDir } from "../git/test-fixtures.js";
import { FileStore } from "../store/index.js";
import { DesiredFeed } from "./desired-feed.js";
import { adopterOver, failingOnce } from "./test-fixtures.js";

const OLD = "1".repeat(40);
const NEW = "2".repeat(40);
let dir: string;
let store: FileStore;
beforeEach(async () => {
  dir = await tempDir("adopter");
  store = await FileStore.open({ dir, clock: () => 1_000 });
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** The store, with `before` run (as another coordinator's writes) just before the first call of `method` goes through. */
function racedBefore(target: FileStore, method: "setRolloutRevision" | "setDesired", before: (t: FileStore) => Promise<void>): FileStore {
  let raced = false;
  return new Proxy(target, {
    get(t, prop) {
      const value = Reflect.get(t, prop) as unknown;
      if (typeof value !== "function") return value;
      if (prop !== method || raced) return value.bind(t);
      return async (...args: unknown[]) => {
        raced = true;
        await before(t);
        return (value as (...a: unknown[]) => Promise<unknown>).apply(t, args);
      };
    },
  });
}

/** The example inventory's files, with its secret set, n1 and n2 enrolled and the rollout on `revision` if given. */
async function enrolledOn(revision?: string): Promise<Map<string, string>> {
  await store.setSecret("k3s-token", Buffer.from("t"));
  for (const n of ["n1", "n2"]) await store.enrollNode(n);
  if (revision !== undefined) await store.setRolloutRevision(revision);
  return homelabFiles();
}

/** The same files with a comment added to the inventory: a new commit that changes no node's bundle. */
function withComment(files: Map<string, string>): Map<string, string> {
  const next = new Map(files);
  const [yamlPath, yamlText] = [...files].find(([path]) => path.endsWith(".yaml"))!;
  next.set(yamlPath, `${yamlText}\n# a comment\n`);
  return next;
}

async function startedOn(storeIsAhead: boolean) {
  const files = await homelabFiles();
  // What the other coordinators left in the store: revision NEW, with its own desired bundle for every node.
  await store.setSecret("k3s-token", Buffer.from("t"));
  expect((await (await adopterOver(store)).adopter.validate(files)).ok).toBe(true);
  const nodes = ["n1", "n2", "n3"];
  for (const n of nodes) await store.enrollNode(n);
  await store.setDesired(nodes.map((node) => ({ node, revision: NEW, sha256: "f".repeat(64) })));
  await store.setRolloutRevision(NEW);
  const asked: Array<[string, string, boolean]> = [];
  const { adopter, catalog } = await adopterOver(store, { storeIsAhead: async (revision, stored, startup) => (asked.push([revision, stored, startup]), storeIsAhead) });
  const outcome = await adopter.adopt(OLD, files, { startup: true });
  return { outcome, catalog, asked, nodes, adopter };
}

describe("RevisionAdopter at start on a shared store", () => {
  it("serves an older main without writing its desired bundles, rollout revision or adoption", async () => {
    const { outcome, catalog, asked, adopter } = await startedOn(true);
    expect(outcome.ok).toBe(true);
    expect(asked).toEqual([[OLD, NEW, true]]);
    // Owed: an upstream sync that finds main unchanged adopts it again (the store's revision may have been dropped).
    expect(adopter.deferred).toBe(OLD);
    expect(catalog.revision).toBe(OLD);
    expect((await store.getRollout()).revision).toBe(NEW);
    expect((await store.listNodes()).map((n) => n.desired?.revision)).toEqual([NEW, NEW, NEW]);
    expect((await store.readEvents()).filter((e) => e.kind === "revision-adopted")).toEqual([]);
  });

  it("writes a main the store has not caught up with", async () => {
    const { outcome, catalog, adopter } = await startedOn(false);
    expect(outcome.ok).toBe(true);
    expect(adopter.deferred).toBeUndefined();
    expect(catalog.revision).toBe(OLD);
    expect((await store.getRollout()).revision).toBe(OLD);
    const nodes = await store.listNodes();
    expect(nodes.map((n) => n.desired?.revision)).toEqual(nodes.map(() => OLD));
    expect(nodes.map((n) => n.desired?.sha256)).toEqual(nodes.map((n) => catalog.get(n.name)!.bundle.sha256));
  });

  it("tells connected agents of a revision the catalog took even when the store write failed, so a retry cannot miss them", async () => {
    const files = await homelabFiles();
    await store.setSecret("k3s-token", Buffer.from("t"));
    const flaky = failingOnce(store, "getRollout", "etcd range failed: 14 UNAVAILABLE");
    const feed = new DesiredFeed();
    const heard: string[] = [];
    feed.watch("n1", (d) => void heard.push(d.revision));
    const { adopter } = await adopterOver(flaky, { feed });
    await expect(adopter.adopt(OLD, files)).rejects.toThrow("UNAVAILABLE");
    expect(heard).toEqual([OLD]);
    // The next adoption of the same tree changes nothing in the catalog, and writes to the store this time.
    expect(await adopter.adopt(NEW, files)).toMatchObject({ ok: true });
    expect((await store.getRollout()).revision).toBe(NEW);
  });

  it("writes a revision's desired bundles when the same revision is adopted again after its store write failed", async () => {
    const files = await enrolledOn();
    const adopted: string[] = [];
    const { adopter, catalog } = await adopterOver(failingOnce(store, "setDesired", "etcd transaction failed: 14 UNAVAILABLE"), { onAdopted: (r) => void adopted.push(r.revision) });
    await expect(adopter.adopt(OLD, files)).rejects.toThrow("UNAVAILABLE");
    expect((await store.listNodes()).map((n) => n.desired)).toEqual([undefined, undefined]);
    expect(adopted).toEqual([]);
    // What the upstream follower does next: the same revision again.
    expect(await adopter.adopt(OLD, files)).toMatchObject({ ok: true, result: { changed: [] } });
    expect((await store.listNodes()).map((n) => [n.name, n.desired?.revision, n.desired?.sha256])).toEqual(["n1", "n2"].map((n) => [n, OLD, catalog.get(n)!.bundle.sha256]));
    expect((await store.getRollout()).revision).toBe(OLD);
    expect(adopted).toEqual([OLD]);
  });

  it("writes the rollout revision (lifting the halt in the same update), then the desired bundles, tells agents, and journals last", async () => {
    const files = await enrolledOn(OLD);
    await store.haltRollout("n2 failed", OLD);
    const order: string[] = [];
    let releaseJournal!: () => void;
    const journalGate = new Promise<void>((r) => (releaseJournal = r));
    const traced = new Proxy(store, {
      get(t, prop) {
        const value = Reflect.get(t, prop) as unknown;
        if (typeof value !== "function") return value;
        if (!["setDesired", "setRolloutRevision", "markAdopted", "clearHalt", "appendEvent"].includes(String(prop))) return value.bind(t);
        return async (...args: unknown[]) => {
          order.push(`${String(prop)} start`);
          if (prop === "appendEvent") await journalGate;
          const out = (await (value as (...a: unknown[]) => Promise<unknown>).apply(t, args)) as unknown;
          order.push(`${String(prop)} end`);
          return out;
        };
      },
    });
    const feed = new DesiredFeed();
    feed.watch("n1", (d) => void order.push(`n1 told ${d.revision.slice(0, 1)}`));
    const adopted: string[] = [];
    const { adopter } = await adopterOver(traced, { feed, onAdopted: (r) => void adopted.push(r.revision) });
    const adopting = adopter.adopt(NEW, files);
    await until(() => order.includes("appendEvent start"));
    expect(order).toEqual(["setRolloutRevision start", "setRolloutRevision end", "setDesired start", "setDesired end", "markAdopted start", "markAdopted end", "n1 told 2", "appendEvent start"]);
    // The live revision's followers (leases, health, manifests) do not wait for the journal either.
    expect(adopted).toEqual([NEW]);
    releaseJournal();
    expect(await adopting).toMatchObject({ ok: true });
    expect(order[order.length - 1]).toBe("appendEvent end");
    expect(await store.getRollout()).toMatchObject({ revision: NEW });
    expect((await store.getRollout()).halted).toBeUndefined();
    expect((await store.readEvents()).filter((e) => e.kind === "revision-adopted").map((e) => e.revision)).toEqual([NEW]);
  });

  it("leaves no halt behind when the desired bundles' write fails after the revision moved", async () => {
    const files = await enrolledOn(OLD);
    await store.haltRollout("n2 failed", OLD);
    const { adopter } = await adopterOver(failingOnce(store, "setDesired", "etcd transaction failed: 14 UNAVAILABLE"));
    await expect(adopter.adopt(NEW, files)).rejects.toThrow("UNAVAILABLE");
    // Between the two writes, a queued request for the old bundle is not stale yet: the mark holds every grant.
    expect(await store.getRollout()).toEqual({ revision: NEW, adopting: { revision: NEW, atMs: 1_000, id: expect.any(String) } });
    // The retry finds the revision already moved: the halt went with that move, not with a step after it.
    expect(await adopter.adopt(NEW, files)).toMatchObject({ ok: true });
    expect(await store.getRollout()).toEqual({ revision: NEW });
    expect((await store.listNodes()).map((n) => n.desired?.revision)).toEqual([NEW, NEW]);
  });

  it("journals the first attempt's entry (who pushed, what changed) when only the journal failed, and the revision's followers ran", async () => {
    const files = await homelabFiles();
    await store.setSecret("k3s-token", Buffer.from("t"));
    const feed = new DesiredFeed();
    const heard: string[] = [];
    feed.watch("n1", (d) => void heard.push(d.revision));
    const adopted: string[] = [];
    const { adopter, catalog } = await adopterOver(failingOnce(store, "appendEvent", "etcd transaction failed: 14 UNAVAILABLE"), { feed, onAdopted: (r) => void adopted.push(r.revision) });
    await expect(adopter.adopt(OLD, files, { pushedBy: "alice" })).rejects.toThrow("UNAVAILABLE");
    expect(heard).toEqual([OLD]);
    expect(adopted).toEqual([OLD]);
    expect((await store.getRollout()).revision).toBe(OLD);
    // What the upstream follower does next: the same revision again, which changes nothing in the catalog now.
    expect(await adopter.adopt(OLD, files)).toMatchObject({ ok: true, result: { changed: [] } });
    const journaled = (await store.readEvents()).filter((e) => e.kind === "revision-adopted");
    expect(journaled.map((e) => [e.revision, e.fields?.pushedBy, e.fields?.changed])).toEqual([[OLD, "alice", catalog.nodes().map((d) => d.node.name).join(",")]]);
    expect(journaled[0]!.message).toMatch(/^[1-9]\d* node\(s\) changed/);
  });

  it("writes nothing when another coordinator moved the shared store to a newer revision meanwhile", async () => {
    const files = await enrolledOn(OLD);
    const NEWER = "3".repeat(40);
    // Just before this adoption's move: another coordinator adopted a newer commit, and a node failed it.
    const racing = racedBefore(store, "setRolloutRevision", async (t) => {
      await t.setRolloutRevision(NEWER);
      await t.haltRollout("n2 failed", NEWER);
    });
    const asked: Array<[string, string, boolean]> = [];
    const { adopter } = await adopterOver(racing, { storeIsAhead: async (revision, stored, startup) => (asked.push([revision, stored, startup]), stored === NEWER) });
    expect(await adopter.adopt(NEW, files)).toMatchObject({ ok: true });
    expect(asked).toEqual([[NEW, OLD, false], [NEW, NEWER, false]]);
    expect(await store.getRollout()).toMatchObject({ revision: NEWER, halted: { reason: "n2 failed", revision: NEWER } });
    expect((await store.listNodes()).map((n) => n.desired)).toEqual([undefined, undefined]);
    expect((await store.readEvents()).filter((e) => e.kind === "revision-adopted")).toEqual([]);
  });

  it("journals a revision it served without writing (the store looked ahead) with its first entry, once a later adoption writes it", async () => {
    const files = await enrolledOn(NEW);
    let ahead = true;
    const { adopter } = await adopterOver(store, { storeIsAhead: async () => ahead });
    expect(await adopter.adopt(OLD, files, { pushedBy: "alice" })).toMatchObject({ ok: true });
    expect(adopter.deferred).toBe(OLD);
    expect((await store.readEvents()).filter((e) => e.kind === "revision-adopted")).toEqual([]);
    // A revision that fails validation is not owed anything: the deferral is for the adoption that wrote nothing.
    const bad = new Map(files).set("inventory.yaml", "cluster: [\n");
    expect(await adopter.adopt(NEW, bad)).toMatchObject({ ok: false });
    expect(adopter.deferred).toBeUndefined();
    // Upstream's tip shows NEW was dropped by a force push: the follower adopts main again, and now it is written.
    ahead = false;
    expect(await adopter.adopt(OLD, files)).toMatchObject({ ok: true, result: { changed: [] } });
    expect(adopter.deferred).toBeUndefined();
    expect((await store.getRollout()).revision).toBe(OLD);
    const journaled = (await store.readEvents()).filter((e) => e.kind === "revision-adopted");
    expect(journaled.map((e) => [e.revision, e.fields?.pushedBy])).toEqual([[OLD, "alice"]]);
    expect(journaled[0]!.message).toMatch(/^[1-9]\d* node\(s\) changed/);
  });

  it("journals an entry a failed adoption owed before the next revision's, in order", async () => {
    const files = await homelabFiles();
    await store.setSecret("k3s-token", Buffer.from("t"));
    const { adopter } = await adopterOver(failingOnce(store, "appendEvent", "etcd transaction failed: 14 UNAVAILABLE"));
    await expect(adopter.adopt(OLD, files, { pushedBy: "alice" })).rejects.toThrow("UNAVAILABLE");
    // A push is not retried by itself: the next push, with other files, is the next adoption.
    expect(await adopter.adopt(NEW, withComment(files), { pushedBy: "bob" })).toMatchObject({ ok: true });
    const journaled = (await store.readEvents()).filter((e) => e.kind === "revision-adopted");
    expect(journaled.map((e) => [e.revision, e.fields?.pushedBy])).toEqual([[OLD, "alice"], [NEW, "bob"]]);
  });

  it("writes none of its desired bundles once another coordinator moved the rollout on to a newer revision", async () => {
    const files = await enrolledOn(OLD);
    const NEWER = "3".repeat(40);
    const before = (await store.listNodes()).map((n) => n.desired);
    // Another coordinator adopts a newer commit whole, mark cleared, before this one's refs would land over its own.
    const racing = racedBefore(store, "setDesired", async (t) => {
      const moved = await t.setRolloutRevision(NEWER, { adopting: "other", expected: { revision: NEW } });
      await t.markAdopted(moved.adopting!);
    });
    const { adopter } = await adopterOver(racing, { storeIsAhead: async () => false });
    await expect(adopter.adopt(NEW, files)).rejects.toSatisfy((e) => isNkError(e, "ROLLOUT_MOVED"));
    expect(await store.getRollout()).toEqual({ revision: NEWER });
    expect((await store.listNodes()).map((n) => n.desired)).toEqual(before);
  });

  it("writes every desired bundle, not only what its registry says changed, over another adoption that stopped half-way", async () => {
    const files = await enrolledOn();
    const { adopter, catalog } = await adopterOver(store, { storeIsAhead: async () => false });
    await adopter.adopt(OLD, files);
    const n1 = catalog.get("n1")!;
    // Another coordinator moved the rollout to a commit of its own, wrote one ref and died: its mark stands.
    const MID = "4".repeat(40);
    await store.setRolloutRevision(MID, { adopting: "dead", expected: { revision: OLD } });
    await store.setDesired([{ node: "n1", revision: MID, sha256: "f".repeat(64) }], { revision: MID });
    // The next commit leaves n1's bundle as it was: this coordinator's registry would call n1 up to date.
    expect(await adopter.adopt(NEW, withComment(files))).toMatchObject({ ok: true });
    expect(catalog.get("n1")!.bundle.sha256).toBe(n1.bundle.sha256);
    expect((await store.getNode("n1"))?.desired).toEqual({ revision: n1.revision, sha256: n1.bundle.sha256 });
    expect(await store.getRollout()).toEqual({ revision: NEW });
  });

  it("tries a failed push's adoption again by itself, and clears the mark once it lands", async () => {
    const files = await enrolledOn();
    const adopted: string[] = [];
    const { adopter } = await adopterOver(failingOnce(store, "setDesired", "etcd transaction failed: 14 UNAVAILABLE"), { retryFailedMs: 10, onAdopted: (r) => void adopted.push(r.revision) });
    try {
      await expect(adopter.adopt(OLD, files, { pushedBy: "alice" })).rejects.toThrow("UNAVAILABLE");
      await until(() => adopted.length > 0);
      // The retry's journal entry is written after onAdopted: wait for it too.
      await until(async () => (await store.readEvents()).some((e) => e.kind === "revision-adopted"));
      expect(await store.getRollout()).toEqual({ revision: OLD });
      expect((await store.listNodes()).map((n) => n.desired?.revision)).toEqual([OLD, OLD]);
      expect((await store.readEvents()).filter((e) => e.kind === "revision-adopted").map((e) => e.fields?.pushedBy)).toEqual(["alice"]);
    } finally {
      adopter.stop();
    }
  });

  it("retries only the latest adoption: a failed push followed by a newer one that succeeded is not tried again", async () => {
    const files = await enrolledOn();
    const { adopter, catalog } = await adopterOver(failingOnce(store, "setDesired", "etcd transaction failed: 14 UNAVAILABLE"), { retryFailedMs: 5 });
    try {
      const first = adopter.adopt(OLD, files);
      const second = adopter.adopt(NEW, files);
      await expect(first).rejects.toThrow("UNAVAILABLE");
      expect(await second).toMatchObject({ ok: true });
      // Twenty times the retry delay: an older adoption retried by mistake would have taken the store back by now.
      await new Promise((r) => setTimeout(r, 100));
      expect(catalog.revision).toBe(NEW);
      expect(await store.getRollout()).toEqual({ revision: NEW });
    } finally {
      adopter.stop();
    }
  });

  it("lifts a halt when a start-up adoption moves the rollout (main moved, the coordinator died before adopting it)", async () => {
    const files = await enrolledOn(OLD);
    await store.haltRollout("n2 failed", OLD);
    const { adopter } = await adopterOver(store);
    expect(await adopter.adopt(NEW, files, { startup: true })).toMatchObject({ ok: true });
    expect(await store.getRollout()).toEqual({ revision: NEW });
  });
});

/** Waits (bounded: 1,000 polls 10 ms apart) until `done` holds. */
async function until(done: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1_000 && !(await done()); i++) await new Promise((r) => setTimeout(r, 10));
  expect(await done()).toBe(true);
}
