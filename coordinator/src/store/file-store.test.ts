// FileStore: the shared conformance suite plus file-only behaviour (corruption, group commit, kill -9).
import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, unlink, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { ensureAdminToken } from "./admin-token.js";
import { FileStore } from "./file-store.js";
import { ManualClock, report, runStoreConformance, type StoreHarness } from "./store-conformance.js";

const here = dirname(fileURLToPath(import.meta.url));

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "nk-store-"));
}

async function makeHarness(): Promise<StoreHarness> {
  const dir = join(await tempDir(), "state");
  const clock = new ManualClock();
  const open = (): Promise<FileStore> => FileStore.open({ dir, clock: clock.now });
  const h: StoreHarness = {
    store: await open(),
    clock,
    dir,
    reopen: async () => {
      await h.store.close();
      h.store = await open();
      return h.store;
    },
    cleanup: async () => {
      await h.store.close();
      await rm(dirname(dir), { recursive: true, force: true });
    },
  };
  return h;
}

runStoreConformance("FileStore", makeHarness, { fileLayout: true });

describe("FileStore on disk", () => {
  let dir: string;
  const clock = new ManualClock();
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    vi.useRealTimers();
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses a corrupt state.json with the file and field named, and leaves it untouched", async () => {
    const store = await FileStore.open({ dir, clock: clock.now });
    await store.enqueue({ node: "n1", kind: "reboot", revision: "r", sha256: "s", reason: "" });
    await store.close();
    const path = join(dir, "state.json");
    const bad = (await readFile(path, "utf8")).replace(`"kind":"reboot"`, `"kind":"explode"`);
    await writeFile(path, bad);
    await expect(FileStore.open({ dir, clock: clock.now })).rejects.toSatisfy(
      (e) => isNkError(e, "STATE_CORRUPT") && e.message.includes(path) && e.message.includes("queue[0].kind"),
    );
    await writeFile(path, "{ not json");
    await expect(FileStore.open({ dir, clock: clock.now })).rejects.toSatisfy((e) => isNkError(e, "STATE_CORRUPT") && e.message.includes("not valid JSON"));
    expect(await readFile(path, "utf8")).toBe("{ not json");
  });

  it("refuses to start empty when state.json vanished but the journal has events", async () => {
    const store = await FileStore.open({ dir, clock: clock.now });
    await store.appendEvent({ kind: "k", message: "m" });
    await store.close();
    await unlink(join(dir, "state.json")).catch(() => undefined);
    await expect(FileStore.open({ dir, clock: clock.now })).rejects.toSatisfy((e) => isNkError(e, "STATE_CORRUPT") && e.message.includes("journal has 1 events"));
  });

  it("refuses a journal damaged before its last line", async () => {
    const store = await FileStore.open({ dir, clock: clock.now });
    for (const m of ["a", "b", "c"]) await store.appendEvent({ kind: "k", message: m });
    await store.close();
    const path = join(dir, "events.jsonl");
    const lines = (await readFile(path, "utf8")).split("\n");
    lines[1] = "garbage";
    await writeFile(path, lines.join("\n"));
    await expect(FileStore.open({ dir, clock: clock.now })).rejects.toSatisfy((e) => isNkError(e, "STATE_CORRUPT") && e.message.includes("line 2"));
  });

  it("rotates the journal and serves old and recent events from files and memory", async () => {
    // Rotation after every write: the current file is always empty, so reopen must read events.1.jsonl.
    const open = (): Promise<FileStore> => FileStore.open({ dir, clock: clock.now, memoryEvents: 3, rotateEventBytes: 1 });
    let store = await open();
    for (let i = 1; i <= 10; i++) await store.appendEvent({ kind: "k", message: String(i) });
    expect((await store.readEvents({ tail: 3 })).map((e) => e.seq)).toEqual([8, 9, 10]);
    expect((await store.readEvents({ afterSeq: 2 })).map((e) => e.seq)).toEqual([10]);
    await store.close();
    store = await open();
    expect((await store.appendEvent({ kind: "k", message: "11" })).seq).toBe(11);
    expect((await store.readEvents()).map((e) => e.seq)).toEqual([11]);
    await store.close();
  });

  it("lets only one store use a state dir at a time", async () => {
    const store = await FileStore.open({ dir, clock: clock.now });
    await expect(FileStore.open({ dir, clock: clock.now })).rejects.toSatisfy((e) => isNkError(e, "UNAVAILABLE") && e.message === `this coordinator is already using the state dir ${dir}`);
    await store.close();
    // Another live process's lock (this test's parent stands in for a coordinator) is refused, naming it and the lock.
    await writeFile(join(dir, "coordinator.lock"), JSON.stringify({ pid: process.ppid, host: hostname() }));
    await expect(FileStore.open({ dir, clock: clock.now })).rejects.toThrow(`another coordinator (pid ${process.ppid}) is using the state dir ${dir}: stop it first (or, if no coordinator runs, remove ${join(dir, "coordinator.lock")})`);
    await rm(join(dir, "coordinator.lock"));
    await (await FileStore.open({ dir, clock: clock.now })).close();
    await expect(stat(join(dir, "coordinator.lock"))).rejects.toThrow();
  });

  it("coalesces a burst of 1,000 durable writes and 1,000 events into a few fsyncs", async () => {
    const store = await FileStore.open({ dir, clock: clock.now });
    await Promise.all(Array.from({ length: 1000 }, (_, i) => store.enrollNode(`n${i}`)));
    const events = await Promise.all(Array.from({ length: 1000 }, (_, i) => store.appendEvent({ kind: "k", message: String(i) })));
    expect(store.stateWriteCount).toBeLessThanOrEqual(3);
    expect(store.eventWriteCount).toBeLessThanOrEqual(3);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    await store.close();
    const reopened = await FileStore.open({ dir, clock: clock.now });
    expect(await reopened.listNodes()).toHaveLength(1000);
    await reopened.close();
  });

  it("writes telemetry lazily: one write per flush interval, none per report", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const store = await FileStore.open({ dir, clock: clock.now, telemetryFlushMs: 5_000 });
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.enrollNode(`n${i}`)));
    const before = store.stateWriteCount;
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.recordReport(`n${i}`, report(clock))));
    expect(store.stateWriteCount).toBe(before);
    vi.advanceTimersByTime(5_000);
    await store.listNodes(); // reads wait for the write the timer started
    expect(store.stateWriteCount).toBe(before + 1);
    expect(JSON.parse(await readFile(join(dir, "state.json"), "utf8")).nodes.n7.lastReport.atMs).toBe(clock.now());
    await store.close();
  });

  it("creates the admin token once with mode 0600, or takes the configured one", async () => {
    const token = await ensureAdminToken(dir);
    expect(token.length).toBeGreaterThanOrEqual(43);
    expect((await stat(join(dir, "admin.token"))).mode & 0o777).toBe(0o600);
    expect(await ensureAdminToken(dir)).toBe(token);
    const configured = "c".repeat(40);
    expect(await ensureAdminToken(dir, { configured })).toBe(configured);
    await expect(ensureAdminToken(dir, { configured: "short" })).rejects.toSatisfy((e) => isNkError(e, "CONFIG_INVALID"));
  });

  it("keeps secrets 0600 in a 0700 directory, tightening both when they were opened up", async () => {
    const loose = join(dir, "loose");
    await mkdir(loose, { mode: 0o755 });
    await chmod(loose, 0o755);
    await writeFile(join(loose, "secrets.json"), JSON.stringify({ format: "nk-coordinator-secrets", version: 1, secrets: {} }), { mode: 0o644 });
    await chmod(join(loose, "secrets.json"), 0o644);
    const store = await FileStore.open({ dir: loose, clock: clock.now });
    expect((await stat(loose)).mode & 0o777).toBe(0o700);
    expect((await stat(join(loose, "secrets.json"))).mode & 0o777).toBe(0o600);
    await store.setSecret("k3s-token", Buffer.from("v"));
    expect((await stat(join(loose, "secrets.json"))).mode & 0o777).toBe(0o600);
    expect((await stat(loose)).mode & 0o777).toBe(0o700);
    await store.close();
  });

  it("keeps every acknowledged write when the writer is killed with SIGKILL", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", join(here, "crash-writer.ts"), dir], { cwd: resolve(here, "../../.."), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on("exit", (_code, signal) => res(signal)));
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`writer made too little progress: ${out.length} bytes, stderr: ${err}`)), 25_000);
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.split("\n").length > 400) {
          clearTimeout(timer);
          child.kill("SIGKILL");
          res();
        }
      });
    });
    expect(await exited).toBe("SIGKILL");
    const acked = out.split("\n").slice(0, -1).map((l) => l.split(" "));
    expect(acked.filter((w) => w[0] === "event").length).toBeGreaterThan(50);
    const max = (kind: string, field = 1): number => Math.max(0, ...acked.filter((w) => w[0] === kind).map((w) => Number(w[field])));

    const store = await FileStore.open({ dir, clock: clock.now });
    const events = await store.readEvents();
    for (const w of acked.filter((w) => w[0] === "event")) expect(events.find((e) => e.seq === Number(w[1]))?.message).toBe(w[2]);
    expect(await store.nextFencingToken()).toBeGreaterThan(max("token"));
    const queued = (await store.listQueue()).map((r) => Number(r.node.slice(1)));
    expect(queued).toEqual([...queued].sort((a, b) => a - b));
    for (const w of acked.filter((w) => w[0] === "queued")) expect(queued).toContain(Number(w[1]));
    expect(Number((await store.getNode("n1"))?.applied?.revision.slice(1))).toBeGreaterThanOrEqual(max("applied"));
    for (const name of ["s0", "s1", "s2"]) {
      const last = Math.max(0, ...acked.filter((w) => w[0] === "secret" && w[1] === name).map((w) => Number(w[2])));
      expect(Number((await store.getSecret(name))?.toString() ?? 0)).toBeGreaterThanOrEqual(last);
    }
    await store.close();
  });
});
