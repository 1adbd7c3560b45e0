// Scenario tests for each apply flow: harmless switch, service restart, reboot, failures and rollbacks.
import { describe, expect, it } from "vitest";
import type { Effect } from "./effect.js";
import { A, B, BOOT1, BOOT2, CFG, INSTALL, SYS_A, SYS_B, desired, ev, reach, run, step, types } from "./test-fixtures.js";

const find = <T extends Effect["type"]>(effects: readonly Effect[], type: T) => effects.find((e): e is Extract<Effect, { type: T }> => e.type === type);
const reports = (all: Effect[][]) => all.flat().filter((e) => e.type === "report").map((e) => (e.type === "report" ? e.phase : ""));

describe("harmless change", () => {
  it("builds, switches at once without a lease, verifies and confirms", () => {
    const { state, effects } = run([ev.started(), ev.desired(), ev.written(), ev.built(), ev.activated(), ev.healthy()]);
    expect(state.phase).toBe("confirmed");
    expect(state.applied).toEqual({ revision: "rev-a", sha256: A.sha256, systemPath: SYS_A });
    expect(state.lease).toBeNull();
    expect(effects.flat().some((e) => e.type.includes("lease"))).toBe(false);
    expect(types(effects[1]!)).toEqual(["persist", "report", "write-bundle"]);
    expect(find(effects[1]!, "write-bundle")).toMatchObject({ dir: `/b/${A.sha256}`, files: A.files });
    expect(types(effects[2]!)).toEqual(["persist", "report", "build"]);
    expect(find(effects[3]!, "switch")).toEqual({ type: "switch", systemPath: SYS_A, sha256: A.sha256 });
    expect(find(effects[4]!, "run-health")).toMatchObject({ systemPath: SYS_A, checks: A.checks });
    expect(reports(effects)).toEqual(["idle", "fetched", "building", "activating", "verifying", "confirmed"]);
  });

  it("confirms without switching when the build yields the running system", () => {
    const { state, effects } = run([ev.started(BOOT1, SYS_A), ev.desired(), ev.written(), ev.built(A, SYS_A)]);
    expect(state.phase).toBe("confirmed");
    expect(state.applied?.systemPath).toBe(SYS_A);
    expect(types(effects[3]!)).toEqual(["persist", "report", "prune-bundles"]);
  });
});

describe("desired bundle identity", () => {
  it("does nothing for the sha256 already applied", () => {
    const s = reach("confirmed");
    const r = step(s, ev.desired(A));
    expect(r.state).toBe(s);
    expect(r.effects).toEqual([]);
  });

  it("only records a newer revision carrying the same bundle", () => {
    const r = step(reach("confirmed"), ev.desired({ ...A, revision: "rev-a2" }));
    expect(r.state.applied?.revision).toBe("rev-a2");
    expect(types(r.effects)).toEqual(["persist", "report"]);
  });
});

describe("service restart", () => {
  it("takes a service-restart lease, switches without draining, releases after health", () => {
    const { state, effects } = run([
      ev.started(BOOT1, SYS_B),
      ev.desired(),
      ev.written(),
      ev.built(A, SYS_A, false, ["k3s.service", "foo.service"]),
      ev.granted(3),
      ev.activated(),
      ev.healthy(),
    ]);
    expect(find(effects[3]!, "request-lease")).toMatchObject({ kind: "service-restart", fencingToken: null, sha256: A.sha256 });
    expect(types(effects[4]!)).toEqual(["persist", "hand-over-vip", "report", "switch"]);
    expect(find(effects[5]!, "renew-lease")).toEqual({ type: "renew-lease", fencingToken: 3, state: "verifying" });
    expect(find(effects[6]!, "release-lease")).toEqual({ type: "release-lease", fencingToken: 3, success: true, reason: "confirmed" });
    expect(state).toMatchObject({ phase: "confirmed", lease: { fencingToken: 3, releasing: true } });
    expect(step(state, ev.released(3)).state.lease).toBeNull();
  });
});

