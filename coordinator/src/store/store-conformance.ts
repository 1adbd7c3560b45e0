// The behaviour every Store backend must show; file-store.test.ts runs it now, the etcd store later.
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { followEvents } from "./follow-events.js";
import type { EventRecord, LeaseGrant, LeaseRolloutEdit, NodeReport, Store } from "./store.js";

/** A clock tests move by hand. */
export class ManualClock {
  constructor(public ms = 1_700_000_000_000) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface StoreHarness {
  store: Store;
  clock: ManualClock;
  /** Closes the current store and opens a new one on the same data. */
  reopen: () => Promise<Store>;
  cleanup: () => Promise<void>;
  /** The state dir, for backends that keep files (enables the file-layout checks). */
  dir?: string;
}

export function grant(node: string, clock: ManualClock, extra: Partial<LeaseGrant> = {}): LeaseGrant {
  const now = clock.now();
  return {
    node, kind: "reboot", state: "granted", revision: "rev1", requestedAtMs: now, grantedAtMs: now, phase: "drain",
    phaseDeadlineMs: now + 60_000, renewedAtMs: now, cordonedByUs: false, nodeWasCordoned: false, ...extra,
  };
}

export function report(clock: ManualClock, extra: Partial<NodeReport> = {}): NodeReport {
  return {
    revision: "rev1", sha256: "a".repeat(64), phase: "confirmed", health: { healthy: true, checks: [{ name: "k3s", ok: true, message: "", observedAtMs: clock.now() }], observedAtMs: clock.now() },
    error: "", agentVersion: "0.1.0", bootId: "boot-1", bootedSystem: "/nix/store/x-sys", currentSystem: "/nix/store/x-sys", atMs: clock.now(), ...extra,
  };
}

/** `fileLayout`: also check on-disk properties (modes, torn journal tail) through `harness.dir`. */
export function runStoreConformance(name: string, makeStore: () => Promise<StoreHarness>, options: { fileLayout?: boolean } = {}): void {
  describe(`Store conformance: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;
    const reopen = async (): Promise<Store> => (store = await h.reopen());
    beforeEach(async () => {
      h = await makeStore();
      store = h.store;
    });
    afterEach(async () => h.cleanup());

    it("enrolls nodes with one-time tokens kept only as hashes", async () => {
      const token = await store.enrollNode("n1");
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(await store.verifyNodeToken("n1", token)).toBe(true);
      expect(await store.verifyNodeToken("n1", `${token}x`)).toBe(false);
      expect(await store.verifyNodeToken("n2", token)).toBe(false);
      const rec = await store.getNode("n1");
      expect(rec?.tokenHash).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(JSON.stringify(rec)).not.toContain(token);
      await reopen();
      expect(await store.verifyNodeToken("n1", token)).toBe(true);
      const again = await store.enrollNode("n1");
      expect(await store.verifyNodeToken("n1", token)).toBe(false);
      expect(await store.verifyNodeToken("n1", again)).toBe(true);
      await expect(store.enrollNode("bad/name")).rejects.toSatisfy((e) => isNkError(e, "INVALID_ARGUMENT"));
    });

    it("keeps desired and applied durably and telemetry after a flush", async () => {
      await store.enrollNode("n1");
      expect(await store.setDesired([{ node: "n1", revision: "r1", sha256: "s1" }, { node: "ghost", revision: "r1", sha256: "s2" }])).toEqual({ unknown: ["ghost"] });
      await store.recordReport("n1", report(h.clock), { revision: "r0", sha256: "s0" });
      await expect(store.recordReport("ghost", report(h.clock))).rejects.toSatisfy((e) => isNkError(e, "NODE_NOT_ENROLLED"));
      await store.flush();
      await reopen();
      const rec = await store.getNode("n1");
      expect(rec?.desired).toEqual({ revision: "r1", sha256: "s1" });
      expect(rec?.applied).toEqual({ revision: "r0", sha256: "s0" });
      expect(rec?.lastReport).toEqual(report(h.clock));
      expect(await store.removeNode("n1")).toBe(true);
      expect(await store.listNodes()).toEqual([]);
    });

    it("issues fencing tokens that strictly increase, across reopen", async () => {
      const a = await store.nextFencingToken();
      const b = await store.nextFencingToken();
      expect(b).toBeGreaterThan(a);
      await reopen();
      const c = await store.nextFencingToken();
      expect(c).toBeGreaterThan(b);
      const g = await store.grantLease(grant("n1", h.clock), { revision: undefined, holders: [] });
      expect(g.ok && g.lease.fencingToken).toBeGreaterThan(c);
    });

    it("grants only when the holder set is unchanged (compare-and-set)", async () => {
      const g1 = await store.grantLease(grant("n1", h.clock), { revision: undefined, holders: [] });
      expect(g1.ok).toBe(true);
      expect(await store.grantLease(grant("n2", h.clock), { revision: undefined, holders: [] })).toEqual({ ok: false, reason: "holders-changed", holders: ["n1"] });
      const g2 = await store.grantLease(grant("n2", h.clock), { revision: undefined, holders: ["n1"] });
      expect(g2.ok).toBe(true);
      expect((await store.grantLease(grant("n1", h.clock), { revision: undefined, holders: ["n2", "n1"] })).ok).toBe(false);
      expect((await store.listLeases()).map((l) => l.node)).toEqual(["n1", "n2"]);
      // Concurrent deciders that saw the same holders: exactly one wins.
      const racers = await Promise.all(["a", "b", "c", "d", "e"].map((n) => store.grantLease(grant(n, h.clock), { revision: undefined, holders: ["n1", "n2"] })));
      expect(racers.filter((r) => r.ok)).toHaveLength(1);
    });

    it("refuses caller tokens that were never issued or are not above the last grant", async () => {
      const t1 = await store.nextFencingToken();
      const t2 = await store.nextFencingToken();
      expect((await store.grantLease(grant("n1", h.clock, { fencingToken: t2 }), { revision: undefined, holders: [] })).ok).toBe(true);
      expect(await store.grantLease(grant("n2", h.clock, { fencingToken: t1 }), { revision: undefined, holders: ["n1"] })).toEqual({ ok: false, reason: "stale-token" });
      expect(await store.grantLease(grant("n2", h.clock, { fencingToken: t2 + 100 }), { revision: undefined, holders: ["n1"] })).toEqual({ ok: false, reason: "stale-token" });
    });

    it("fences stale tokens on update and release, and persists leases", async () => {
      const g = await store.grantLease(grant("n1", h.clock, { role: "server", bootIdAtGrant: "boot-1" }), { revision: undefined, holders: [] });
      if (!g.ok) throw new Error("grant failed");
      const token = g.lease.fencingToken;
      const u = await store.updateLease("n1", token, { state: "rebooting", phase: "reboot-return", phaseDeadlineMs: 5, cordonedByUs: true });
      expect(u.ok && u.lease).toMatchObject({ state: "rebooting", phase: "reboot-return", phaseDeadlineMs: 5, cordonedByUs: true, fencingToken: token });
      const stale = await store.updateLease("n1", token - 1, { state: "verifying" });
      expect(stale).toMatchObject({ ok: false, reason: "fenced", current: { fencingToken: token, state: "rebooting" } });
      expect(await store.updateLease("n9", token, {})).toEqual({ ok: false, reason: "not-held" });
      await expect(store.updateLease("n1", token, { state: "nonsense" as never })).rejects.toSatisfy((e) => isNkError(e, "INVALID_ARGUMENT"));
      await reopen();
      expect(await store.getLease("n1")).toEqual(u.ok ? u.lease : undefined);
      expect((await store.releaseLease("n1", token + 1)).ok).toBe(false);
      h.clock.advance(1000);
      const r = await store.releaseLease("n1", token);
      expect(r.ok).toBe(true);
      expect((await store.getRollout()).lastReleaseAtMs).toBe(h.clock.now());
      expect(await store.releaseLease("n1", token)).toEqual({ ok: false, reason: "not-held" });
      const g2 = await store.grantLease(grant("n1", h.clock), { revision: undefined, holders: [] });
      expect(g2.ok && (await store.forceReleaseLease("n1")).ok).toBe(true);
      expect(await store.listLeases()).toEqual([]);
    });

    it("keeps the FIFO lease queue in order across reopen", async () => {
      for (const n of ["a", "b", "c", "d"]) await store.enqueue({ node: n, kind: "reboot", revision: "r1", sha256: "s", reason: "kernel" });
      h.clock.advance(10);
      const again = await store.enqueue({ node: "a", kind: "reboot", revision: "r2", sha256: "s2", reason: "kernel" });
      expect(again).toMatchObject({ position: 1, added: false, request: { revision: "r2", requestedAtMs: h.clock.now() - 10 } });
      expect((await store.dequeue("b"))?.node).toBe("b");
      expect(await store.dequeue("b")).toBeUndefined();
      await reopen();
      expect((await store.listQueue()).map((r) => r.node)).toEqual(["a", "c", "d"]);
      expect((await store.grantLease(grant("c", h.clock), { revision: undefined, holders: [] })).ok).toBe(true);
      expect((await store.listQueue()).map((r) => r.node)).toEqual(["a", "d"]);
      expect((await store.enqueue({ node: "e", kind: "service-restart", revision: "r1", sha256: "s", reason: "" })).position).toBe(3);
    });

    it("numbers events without gaps across reopen and streams them live", async () => {
      const seen: EventRecord[] = [];
      const stop = store.onEvent((e) => seen.push(e));
      const e1 = await store.appendEvent({ kind: "lease.granted", node: "n1", message: "granted", fields: { token: "7" } });
      await store.appendEvent({ kind: "rollout", message: "two" });
      stop();
      await store.appendEvent({ kind: "rollout", message: "three" });
      expect(e1).toMatchObject({ seq: 1, timeMs: h.clock.now(), node: "n1", fields: { token: "7" } });
      expect(seen.map((e) => e.seq)).toEqual([1, 2]);
      await reopen();
      expect((await store.appendEvent({ kind: "rollout", message: "four" })).seq).toBe(4);
      expect((await store.readEvents({ afterSeq: 2 })).map((e) => e.message)).toEqual(["three", "four"]);
      expect((await store.readEvents({ tail: 1 })).map((e) => e.seq)).toEqual([4]);
      const followed: number[] = [];
      const unfollow = await followEvents(store, { afterSeq: 3 }, (e) => followed.push(e.seq));
      await store.appendEvent({ kind: "rollout", message: "five" });
      unfollow();
      expect(followed).toEqual([4, 5]);
    });

    it("stores secrets apart, lists sizes without values", async () => {
      h.clock.advance(5);
      await store.setSecret("k3s-token", Buffer.from("s3cr3t-value"));
      await store.setSecret("other", Buffer.from([0, 1, 2]));
      await expect(store.setSecret("../x", Buffer.from("v"))).rejects.toSatisfy((e) => isNkError(e, "INVALID_ARGUMENT"));
      await reopen();
      expect((await store.getSecret("k3s-token"))?.toString()).toBe("s3cr3t-value");
      expect(await store.getSecret("missing")).toBeUndefined();
      expect(await store.listSecrets()).toEqual([
        { name: "k3s-token", updatedAtMs: h.clock.now(), sizeBytes: 12 },
        { name: "other", updatedAtMs: h.clock.now(), sizeBytes: 3 },
      ]);
      expect(await store.deleteSecret("other")).toBe(true);
      expect(await store.deleteSecret("other")).toBe(false);
      if (options.fileLayout && h.dir) {
        expect((await stat(join(h.dir, "secrets.json"))).mode & 0o777).toBe(0o600);
        expect((await stat(h.dir)).mode & 0o077).toBe(0);
        expect(await readFile(join(h.dir, "state.json"), "utf8")).not.toContain("s3cr3t");
        expect(await readFile(join(h.dir, "state.json"), "utf8")).not.toContain(Buffer.from("s3cr3t-value").toString("base64"));
      }
    });

    it("persists rollout pause, halt and revision", async () => {
      await store.setRolloutRevision("r7");
      await store.pauseRollout("maintenance");
      h.clock.advance(3);
      await store.haltRollout("n2 rolled back", "r7");
      await reopen();
      expect(await store.getRollout()).toEqual({
        revision: "r7",
        paused: { reason: "maintenance", atMs: h.clock.now() - 3 },
        halted: { reason: "n2 rolled back", revision: "r7", atMs: h.clock.now() },
      });
      await store.resumeRollout();
      await store.clearHalt();
      await reopen();
      expect(await store.getRollout()).toEqual({ revision: "r7" });
    });

    it("halts for a failure only while its revision is still the rollout's (onlyIfCurrent)", async () => {
      await store.setRolloutRevision("r8");
      // A node's failure of r7 reported after r8 was adopted: no halt.
      expect((await store.haltRollout("n2 failed r7", "r7", { onlyIfCurrent: true })).halted).toBeUndefined();
      expect((await store.getRollout()).halted).toBeUndefined();
      expect((await store.haltRollout("n2 failed r8", "r8", { onlyIfCurrent: true })).halted).toMatchObject({ reason: "n2 failed r8", revision: "r8" });
      await store.clearHalt();
      // Without the option (a missed deadline of a lease held for an older revision) the halt stands.
      expect((await store.haltRollout("n1 overdue", "r7")).halted).toMatchObject({ revision: "r7" });
      await store.clearHalt();
    });

    it("lifts a halt only in the update that moves the revision (liftHalt)", async () => {
      await store.setRolloutRevision("r1");
      await store.haltRollout("n2 failed r1", "r1");
      // Already there (another coordinator moved it, and a node failed since): the halt stands.
      expect((await store.setRolloutRevision("r1", { liftHalt: true })).halted).toMatchObject({ revision: "r1" });
      // Moved without the option (a coordinator's start): the halt stands.
      expect(await store.setRolloutRevision("r2")).toMatchObject({ revision: "r2", halted: { revision: "r1" } });
      const moved = await store.setRolloutRevision("r3", { liftHalt: true });
      expect(moved.revision).toBe("r3");
      expect(moved.halted).toBeUndefined();
      await reopen();
      expect(await store.getRollout()).toEqual({ revision: "r3" });
    });

    it("marks a moved revision adopting until its own markAdopted, and moves only from the expected revision", async () => {
      await store.setRolloutRevision("r1");
      // Another coordinator moved it meanwhile: nothing changes, and the caller reads what is there.
      expect(await store.setRolloutRevision("r3", { adopting: "a1", expected: { revision: "r0" } })).toEqual({ revision: "r1" });
      const moved = await store.setRolloutRevision("r3", { adopting: "a1", expected: { revision: "r1" } });
      const mark = moved.adopting!;
      expect(moved).toEqual({ revision: "r3", adopting: { revision: "r3", atMs: h.clock.now(), id: "a1" } });
      await reopen();
      expect((await store.getRollout()).adopting).toEqual(mark);
      // Another adoption's mark of the same revision is not cleared by this one.
      expect((await store.markAdopted({ ...mark, id: "a0" })).adopting).toEqual(mark);
      expect(await store.markAdopted(mark)).toEqual({ revision: "r3" });
    });

    it("commits a grant only while the rollout is open on the revision it was decided for", async () => {
      await store.setRolloutRevision("r1");
      const open = { revision: "r1", holders: [] };
      expect(await store.grantLease(grant("n1", h.clock), { revision: "r0", holders: [] })).toEqual({ ok: false, reason: "rollout-changed", rollout: { revision: "r1" } });
      await store.pauseRollout("by hand");
      expect(await store.grantLease(grant("n1", h.clock), open)).toMatchObject({ ok: false, reason: "rollout-changed" });
      await store.resumeRollout();
      await store.haltRollout("n9 failed", "r1");
      expect(await store.grantLease(grant("n1", h.clock), open)).toMatchObject({ ok: false, reason: "rollout-changed" });
      await store.clearHalt();
      // An adoption began between the decision and the grant: its old-bundle requests are not stale yet.
      const moved = await store.setRolloutRevision("r2", { adopting: "a2", expected: { revision: "r1" } });
      expect(await store.grantLease(grant("n1", h.clock), { revision: "r2", holders: [] })).toMatchObject({ ok: false, reason: "rollout-changed", rollout: { adopting: moved.adopting } });
      expect(await store.listLeases()).toEqual([]);
      await store.markAdopted(moved.adopting!);
      expect((await store.grantLease(grant("n1", h.clock), { revision: "r2", holders: [] })).ok).toBe(true);
    });

    it("applies a grant's and a release's rollout edit in their own atomic step, on the record read there", async () => {
      await store.setRolloutRevision("r1");
      const pick: LeaseRolloutEdit = (r, lease) => void (r.canary = { revision: "r1", confirmed: [], ...r.canary, nodes: [...(r.canary?.nodes ?? []), lease.node] });
      // Written by another coordinator: the edit sees it though this caller never read it.
      const first = await store.grantLease(grant("n0", h.clock), { revision: "r1", holders: [] }, pick);
      if (!first.ok) throw new Error("grant failed");
      expect((await store.releaseLease("n0", first.lease.fencingToken)).ok).toBe(true);
      const confirm: LeaseRolloutEdit = (r, lease) => void (r.canary = { ...r.canary!, confirmed: [`${lease.node}#${lease.fencingToken}`] });
      const g = await store.grantLease(grant("n1", h.clock), { revision: "r1", holders: [] }, pick);
      if (!g.ok) throw new Error("grant failed");
      const token = g.lease.fencingToken;
      expect((await store.getRollout()).canary).toEqual({ revision: "r1", nodes: ["n0", "n1"], confirmed: [] });
      // Refused grants and releases apply nothing.
      expect(await store.grantLease(grant("n2", h.clock), { revision: "r1", holders: [] }, pick)).toMatchObject({ ok: false, reason: "holders-changed" });
      expect(await store.releaseLease("n1", token + 1, confirm)).toMatchObject({ ok: false, reason: "fenced" });
      expect((await store.getRollout()).canary).toEqual({ revision: "r1", nodes: ["n0", "n1"], confirmed: [] });
      h.clock.advance(9);
      expect((await store.releaseLease("n1", token, confirm)).ok).toBe(true);
      await reopen();
      expect(await store.getRollout()).toEqual({ revision: "r1", lastReleaseAtMs: h.clock.now(), canary: { revision: "r1", nodes: ["n0", "n1"], confirmed: [`n1#${token}`] } });
      // A rollout write racing the grant is kept: a retried compare-and-set applies the edit to the record it re-read.
      const [raced, took] = await Promise.all([
        store.grantLease(grant("n2", h.clock), { revision: "r1", holders: [] }, pick),
        store.takeFleetLock({ group: "workers", id: "host-a", by: "zincati" }, []),
      ]);
      expect(raced.ok && took.ok).toBe(true);
      expect(await store.getRollout()).toMatchObject({ canary: { nodes: ["n0", "n1", "n2"] }, fleetLocks: [{ id: "host-a" }] });
    });

