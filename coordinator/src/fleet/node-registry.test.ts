import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FileStore, type NodeReport } from "../store/index.js";
import { NodeRegistry } from "./node-registry.js";

const report = (atMs: number): NodeReport => ({
  revision: "r1",
  sha256: "s1",
  phase: "confirmed",
  health: { healthy: true, checks: [], observedAtMs: atMs },
  error: "",
  agentVersion: "0.1.0",
  bootId: "b1",
  bootedSystem: "/nix/store/x",
  currentSystem: "/nix/store/x",
  atMs,
});

describe("NodeRegistry connections", () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  const open = async (options: ConstructorParameters<typeof NodeRegistry>[1], now: () => number) => {
    const dir = await mkdtemp(join(tmpdir(), "nk-registry-"));
    dirs.push(dir);
    const store = await FileStore.open({ dir, clock: now });
    await store.enrollNode("n1");
    const registry = new NodeRegistry(store, options);
    await registry.load();
    return registry;
  };

  it("with one coordinator, only an open stream counts as connected", async () => {
    let t = 1_000_000;
    const registry = await open({}, () => t);
    await registry.report("n1", report(t));
    expect(registry.isConnected("n1")).toBe(false);
    const end = registry.connect("n1");
    expect(registry.isConnected("n1")).toBe(true);
    end();
    end();
    expect(registry.isConnected("n1")).toBe(false);
  });

  it("with several coordinators, a fresh report counts as connected elsewhere, and goes stale", async () => {
    let t = 1_000_000;
    const registry = await open({ connectedByReportWithinMs: 3_000, now: () => t }, () => t);
    expect(registry.isConnected("n1")).toBe(false);
    await registry.report("n1", report(t));
    expect(registry.isConnected("n1")).toBe(true);
    t += 3_001;
    expect(registry.isConnected("n1")).toBe(false);
    // A report another coordinator wrote to the shared store.
    const record = registry.get("n1")!;
    expect(registry.noteRemote({ ...record, lastReport: report(t) })).toBe(true);
    expect(registry.isConnected("n1")).toBe(true);
  });

  it("takes the applied bundle from another coordinator's record only when that record is newer", async () => {
    let t = 1_000_000;
    const registry = await open({ connectedByReportWithinMs: 3_000, now: () => t }, () => t);
    await registry.report("n1", report(t), { revision: "r2", sha256: "s2" });
    const stale = { ...registry.get("n1")!, lastReport: report(t - 5_000), applied: { revision: "r1", sha256: "s1" } };
    expect(registry.noteRemote(stale)).toBe(false);
    expect(registry.get("n1")!.applied).toEqual({ revision: "r2", sha256: "s2" });
    t += 1_000;
    const fresh = { ...registry.get("n1")!, lastReport: report(t), applied: { revision: "r3", sha256: "s3" } };
    expect(registry.noteRemote(fresh)).toBe(true);
    expect(registry.get("n1")!.applied).toEqual({ revision: "r3", sha256: "s3" });
  });
});