describe("reboot", () => {
  it("drains, persists the boot id, reboots, verifies on the new boot and releases", () => {
    const { state, effects } = run([...[ev.started(), ev.desired(), ev.written()], ev.built(A, SYS_A, true), ev.granted(), ev.drained()]);
    expect(find(effects[3]!, "request-lease")?.kind).toBe("reboot");
    expect(types(effects[4]!)).toEqual(["persist", "hand-over-vip", "renew-lease", "report", "drain"]);
    expect(types(effects[5]!)).toEqual(["persist", "renew-lease", "report", "boot-and-reboot"]);
    // A trial boot: the install system (what ran before) stays the boot default until the new one is healthy.
    expect(find(effects[5]!, "boot-and-reboot")).toEqual({ type: "boot-and-reboot", systemPath: SYS_A, sha256: A.sha256, fallback: INSTALL });
    expect(state).toMatchObject({ phase: "rebooting", rebootFromBootId: BOOT1, lease: { fencingToken: 7 } });

    const after = run([ev.started(BOOT2, SYS_A), ev.healthy(), ev.blessed()], state);
    expect(types(after.effects[0]!)).toEqual(["persist", "renew-lease", "report", "run-health"]);
    // Healthy after the trial boot: made the boot default (blessed) before it is confirmed and the lease released.
    expect(types(after.effects[1]!)).toEqual(["persist", "report", "bless"]);
    expect(find(after.effects[1]!, "bless")).toEqual({ type: "bless", systemPath: SYS_A });
    expect(after.effects[1]!.some((e) => e.type === "release-lease")).toBe(false);
    expect(after.state.phase).toBe("confirmed");
    expect(find(after.effects[2]!, "release-lease")).toMatchObject({ fencingToken: 7, success: true });
  });

  it("asks for a reboot with policy always even when the kernel is unchanged", () => {
    const { effects } = run([ev.started(), ev.desired({ ...A, rebootPolicy: "always" }), ev.written(), ev.built()]);
    expect(find(effects[3]!, "request-lease")?.kind).toBe("reboot");
  });

  it("switches with policy never and records the pending reboot", () => {
    const { state, effects } = run([ev.started(), ev.desired({ ...A, rebootPolicy: "never" }), ev.written(), ev.built(A, SYS_A, true), ev.activated(), ev.healthy()]);
    expect(find(effects[3]!, "report")?.note).toContain("reboot pending");
    expect(state).toMatchObject({ phase: "confirmed", rebootPending: true });
  });

  it("asks again when the agent outlives the reboot, then switches back", () => {
    const s = reach("rebooting");
    const again = step(s, ev.deadline(s.deadlineAt!));
    expect(types(again.effects)).toEqual(["persist", "report", "boot-and-reboot"]);
    const giveUp = step(again.state, ev.deadline(again.state.deadlineAt!));
    expect(giveUp.state.phase).toBe("rolling-back");
    expect(find(giveUp.effects, "rollback-switch")?.systemPath).toBe(INSTALL);
  });

  it("switches back (no second reboot) when preparing the reboot fails", () => {
    const r = step(reach("rebooting"), ev.activationFailed(SYS_A));
    expect(r.state.phase).toBe("rolling-back");
    expect(types(r.effects)).toEqual(["persist", "report", "rollback-switch"]);
  });
});