    it("marks the canary record merged into the stored one, and not at all once the rollout moved on", async () => {
      await store.setRolloutRevision("r1");
      const pick: LeaseRolloutEdit = (r, lease) => void (r.canary = { revision: "r1", confirmed: [], ...r.canary, nodes: [...(r.canary?.nodes ?? []), lease.node] });
      const g = await store.grantLease(grant("n1", h.clock), { revision: "r1", holders: [] }, pick);
      if (!g.ok) throw new Error("grant failed");
      // A caller whose copy predates the pick marks the record: the pick stays.
      expect((await store.markCanary("r1", { waitingSinceMs: 5 })).canary).toEqual({ revision: "r1", nodes: ["n1"], confirmed: [], waitingSinceMs: 5 });
      expect((await store.markCanary("r1", { approvedAtMs: 7 })).canary).toEqual({ revision: "r1", nodes: ["n1"], confirmed: [], waitingSinceMs: 5, approvedAtMs: 7 });
      await store.setRolloutRevision("r2", { expected: { revision: "r1" } });
      expect((await store.markCanary("r1", { approvedAtMs: 9 })).canary).toEqual({ revision: "r1", nodes: ["n1"], confirmed: [], waitingSinceMs: 5, approvedAtMs: 7 });
    });

    it("writes guarded desired bundles only while the rollout names the guard's revision", async () => {
      // More nodes than one etcd transaction takes: the guard holds for every chunk of a parallel write.
      const names = Array.from({ length: 230 }, (_, i) => `n${i}`);
      await Promise.all(names.map((n) => store.enrollNode(n)));
      const refs = (revision: string, nodes: readonly string[]) => nodes.map((node) => ({ node, revision, sha256: `${revision}-${node}` }));
      await expect(store.setDesired(refs("r1", ["n0"]), { revision: "r1" })).rejects.toSatisfy((e) => isNkError(e, "ROLLOUT_MOVED"));
      await store.setRolloutRevision("r1");
      expect(await store.setDesired([...refs("r1", names), { node: "ghost", revision: "r1", sha256: "x" }], { revision: "r1" })).toEqual({ unknown: ["ghost"] });
      await store.setRolloutRevision("r2");
      // A slower coordinator's bundles of r1, in one call (chunked) and in small calls (coalesced on etcd).
      await expect(store.setDesired(refs("r1b", names), { revision: "r1" })).rejects.toSatisfy((e) => isNkError(e, "ROLLOUT_MOVED"));
      const small = await Promise.allSettled([store.setDesired(refs("r1b", ["n0"]), { revision: "r1" }), store.setDesired(refs("r2", ["n1"]), { revision: "r2" })]);
      expect(small[0]).toMatchObject({ status: "rejected", reason: { code: "ROLLOUT_MOVED" } });
      expect(small[1]).toEqual({ status: "fulfilled", value: { unknown: [] } });
      const desired = new Map((await store.listNodes()).map((n) => [n.name, n.desired]));
      expect(desired.get("n0")).toEqual({ revision: "r1", sha256: "r1-n0" });
      expect(desired.get("n1")).toEqual({ revision: "r2", sha256: "r2-n1" });
      expect(desired.get("n229")).toEqual({ revision: "r1", sha256: "r1-n229" });
      expect([...desired.values()].filter((d) => d?.revision === "r1b")).toEqual([]);
    });

