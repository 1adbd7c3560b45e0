// LeaderGatedLeases follows leadership: a manager start that fails as leadership arrives (etcd unreachable) must
// neither end the process (an unhandled rejection from the leadership listener did, in the HA chaos run) nor leave
// the leader without a manager.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { NkError } from "../../../shared/src/errors/index.js";
import { silentLogger } from "../../../shared/src/log/index.js";
import type { Leadership } from "../leader/index.js";
import { FileStore, type Store } from "../store/index.js";
import { LeaderGatedLeases } from "./leader-gated-leases.js";
import { LeaseManager } from "./lease-manager.js";
import { FakeTime, RecordingHooks, TestChecks, TestHealth, TestSettings, settingsFor } from "./test-lease-kit.js";

/** Leadership an election would report: not leading until elect(). */
class ElectedLater implements Leadership {
  private leading = false;
  private readonly listeners = new Set<(leader: boolean) => void>();
  isLeader = () => this.leading;
  leaderId = () => (this.leading ? "c0" : undefined);
  onChange(l: (leader: boolean) => void): () => void {
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  }
  elect(): void {
    this.leading = true;
    for (const l of this.listeners) l(true);
  }
  depose(): void {
    this.leading = false;
    for (const l of this.listeners) l(false);
  }
  resign = async () => undefined;
}

