// agent-started after kill -9 / restart / reboot at any phase: no double switch, same lease, health always checked.
import { describe, expect, it } from "vitest";
import { initialAgentState, type AgentState } from "./agent-state.js";
import type { AgentEvent } from "./agent-event.js";
import { LONG_EFFECTS, type Effect } from "./effect.js";
import { A, BOOT1, BOOT2, BOOT3, INSTALL, SYS_A, SYS_B, T0, ev, reach, run, step, types } from "./test-fixtures.js";

const find = <T extends Effect["type"]>(effects: readonly Effect[], type: T) => effects.find((e): e is Extract<Effect, { type: T }> => e.type === type);

describe("resume per phase", () => {
  it("re-issues the build from the bundle on disk", () => {
    const r = step(reach("building"), ev.started());
    expect(find(r.effects, "build")).toEqual({ type: "build", bundleDir: `/b/${A.sha256}`, sha256: A.sha256, prebuilt: null });
  });

  it("drops a bundle that was never completely written and asks for the desired state again", () => {
    const r = step(reach("fetched"), ev.started());
    expect(r.state).toMatchObject({ phase: "idle", target: null });
    expect(types(r.effects)).toContain("redeliver-desired");
  });

  it("asks for the lease again while queued, and keeps the held lease while draining", () => {
    expect(find(step(reach("waiting-lease"), ev.started()).effects, "request-lease")).toMatchObject({ kind: "reboot", fencingToken: null });
    const r = step(reach("draining"), ev.started());
    expect(types(r.effects)).toEqual(["persist", "renew-lease", "report", "drain"]);
    expect(find(r.effects, "drain")?.fencingToken).toBe(7);
  });

  it("does not switch again when the target is already the current system", () => {
    const r = step(reach("activating"), ev.started(BOOT1, SYS_A, INSTALL));
    expect(r.state.phase).toBe("verifying");
    expect(types(r.effects)).not.toContain("switch");
    expect(find(r.effects, "run-health")?.systemPath).toBe(SYS_A);
  });

  it("switches when the activation never started", () => {
    const r = step(reach("activating"), ev.started(BOOT1, INSTALL));
    expect(find(r.effects, "switch")?.systemPath).toBe(SYS_A);
  });

  it("verifies after the reboot with the same fencing token", () => {
    const r = step(reach("rebooting"), ev.started(BOOT2, SYS_A));
    expect(r.state).toMatchObject({ phase: "verifying", lease: { fencingToken: 7 }, rebootFromBootId: null });
    expect(find(r.effects, "renew-lease")).toEqual({ type: "renew-lease", fencingToken: 7, state: "verifying" });
  });

  it("reboots again when restarted on the same boot, then gives up", () => {
    const once = step(reach("rebooting"), ev.started(BOOT1, INSTALL));
    expect(once.state.phase).toBe("rebooting");
    expect(find(once.effects, "boot-and-reboot")?.systemPath).toBe(SYS_A);
    const twice = step(once.state, ev.started(BOOT1, INSTALL));
    expect(twice.state.phase).toBe("rolling-back");
  });

  it("treats booting the old generation as a failure and points the boot default back", () => {
    const r = step(reach("rebooting"), ev.started(BOOT2, INSTALL));
    expect(r.state.phase).toBe("rolling-back");
    expect(r.state.bad.map((b) => b.sha256)).toEqual([A.sha256]);
    expect(find(r.effects, "rollback-switch")?.systemPath).toBe(INSTALL);
  });

  it("keeps the health deadline across a restart and rolls back once it passed", () => {
    const s = reach("verifying");
    const r = step(s, ev.started(BOOT2, SYS_A));
    expect(find(r.effects, "run-health")?.deadlineAt).toBe(s.deadlineAt);
    const late: AgentEvent = { type: "agent-started", now: s.deadlineAt! + 1, bootId: BOOT2, currentSystem: SYS_A, bootedSystem: SYS_A };
    expect(step(s, late).state.phase).toBe("rollback-rebooting");
  });

  it("rolls back when the machine runs something else than the target while verifying", () => {
    const r = step(reach("verifying"), ev.started(BOOT3, INSTALL));
    expect(r.state.phase).toBe("rolling-back");
  });

  it("continues a rollback: switch again, or verify if it took", () => {
    const s = reach("rolling-back");
    expect(step(s, ev.started(BOOT1, SYS_A)).effects).toContainEqual({ type: "rollback-switch", systemPath: INSTALL });
    expect(step(s, ev.started(BOOT1, INSTALL)).state.phase).toBe("rollback-verifying");
  });

  it("continues a rollback reboot", () => {
    const s = reach("rollback-rebooting");
    expect(find(step(s, ev.started(BOOT2, SYS_A)).effects, "rollback-boot-and-reboot")?.systemPath).toBe(INSTALL);
    expect(step(s, ev.started(BOOT3, INSTALL)).state.phase).toBe("rollback-verifying");
    expect(step(s, ev.started(BOOT3, SYS_B)).state.phase).toBe("failed");
  });

  it("re-sends a lease release that was never acknowledged", () => {
    const s = run([ev.healthy(), ev.blessed()], reach("verifying")).state;
    expect(s.lease?.releasing).toBe(true);
    const r = step(s, ev.started(BOOT2, SYS_A));
    expect(find(r.effects, "release-lease")).toMatchObject({ fencingToken: 7, success: true });
  });

  it("reports drift between the applied and the running system", () => {
    const r = step(reach("confirmed"), ev.started(BOOT3, INSTALL));
    expect(find(r.effects, "report")?.note).toContain("not the applied");
  });
});