    it("takes FleetLock slots by compare-and-set, recursively, and keeps them across reopen", async () => {
      const a = { group: "workers", id: "c988d2509fdf4cdcbed39037c56406fb", by: "zincati" };
      const first = await store.takeFleetLock(a, []);
      expect(first).toEqual({ ok: true, already: false, slot: { ...a, acquiredAtMs: h.clock.now() } });
      h.clock.advance(5);
      // The same host again: answered with the slot it holds, even from a stale view.
      expect(await store.takeFleetLock(a, [])).toMatchObject({ ok: true, already: true, slot: { acquiredAtMs: h.clock.now() - 5 } });
      // Another host deciding on a view without a's slot loses the race.
      const b = { group: "workers", id: "host-b", by: "zincati" };
      expect(await store.takeFleetLock(b, [])).toMatchObject({ ok: false, reason: "slots-changed", slots: [{ id: a.id }] });
      expect(await store.takeFleetLock(b, [`workers/${a.id}`])).toMatchObject({ ok: true, already: false });
      await reopen();
      expect((await store.getRollout()).fleetLocks?.map((s) => s.id)).toEqual([a.id, "host-b"]);
      expect(await store.releaseFleetLock("workers", a.id)).toMatchObject({ id: a.id });
      expect(await store.releaseFleetLock("workers", a.id)).toBeUndefined();
      expect(await store.releaseFleetLock("workers", "host-b")).toMatchObject({ id: "host-b" });
      await reopen();
      expect((await store.getRollout()).fleetLocks).toBeUndefined();
    });

    it.runIf(options.fileLayout)("recovers the event seq after a torn last line", async () => {
      if (!h.dir) throw new Error("fileLayout needs harness.dir");
      await store.appendEvent({ kind: "a", message: "one" });
      await store.appendEvent({ kind: "a", message: "two" });
      await store.close();
      const path = join(h.dir, "events.jsonl");
      await writeFile(path, `${await readFile(path, "utf8")}{"seq":3,"timeMs":1,"kind":"a","mess`);
      await reopen();
      expect((await store.readEvents()).map((e) => e.message)).toEqual(["one", "two"]);
      expect((await store.appendEvent({ kind: "a", message: "three" })).seq).toBe(3);
      expect((await readFile(path, "utf8")).split("\n").filter(Boolean).map((l) => JSON.parse(l).seq)).toEqual([1, 2, 3]);
    });
  });
}