let dir = "";
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("LeaderGatedLeases", () => {
  it("retries a manager start that failed as leadership arrived, without an unhandled rejection", async () => {
    dir = await mkdtemp(join(tmpdir(), "nk-gated-"));
    const time = new FakeTime();
    const store = await FileStore.open({ dir, clock: time.now });
    // The store is unreachable for the first lease read after the election, as etcd was for the new leader.
    let failures = 0;
    const flaky = new Proxy(store, {
      get(target, prop) {
        if (prop === "listLeases" && failures > 0) return () => (failures--, Promise.reject(new NkError("UNAVAILABLE", "etcd range failed: 14 UNAVAILABLE")));
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as Store;
    const leadership = new ElectedLater();
    let managers = 0;
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown): void => void unhandled.push(err);
    process.on("unhandledRejection", onUnhandled);
    const gated = new LeaderGatedLeases({
      leadership,
      store: flaky,
      log: silentLogger(),
      retryMs: 10,
      createManager: () => (
        managers++,
        new LeaseManager({ store: flaky, now: time.now, timers: time.timers, log: silentLogger(), settings: new TestSettings(settingsFor({ n1: "agent" })), health: new TestHealth(), checks: new TestChecks(), hooks: new RecordingHooks() })
      ),
    });
    try {
      await gated.start();
      expect(gated.blockedReason()).toContain("this coordinator follows");
      failures = 1;
      leadership.elect();
      // The first start fails; the retry starts a manager, which then leads.
      for (let i = 0; i < 200 && gated.blockedReason().includes("follows"); i++) await new Promise((r) => setTimeout(r, 10));
      expect(managers).toBe(2);
      expect(gated.blockedReason()).not.toContain("follows");
      expect(await gated.reattach("n1")).toBeNull();
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      await gated.stop();
      await store.close();
    }
  });

  it("refuses a request whose manager stopped while the request waited in it, even with leadership won back", async () => {
    dir = await mkdtemp(join(tmpdir(), "nk-gated-"));
    const time = new FakeTime();
    const store = await FileStore.open({ dir, clock: time.now });
    // The request's first store read waits until released: leadership is lost and won back meanwhile.
    let release: (() => void) | undefined;
    const held = new Promise<void>((r) => (release = r));
    let block = false;
    const slow = new Proxy(store, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (prop === "getLease" && block) return async (...args: unknown[]) => (await held, (value as (...a: unknown[]) => unknown).apply(target, args));
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as Store;
    const leadership = new ElectedLater();
    const managers: LeaseManager[] = [];
    const gated = new LeaderGatedLeases({
      leadership,
      store: slow,
      log: silentLogger(),
      createManager: () => {
        const m = new LeaseManager({ store: slow, now: time.now, timers: time.timers, log: silentLogger(), settings: new TestSettings(settingsFor({ n1: "agent" })), health: new TestHealth(), checks: new TestChecks(), hooks: new RecordingHooks() });
        managers.push(m);
        return m;
      },
    });
    const leading = async (count: number): Promise<void> => {
      for (let i = 0; i < 200 && (managers.length < count || gated.blockedReason().includes("follows")); i++) await new Promise((r) => setTimeout(r, 5));
    };
    try {
      await gated.start();
      leadership.elect();
      await leading(1);
      block = true;
      const updates: string[] = [];
      const acquired = gated.acquire({ node: "n1", kind: "reboot", revision: "r1", sha256: "a".repeat(64), reason: "kernel", fencingToken: 0 }, (l) => void updates.push(l.state));
      const outcome = acquired.then(() => "stream kept", (err: Error) => err.message);
      await new Promise((r) => setTimeout(r, 20));
      leadership.depose();
      // The manager is dropped at once; its stop waits for the request in it.
      await new Promise((r) => setTimeout(r, 20));
      leadership.elect();
      block = false;
      release!();
      await leading(2);
      // The first manager took the request, then stopped: it will never write to this stream again.
      expect(await outcome).toBe("this coordinator's lease manager changed while the request was queued: ask again");
      expect(managers).toHaveLength(2);
    } finally {
      release?.();
      await gated.stop();
      await store.close();
    }
  });

  it("shows a follower the halt, leases and queue the leader records after the follower started", async () => {
    dir = await mkdtemp(join(tmpdir(), "nk-gated-"));
    const time = new FakeTime();
    const store = await FileStore.open({ dir, clock: time.now });
    const follower = new LeaderGatedLeases({ leadership: new ElectedLater(), store, log: silentLogger(), createManager: () => { throw new Error("a follower starts no manager"); } });
    let changes = 0;
    follower.onChange(() => void changes++);
    try {
      await follower.start();
      expect(follower.rollout().halted).toBeUndefined();
      // What the leader does (the same store calls, the same journal events), seen by the follower only through them.
      await store.enqueue({ node: "n2", kind: "reboot", revision: "r7", sha256: "a".repeat(64), reason: "a new kernel", role: "server" });
      await store.grantLease({ node: "n1", kind: "reboot", state: "granted", revision: "r7", requestedAtMs: 1, grantedAtMs: 2, phase: "start", phaseDeadlineMs: 100, renewedAtMs: 2, cordonedByUs: false, nodeWasCordoned: false }, { revision: undefined, holders: [] });
      await store.appendEvent({ kind: "lease-granted", node: "n1", revision: "r7", message: "granted" });
      await store.haltRollout("node n1 failed: did not boot", "r7");
      await store.appendEvent({ kind: "rollout-halted", node: "n1", revision: "r7", message: "node n1 failed: did not boot" });
      for (let i = 0; i < 200 && follower.rollout().halted === undefined; i++) await new Promise((r) => setTimeout(r, 5));
      expect(follower.rollout().halted).toMatchObject({ reason: "node n1 failed: did not boot", revision: "r7" });
      expect(follower.held().map((l) => [l.node, l.state, l.revision])).toEqual([["n1", "granted", "r7"]]);
      expect(follower.queue().map((l) => [l.node, l.state, l.queuePosition])).toEqual([["n2", "queued", 1]]);
      expect(changes).toBeGreaterThan(0);
      expect(follower.blockedReason()).toContain("this coordinator follows");
    } finally {
      await follower.stop();
      await store.close();
    }
  });

  it("decides again when any coordinator journals an adoption: a request stale against the store's desired bundle is granted once it is current", async () => {
    dir = await mkdtemp(join(tmpdir(), "nk-gated-"));
    const time = new FakeTime();
    const store = await FileStore.open({ dir, clock: time.now });
    const leadership = new ElectedLater();
    const manager = new LeaseManager({ store, now: time.now, timers: time.timers, log: silentLogger(), settings: new TestSettings(settingsFor({ n1: "agent" })), health: new TestHealth(), checks: new TestChecks(), hooks: new RecordingHooks() });
    const gated = new LeaderGatedLeases({ leadership, store, log: silentLogger(), createManager: () => manager });
    try {
      await store.enrollNode("n1");
      // A restarted coordinator adopted its older main first: the store names an older bundle than the agent asks for.
      await store.setDesired([{ node: "n1", revision: "old", sha256: "b".repeat(64) }]);
      await gated.start();
      leadership.elect();
      for (let i = 0; i < 200 && gated.blockedReason().includes("follows"); i++) await new Promise((r) => setTimeout(r, 5));
      const updates: string[] = [];
      await gated.acquire({ node: "n1", kind: "reboot", revision: "new", sha256: "a".repeat(64), reason: "kernel", fencingToken: 0 }, (v) => void updates.push(v.state));
      await manager.settled();
      expect(gated.held()).toEqual([]);
      // Its sync adopts the newest revision: desired bundles written, the adoption journaled; nothing else happens.
      await store.setDesired([{ node: "n1", revision: "new", sha256: "a".repeat(64) }]);
      await store.appendEvent({ kind: "revision-adopted", revision: "new", message: "1 node(s) changed, 0 unchanged" });
      // The book shows the grant before the stream hears it (published after the decision): wait for both.
      for (let i = 0; i < 400 && (gated.held().length === 0 || updates.at(-1) !== "granted"); i++) await new Promise((r) => setTimeout(r, 5));
      expect(gated.held().map((l) => [l.node, l.state])).toEqual([["n1", "granted"]]);
      expect(updates.at(-1)).toBe("granted");
    } finally {
      await gated.stop();
      await store.close();
    }
  });
});