describe("NodeRegistry journal", () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  const openTwo = async () => {
    const dir = await mkdtemp(join(tmpdir(), "nk-registry-"));
    dirs.push(dir);
    const store = await FileStore.open({ dir, clock: () => 1_000_000 });
    for (const n of ["n1", "n2"]) await store.enrollNode(n);
    const registry = new NodeRegistry(store);
    await registry.load();
    registry.noteDesired([
      { node: "n1", revision: "r2", sha256: "a2" },
      { node: "n2", revision: "r2", sha256: "b2" },
    ]);
    const kinds = async (kind: string) => (await store.readEvents()).filter((e) => e.kind === kind);
    return { registry, kinds };
  };

  it("journals rollout-completed once, when the last node reaches its desired bundle", async () => {
    const { registry, kinds } = await openTwo();
    await registry.report("n1", report(1), { revision: "r2", sha256: "a2" });
    expect(await kinds("rollout-completed")).toEqual([]);
    await registry.report("n2", report(2), { revision: "r2", sha256: "b2" });
    await registry.report("n2", report(3), { revision: "r2", sha256: "b2" });
    await registry.hello("n1", { agentVersion: "0.1.0", bootId: "b1", bootedSystem: "/nix/store/x", currentSystem: "/nix/store/x", phase: "confirmed", heldFencingToken: 0, atMs: 4 }, { revision: "r2", sha256: "a2" });
    const done = await kinds("rollout-completed");
    expect(done.map((e) => [e.revision, e.fields])).toEqual([["r2", { nodes: "2" }]]);
    expect(done[0]!.message).toContain("2 of 2 on revision r2");
  });

  it("takes another coordinator's desired refs and tells the node's streams, but not from a read begun before its own write", async () => {
    const { registry } = await openTwo();
    const heard: string[] = [];
    registry.desiredStored.watch("n1", (sha) => void heard.push(sha));
    const remote = (sha256: string) => ({ ...registry.get("n1")!, desired: { revision: "r3", sha256 } });
    // A telemetry sync begins reading, this coordinator writes n1's ref, then the sync's older copy arrives.
    const readSince = registry.readMark();
    registry.noteDesired([{ node: "n1", revision: "r4", sha256: "a4" }]);
    registry.noteRemote(remote("a3"), { readSince });
    expect(registry.get("n1")?.desired).toEqual({ revision: "r4", sha256: "a4" });
    expect(heard).toEqual([]);
    // A read begun after the write is the store's word: taken, and announced once (not again while unchanged).
    registry.noteRemote(remote("a5"), { readSince: registry.readMark() });
    registry.noteRemote(remote("a5"), { readSince: registry.readMark() });
    expect(registry.get("n1")?.desired?.sha256).toBe("a5");
    expect(heard).toEqual(["a5"]);
    // Two reads out at once: the one begun later took n1's ref first, so the one begun earlier must not take it back.
    const earlier = registry.readMark();
    const later = registry.readMark();
    registry.noteRemote(remote("a7"), { readSince: later });
    registry.noteRemote(remote("a5"), { readSince: earlier });
    expect(registry.get("n1")?.desired?.sha256).toBe("a7");
    expect(heard).toEqual(["a5", "a7"]);
    // An adoption's own mirror leaves the announcement to the adoption.
    registry.noteRemote(remote("a6"), { announce: false });
    expect(heard).toEqual(["a5", "a7"]);
    registry.announceDesired(["n1"]);
    expect(heard).toEqual(["a5", "a7", "a6"]);
    // This coordinator's write returns after a read took n1's ref: which is newer is unknown, so the read's ref stays.
    const beforeWrite = registry.readMark();
    registry.noteRemote(remote("a8"), { readSince: registry.readMark() });
    expect(registry.noteDesired([{ node: "n1", revision: "r9", sha256: "a9" }, { node: "n2", revision: "r9", sha256: "b9" }], beforeWrite)).toEqual(["n2"]);
    expect([registry.get("n1")?.desired?.sha256, registry.get("n2")?.desired?.sha256]).toEqual(["a8", "b9"]);
  });

  it("journals node-rolled-back when a report newly says so, not at every heartbeat", async () => {
    const { registry, kinds } = await openTwo();
    const rolled = { ...report(1), revision: "r2", sha256: "a2", phase: "rolled-back", error: "unhealthy after activation: k3s inactive" };
    await registry.report("n1", rolled);
    await registry.report("n1", { ...rolled, atMs: 2 });
    await registry.report("n1", { ...report(3), revision: "r2", sha256: "a2", phase: "failed", error: "x" });
    const events = await kinds("node-rolled-back");
    expect(events.map((e) => [e.node, e.revision, e.message])).toEqual([["n1", "r2", "n1 rolled back from revision r2: unhealthy after activation: k3s inactive"]]);
  });
});