// --- kill -9 at every step, against a small model of the machine and the coordinator ---

interface World {
  boot: number;
  current: string;
  booted: string;
  bootDefault: string;
  leaseHeld: number | null;
  tokensIssued: number;
  changedSinceHealth: boolean;
  violations: string[];
}

interface Flow {
  readonly rebootNeeded: boolean;
  readonly restarts: readonly string[];
}

/** Carries out one long effect on the world; returns its result event (null: the process ends in a reboot). */
function perform(w: World, e: Effect, now: number, flow: Flow): AgentEvent | null {
  switch (e.type) {
    case "write-bundle":
      return { type: "bundle-written", now, sha256: e.sha256 };
    case "build":
      return { type: "build-succeeded", now, sha256: e.sha256, systemPath: SYS_A, rebootNeeded: flow.rebootNeeded, restartsUnits: flow.restarts };
    case "request-lease":
      // The coordinator hands a node the lease it already holds.
      if (w.leaseHeld === null) w.leaseHeld = 100 + ++w.tokensIssued;
      if (e.fencingToken !== null && e.fencingToken !== w.leaseHeld) w.violations.push("presented a stale token");
      return { type: "lease-granted", now, fencingToken: w.leaseHeld };
    case "drain":
      return { type: "drained", now, fencingToken: e.fencingToken };
    case "switch":
    case "rollback-switch":
      if (w.current === e.systemPath) w.violations.push(`double switch to ${e.systemPath}`);
      w.current = w.bootDefault = e.systemPath;
      w.changedSinceHealth = true;
      return { type: "activation-succeeded", now, systemPath: e.systemPath };
    case "boot-and-reboot":
    case "rollback-boot-and-reboot": {
      if (w.booted === e.systemPath) w.violations.push(`double reboot into ${e.systemPath}`);
      // A trial boots the new system once; the default stays the fallback until it is blessed.
      const trial = e.type === "boot-and-reboot" && e.fallback !== null;
      w.bootDefault = trial ? e.fallback! : e.systemPath;
      w.boot += 1;
      w.booted = w.current = e.systemPath;
      w.changedSinceHealth = true;
      return null;
    }
    case "bless":
      if (w.changedSinceHealth) w.violations.push("blessed without a health check after the last change");
      w.bootDefault = e.systemPath;
      return { type: "blessed", now, systemPath: e.systemPath };
    case "run-health":
      w.changedSinceHealth = false;
      return w.current === e.systemPath ? { type: "health-passed", now, systemPath: e.systemPath } : { type: "health-failed", now, systemPath: e.systemPath, reason: "wrong system" };
    default:
      return null;
  }
}

