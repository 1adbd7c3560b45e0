// ApplyRunner against a SimSystem in a temp dir, a real StateStore and an in-memory coordinator lease double.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../../../shared/src/log/index.js";
import { bundleSha256 } from "../../../shared/src/render/index.js";
import { StateStore } from "../state/index.js";
import { SimSystem } from "../system/index.js";
import type { DesiredBundle, Phase } from "./agent-state.js";
import { ApplyRunner } from "./apply-runner.js";
import { DEFAULT_MACHINE_CONFIG } from "./machine-config.js";
import type { ApplyReport } from "./runner-ports.js";
import { systemHealthProbe } from "./system-health-probe.js";
import { Exited, ManualClock, MemoryLeases, REV1, REV2_K3S, REV2_USERS } from "./test-runner-doubles.js";

let dir = "";
let clock: ManualClock;
let leases: MemoryLeases;
let reports: ApplyReport[];
let sim: SimSystem;
let runner: ApplyRunner;
let exits = 0;

async function boot(): Promise<ApplyRunner> {
  const store = new StateStore({ path: join(dir, "state.json"), now: () => clock.now() });
  const { state } = await store.load();
  const r = new ApplyRunner(
    {
      node: "n1",
      system: sim,
      store,
      leases,
      reporter: { report: (x) => void reports.push(x) },
      health: systemHealthProbe(sim),
      clock,
      log: silentLogger(),
      // The manual clock moves on while a switch is busy (see advanceUntil): on a loaded machine a slow simulated
      // switch must not pass the activation deadline, which transition tests cover.
      config: { ...DEFAULT_MACHINE_CONFIG, bundleRoot: join(dir, "bundles"), defaultActivationTimeoutMs: 24 * 3_600_000 },
      healthPollMs: 1_000,
    },
    state,
  );
  runner = r;
  await r.start();
  return r;
}

/**
 * Waits for async work (files, processes) while moving the manual clock along, but only once the runner has made no
 * transition for a while: on a loaded machine, a clock that runs on while a switch or a health probe is still busy
 * would pass deadlines that real time never would.
 */
async function advanceUntil(done: () => boolean, what: () => string, step = 1_000): Promise<void> {
  let seen = runner.state;
  let quietSince = Date.now();
  await vi.waitFor(
    () => {
      if (runner.state !== seen) {
        seen = runner.state;
        quietSince = Date.now();
      } else if (!done() && Date.now() - quietSince >= 30) {
        clock.advance(step);
        quietSince = Date.now();
      }
      expect(done(), what()).toBe(true);
    },
    { timeout: 20_000, interval: 5 },
  );
}

const until = (phase: Phase): Promise<void> => advanceUntil(() => runner.state.phase === phase, () => `phase ${runner.state.phase}, waiting for ${phase}`);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nk-runner-"));
  clock = new ManualClock();
  leases = new MemoryLeases();
  reports = [];
  exits = 0;
  sim = await SimSystem.open({
    dir: join(dir, "machine"),
    node: "n1",
    timeScale: 0,
    pollMs: 5,
    exitProcess: () => {
      exits += 1;
      runner.halt(); // the process is gone: nothing more runs
      throw new Exited();
    },
  });
});
afterEach(async () => {
  runner?.halt();
  // A quick effect still in flight (the rejoin after the last release writes the machine's keepalived state) may add
  // a file while the tree is removed: retry, as rm does for ENOTEMPTY.
  await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
});

/** Build, lease, VIP hand-over, drain and the simulated reboot, all real file work: far more than 1 s on a loaded machine. */
const REBOOT_WAIT = { timeout: 15_000 };

/** First apply on a fresh sim node: the kernel differs from the initial system, so it reboots. */
async function firstApply(): Promise<void> {
  await boot();
  await runner.dispatch({ type: "desired-received", now: clock.now(), desired: REV1 });
  await vi.waitFor(() => expect(exits).toBe(1), REBOOT_WAIT);
  expect(runner.state.phase).toBe("rebooting");
  await boot(); // the supervisor starts the agent again after the simulated reboot
  await until("confirmed");
  await vi.waitFor(() => expect(runner.state.lease).toBeNull());
}

