// SelfUpdateWatcher: restarts into the agent a confirmed system ships, and only then, leaving self-update.json behind.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../../../shared/src/log/index.js";
import { RESTART_EXIT_CODE, SELF_UPDATE_RECHECK_MS, SelfUpdateWatcher } from "./self-update-watcher.js";

let dir: string;
beforeEach(async () => void (dir = await mkdtemp(join(tmpdir(), "nk-self-update-"))));
afterEach(async () => rm(dir, { recursive: true, force: true }));

class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function watcher(state: { confirmed: string | null; shipped: string | null; now?: number }, exits: number[], intervalMs: number | undefined = 5) {
  return new SelfUpdateWatcher({
    running: "/nix/store/aaa-nk-agent-1.0.0",
    shipped: async () => state.shipped,
    confirmed: () => state.confirmed,
    stateDir: dir,
    exitProcess: (code) => {
      exits.push(code);
      throw new Exited(code);
    },
    now: () => state.now ?? 1_700_000_000_000,
    log: silentLogger(),
    ...(intervalMs !== undefined ? { intervalMs } : {}),
  });
}

describe("SelfUpdateWatcher", () => {
  it("restarts with RESTART_EXIT_CODE into a new agent once the system is confirmed, recording from and to", async () => {
    const state = { confirmed: null as string | null, shipped: "/nix/store/bbb-nk-agent-1.1.0" as string | null };
    const exits: number[] = [];
    const w = watcher(state, exits);
    await w.check();
    expect(exits).toEqual([]);
    state.confirmed = "sha-1";
    await expect(w.check()).rejects.toBeInstanceOf(Exited);
    expect(exits).toEqual([RESTART_EXIT_CODE]);
    expect(JSON.parse(await readFile(join(dir, "self-update.json"), "utf8"))).toEqual({ from: "/nix/store/aaa-nk-agent-1.0.0", to: "/nix/store/bbb-nk-agent-1.1.0", atMs: 1_700_000_000_000 });
  });

  it("stays when the confirmed system ships the running agent or none", async () => {
    const state = { confirmed: "sha-1" as string | null, shipped: "/nix/store/aaa-nk-agent-1.0.0" as string | null };
    const exits: number[] = [];
    const w = watcher(state, exits);
    await w.check();
    state.shipped = null;
    state.confirmed = "sha-2";
    await w.check();
    expect(exits).toEqual([]);
    await expect(readFile(join(dir, "self-update.json"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("reads the shipped agent once per confirmed system, and again after a minute for a switch made outside nk", async () => {
    const state = { confirmed: "sha-1" as string | null, shipped: "/nix/store/aaa-nk-agent-1.0.0" as string | null, now: 1_000 };
    let reads = 0;
    const exits: number[] = [];
    const w = new SelfUpdateWatcher({
      running: "/nix/store/aaa-nk-agent-1.0.0",
      shipped: async () => (reads++, state.shipped),
      confirmed: () => state.confirmed,
      stateDir: dir,
      exitProcess: (code) => {
        exits.push(code);
        throw new Exited(code);
      },
      now: () => state.now,
      log: silentLogger(),
    });
    await w.check();
    state.now += SELF_UPDATE_RECHECK_MS - 1;
    await w.check();
    expect(reads).toBe(1);
    state.confirmed = "sha-2";
    await w.check();
    expect(reads).toBe(2);
    state.shipped = "/nix/store/ddd-nk-agent-1.2.0";
    await w.check();
    expect(exits).toEqual([]);
    state.now += SELF_UPDATE_RECHECK_MS;
    await expect(w.check()).rejects.toBeInstanceOf(Exited);
    expect([reads, exits]).toEqual([3, [RESTART_EXIT_CODE]]);
  });

  it("polls on its own once started", async () => {
    const exits: number[] = [];
    let restarted!: () => void;
    const seen = new Promise<void>((r) => (restarted = r));
    const w = new SelfUpdateWatcher({
      running: "/nix/store/aaa-nk-agent-1.0.0",
      shipped: async () => "/nix/store/ccc-nk-agent-2.0.0",
      confirmed: () => "sha-1",
      stateDir: dir,
      exitProcess: ((code: number) => {
        exits.push(code);
        restarted();
      }) as (code: number) => never,
      now: () => 1,
      log: silentLogger(),
      intervalMs: 5,
    });
    w.start();
    await seen;
    w.stop();
    expect(exits[0]).toBe(RESTART_EXIT_CODE);
    expect(JSON.parse(await readFile(join(dir, "self-update.json"), "utf8"))).toMatchObject({ to: "/nix/store/ccc-nk-agent-2.0.0" });
  });
  it("looks at once when nudged (a confirmed phase) instead of waiting for its once-a-minute timer", async () => {
    const state = { confirmed: "sha-1" as string | null, shipped: "/nix/store/bbb-nk-agent-1.1.0" as string | null };
    const exits: number[] = [];
    const w = watcher(state, exits, undefined);
    w.start(); // default interval: SELF_UPDATE_RECHECK_MS, far beyond this test
    try {
      w.nudge();
      await vi.waitFor(() => expect(exits).toEqual([RESTART_EXIT_CODE]));
    } finally {
      w.stop();
    }
  });
});