describe("build failure", () => {
  it("leaves the system untouched, reports, and gives up after the attempt limit", () => {
    let { state, effects } = run(PATH_TO_BUILD_FAILURE());
    expect(state).toMatchObject({ phase: "failed", applied: null, target: null, failedBuild: { attempts: 1 } });
    expect(find(effects.at(-1)!, "report")).toMatchObject({ phase: "failed", sha256: A.sha256 });
    expect(effects.flat().some((e) => e.type === "switch" || e.type === "request-lease")).toBe(false);
    for (let i = 2; i <= CFG.maxBuildAttempts; i++) state = run([ev.desired(), ev.written(), ev.buildFailed()], state).state;
    expect(state.failedBuild?.attempts).toBe(CFG.maxBuildAttempts);
    const refused = step(state, ev.desired());
    expect(types(refused.effects)).toEqual(["persist", "report"]);
    expect(refused.state).toMatchObject({ phase: "failed", target: null, lastError: expect.stringContaining(`build of ${A.sha256.slice(0, 12)} failed`) });
    // Redelivered (a reconnect): nothing new to say.
    expect(step(refused.state, ev.desired()).effects).toEqual([]);
    const retried = step(state, ev.retry(A.sha256));
    expect(retried.state.failedBuild).toBeNull();
    expect(types(retried.effects)).toContain("redeliver-desired");
    expect(step(retried.state, ev.desired()).state.phase).toBe("fetched");
  });
});
const PATH_TO_BUILD_FAILURE = () => [ev.started(), ev.desired(), ev.written(), ev.buildFailed()];

describe("rollback after a switch", () => {
  it("switches back, verifies the old generation, records the bundle as bad", () => {
    const { state, effects } = run([
      ev.started(BOOT1, SYS_B),
      ev.desired(),
      ev.written(),
      ev.built(A, SYS_A, false, ["k3s.service"]),
      ev.granted(),
      ev.activated(),
      ev.unhealthy(),
      ev.activated(SYS_B),
    ]);
    expect(find(effects[6]!, "rollback-switch")?.systemPath).toBe(SYS_B);
    expect(find(effects[6]!, "report")).toMatchObject({ phase: "rolling-back", error: "unhealthy after activation: k3s inactive" });
    expect(state.phase).toBe("rollback-verifying");
    // The lease is only given back once the old generation is healthy again.
    expect(effects.flat().some((e) => e.type === "release-lease")).toBe(false);
    const done = step(state, ev.healthy(SYS_B));
    expect(done.state).toMatchObject({ phase: "rolled-back", applied: null, bad: [{ sha256: A.sha256 }] });
    expect(find(done.effects, "release-lease")).toMatchObject({ success: false, reason: "unhealthy after activation: k3s inactive" });
    expect(find(done.effects, "report")).toMatchObject({ phase: "rolled-back", error: "unhealthy after activation: k3s inactive" });
  });

  it("does not retry a bad bundle until it changes or an operator asks", () => {
    const s = run([ev.released()], reach("rolled-back")).state;
    const again = step(s, ev.desired(A));
    expect(again.effects).toEqual([{ type: "persist" }, expect.objectContaining({ type: "report", phase: "rolled-back", sha256: A.sha256 })]);
    expect(again.state).toMatchObject({ phase: "rolled-back", lastError: expect.stringContaining("not retried until the node's bundle changes") });
    expect(step(again.state, ev.desired(A)).effects).toEqual([]);
    expect(step(s, ev.desired(B)).state.phase).toBe("fetched");
    const retried = step(s, ev.retry(A.sha256));
    expect(retried.state.bad).toEqual([]);
    expect(step(retried.state, ev.desired(A)).state.phase).toBe("fetched");
  });

  it("rolls back on the health deadline, stopping the health poll first", () => {
    const s = reach("activating");
    const verifying = step(s, ev.activated()).state;
    const r = step(verifying, ev.deadline(verifying.deadlineAt!));
    expect(types(r.effects)).toEqual(["persist", "abort-pending", "report", "rollback-switch"]);
    expect(r.state.lastError).toBe("health deadline passed");
  });

  it("ignores an early deadline timer", () => {
    const s = step(reach("activating"), ev.activated()).state;
    const r = step(s, ev.deadline(s.deadlineAt! - 1));
    expect(r.state).toBe(s);
  });
});