describe("ApplyRunner with SimSystem", () => {
  it("reboots into a first bundle, resumes from disk in the new process and keeps the same lease", async () => {
    const bootBefore = await sim.bootId();
    await firstApply();
    expect(await sim.bootId()).not.toBe(bootBefore);
    expect(await sim.bootedSystem()).toBe(runner.state.applied?.systemPath);
    expect(leases.calls).toEqual(["acquire reboot -", "renew 1 draining", "drain 1", "renew 1 rebooting", "renew 1 verifying", "release 1 true"]);
    expect(reports.map((r) => r.phase)).toEqual(["idle", "fetched", "building", "waiting-lease", "draining", "rebooting", "verifying", "blessing", "confirmed"]);
    // Booted once as a trial, then blessed: the next boot starts the confirmed system too.
    expect(await sim.bootDefault()).toBe(runner.state.applied?.systemPath);
  });

  it("reports a trial boot that never came up as rolled back (did not boot) and does not try that bundle again", async () => {
    await sim.setFaults({ [REV1.sha256]: ["never-boots"] });
    const initial = await sim.currentSystem();
    await boot();
    await runner.dispatch({ type: "desired-received", now: clock.now(), desired: REV1 });
    await vi.waitFor(() => expect(exits).toBe(1), REBOOT_WAIT);
    await boot(); // the watchdog's reset: back on the last good generation
    await until("rolled-back");
    await vi.waitFor(() => expect(runner.state.lease).toBeNull());
    expect(await sim.bootedSystem()).toBe(initial);
    expect(await sim.currentSystem()).toBe(initial);
    expect(await sim.bootDefault()).toBe(initial);
    expect(runner.state.bad.map((b) => b.sha256)).toEqual([REV1.sha256]);
    const rolledBack = reports.find((r) => r.phase === "rolled-back");
    expect(rolledBack?.error).toMatch(/^did not boot: came back on \/nix\/store\/\w+-nixos-system-n1-initial instead of \/nix\/store\/\w+-nixos-system-n1-sim$/);
    expect(leases.calls.at(-1)).toBe("release 1 false");
    // The same bundle again is refused, not rebooted into.
    await runner.dispatch({ type: "desired-received", now: clock.now(), desired: REV1 });
    expect(runner.state.phase).toBe("rolled-back");
    expect(exits).toBe(1);
  });

  it("switches a harmless change at once, without a lease", async () => {
    await firstApply();
    leases.calls.length = 0;
    const gens = (await sim.generations()).length;
    await runner.dispatch({ type: "desired-received", now: clock.now(), desired: REV2_USERS });
    await until("confirmed");
    await vi.waitFor(() => expect(runner.state.applied?.revision).toBe("r2"));
    expect(leases.calls).toEqual([]);
    expect(await sim.generations()).toHaveLength(gens + 1);
  });

  it("rolls back a k3s change that leaves k3s down, and releases only once the old generation is healthy", async () => {
    await firstApply();
    const good = runner.state.applied!.systemPath;
    leases.calls.length = 0;
    await sim.setFaults({ [REV2_K3S.sha256]: ["unhealthy-after-switch"] });
    await runner.dispatch({ type: "desired-received", now: clock.now(), desired: REV2_K3S });
    await until("rolled-back");
    expect(await sim.currentSystem()).toBe(good);
    expect(runner.state.bad.map((b) => b.sha256)).toEqual([REV2_K3S.sha256]);
    expect(runner.state.lastError).toContain("health deadline passed: k3s.service is not active");
    await vi.waitFor(() => expect(leases.calls.at(-1)).toBe("release 2 false"));
    expect(leases.calls).toEqual(["acquire service-restart -", "renew 2 verifying", "renew 2 verifying", "release 2 false"]);
    // The same bundle again is refused; the bad history is on disk.
    await runner.dispatch({ type: "desired-received", now: clock.now(), desired: REV2_K3S });
    expect(runner.state.phase).toBe("rolled-back");
    const persisted = await new StateStore({ path: join(dir, "state.json") }).read();
    expect(persisted?.bad.map((b) => b.sha256)).toEqual([REV2_K3S.sha256]);
  });

  it("saves the state before it switches", async () => {
    await firstApply();
    const order: string[] = [];
    const save = StateStore.prototype.save;
    vi.spyOn(StateStore.prototype, "save").mockImplementation(function (this: StateStore, state) {
      order.push(`save ${state.phase}`);
      return save.call(this, state);
    });
    vi.spyOn(sim, "switch").mockImplementation(async function (this: SimSystem, ...args) {
      order.push("switch");
      return SimSystem.prototype.switch.apply(sim, args);
    });
    await runner.dispatch({ type: "desired-received", now: clock.now(), desired: REV2_USERS });
    await until("confirmed");
    expect(order.slice(0, 4)).toEqual(["save fetched", "save building", "save activating", "switch"]);
    vi.restoreAllMocks();
  });

  it("carries on without the lease when the coordinator fenced it, and does not release it", async () => {
    await firstApply();
    leases.calls.length = 0;
    await sim.setFaults({ [REV2_K3S.sha256]: ["unhealthy-after-switch"] });
    await runner.dispatch({ type: "desired-received", now: clock.now(), desired: REV2_K3S });
    await until("verifying");
    await vi.waitFor(() => expect(leases.calls).toContain("renew 2 verifying"));
    leases.holder = null; // an operator's force release
    await until("rolled-back");
    await vi.waitFor(() => expect(reports.at(-1)?.phase).toBe("rolled-back"));
    expect(runner.state.lease).toBeNull();
    expect(leases.calls.filter((c) => c.startsWith("release"))).toEqual([]);
    expect(reports.some((r) => r.error?.includes("lease lost during rollback-verifying"))).toBe(true);
  });

  it("leaves the machine untouched when the build fails", async () => {
    await boot();
    await sim.setFaults({ "*": ["build-error"] });
    const current = await sim.currentSystem();
    await runner.dispatch({ type: "desired-received", now: clock.now(), desired: REV1 });
    await until("failed");
    expect(await sim.currentSystem()).toBe(current);
    expect(await sim.generations()).toEqual([1]);
    await vi.waitFor(() => expect(reports.at(-1)).toMatchObject({ phase: "failed", error: "build failed: error: simulated build failure" }));
  });

  it("does not switch twice when killed during an activation that then completes on its own", async () => {
    await firstApply();
    await sim.setFaults({ [REV2_USERS.sha256]: ["activation-hang"] });
    const switches = vi.spyOn(sim, "switch");
    await runner.dispatch({ type: "desired-received", now: clock.now(), desired: REV2_USERS });
    await until("activating");
    await vi.waitFor(() => expect(switches).toHaveBeenCalledTimes(1));
    const target = runner.state.target!.systemPath!;
    const gens = (await sim.generations()).length;
    runner.halt(); // kill -9; the detached activation carries on
    await sim.setFaults({});
    await vi.waitFor(async () => expect(await sim.currentSystem()).toBe(target));
    await boot();
    await until("confirmed");
    expect(await sim.generations()).toHaveLength(gens + 1);
    expect(switches).toHaveBeenCalledTimes(1);
    expect(runner.state.applied?.systemPath).toBe(target);
  });

  it("drops a hung build when a newer bundle arrives", async () => {
    await firstApply();
    await sim.setFaults({ [REV2_K3S.sha256]: ["build-hang"] });
    await runner.dispatch({ type: "desired-received", now: clock.now(), desired: REV2_K3S });
    await until("building");
    await runner.dispatch({ type: "desired-received", now: clock.now(), desired: REV2_USERS });
    await until("confirmed");
    await vi.waitFor(() => expect(runner.state.applied?.revision).toBe("r2"));
  });

  it("picks up the newest bundle after a rollback, even when it arrives while the queued one is being redelivered", async () => {
    // Found by the long chaos run: a revert queued during a rollback was replayed after a newer push that came in
    // while the lease release was being saved, so the node rested confirmed on the revert and never took the push.
    await firstApply();
    await sim.setFaults({ [REV2_K3S.sha256]: ["unhealthy-after-switch"] });
    await runner.dispatch({ type: "desired-received", now: clock.now(), desired: REV2_K3S });
    await until("verifying");
    const revert = { ...REV1, revision: "r3-revert" };
    const newest = { ...REV2_USERS, revision: "r4-newest" };
    await runner.dispatch({ type: "desired-received", now: clock.now(), desired: revert });
    expect(runner.state.queued).toEqual({ revision: "r3-revert", sha256: REV1.sha256 });
    let pushed = false;
    const save = StateStore.prototype.save;
    vi.spyOn(StateStore.prototype, "save").mockImplementation(function (this: StateStore, state) {
      // The push lands while the agent saves the state that follows the lease release (the redelivery comes next).
      if (!pushed && state.phase === "rolled-back" && state.lease === null) {
        pushed = true;
        void runner.dispatch({ type: "desired-received", now: clock.now(), desired: newest });
      }
      return save.call(this, state);
    });
    // Past r2k's health deadline until the push lands.
    await advanceUntil(() => pushed, () => `phase ${runner.state.phase}, the push not yet landed`);
    await until("confirmed");
    await vi.waitFor(() => expect(runner.state.applied?.revision).toBe("r4-newest"));
    expect(runner.state.applied?.sha256).toBe(REV2_USERS.sha256);
    expect(runner.state.queued).toBeNull();
    vi.restoreAllMocks();
  });

  it("accepts the wire's desired bundle as the machine's", () => {
    const d: DesiredBundle = REV1;
    expect(d.sha256).toBe(bundleSha256(REV1.files));
  });
});