type Crash = { readonly at: number; readonly effectDone: boolean };

/** Runs one apply to the end, killing the agent once after transition `crash.at` (before or after its long effect ran). */
function simulate(flow: Flow, crash: Crash | null): { state: AgentState; world: World } {
  const w: World = { boot: 1, current: INSTALL, booted: INSTALL, bootDefault: INSTALL, leaseHeld: null, tokensIssued: 0, changedSinceHealth: false, violations: [] };
  let now = T0;
  const started = (): AgentEvent => ({ type: "agent-started", now: (now += 1000), bootId: `boot-${w.boot}`, currentSystem: w.current, bootedSystem: w.booted });
  let persisted = initialAgentState(T0);
  // Every (re)start reconnects, and the coordinator's first message is the current desired bundle.
  const desiredA = (): AgentEvent => ({ type: "desired-received", now: (now += 1000), desired: A });
  const queue: AgentEvent[] = [started(), desiredA()];
  let transitions = 0;
  while (queue.length > 0 && transitions < 200) {
    const event = queue.shift()!;
    const r = step(persisted, event);
    transitions += 1;
    if (r.state.phase === "confirmed" && r.state !== persisted && persisted.phase !== "confirmed" && w.changedSinceHealth) {
      w.violations.push("confirmed without a health check after the last change");
    }
    persisted = r.state; // persist is the first effect whenever the state changed
    for (const e of r.effects) {
      if (e.type === "release-lease") {
        w.leaseHeld = null;
        queue.push({ type: "lease-released", now: (now += 1000), fencingToken: e.fencingToken });
      }
      if (e.type === "redeliver-desired") queue.push(desiredA());
    }
    const long = r.effects.find((e) => LONG_EFFECTS.has(e.type));
    if (crash && transitions === crash.at) {
      // kill -9: the pending effect ran to completion or not at all; its result is lost either way.
      if (long && crash.effectDone) perform(w, long, now, flow);
      queue.length = 0;
      queue.push(started(), desiredA());
      continue;
    }
    if (long) {
      const result = perform(w, long, (now += 1000), flow);
      if (result) queue.push(result);
      else queue.push(started(), desiredA());
    }
  }
  return { state: persisted, world: w };
}

describe("kill -9 at every step", () => {
  const flows: Record<string, Flow> = {
    harmless: { rebootNeeded: false, restarts: [] },
    "service restart": { rebootNeeded: false, restarts: ["k3s.service"] },
    reboot: { rebootNeeded: true, restarts: [] },
  };
  for (const [name, flow] of Object.entries(flows)) {
    it(`${name}: converges with one lease, no double switch or reboot, health always checked`, () => {
      const clean = simulate(flow, null);
      expect(clean.state.phase).toBe("confirmed");
      expect(clean.world.violations).toEqual([]);
      for (let at = 1; at <= 14; at++) {
        for (const effectDone of [false, true]) {
          const { state, world } = simulate(flow, { at, effectDone });
          const where = `${name}, crash after transition ${at}, effect ${effectDone ? "done" : "not done"}`;
          expect(world.violations, where).toEqual([]);
          expect(state.phase, where).toBe("confirmed");
          expect(state.applied, where).toEqual({ revision: A.revision, sha256: A.sha256, systemPath: SYS_A });
          expect(world.current, where).toBe(SYS_A);
          // Whatever the crash, the confirmed system is the one the next boot starts.
          expect(world.bootDefault, where).toBe(SYS_A);
          expect(world.tokensIssued, where).toBe(flow.rebootNeeded || flow.restarts.length > 0 ? 1 : 0);
          expect(world.leaseHeld, where).toBeNull();
          expect(state.lease, where).toBeNull();
        }
      }
    });
  }
});
