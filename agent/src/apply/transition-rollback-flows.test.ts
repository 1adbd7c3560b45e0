// The apply machine's flows after a failure: rollback by reboot, stuck after a failed rollback, newer bundles meanwhile.
import { describe, expect, it } from "vitest";
import { initialAgentState, type AgentState } from "./agent-state.js";
import type { AgentEvent } from "./agent-event.js";
import type { Effect } from "./effect.js";
import { A, B, BOOT1, BOOT2, BOOT3, CFG, INSTALL, SYS_A, SYS_B, T0, desired, ev, reach, run, step, types } from "./test-fixtures.js";

const find = <T extends Effect["type"]>(effects: readonly Effect[], type: T) => effects.find((e): e is Extract<Effect, { type: T }> => e.type === type);

describe("rollback after a reboot", () => {
  it("makes the previous generation the boot default, reboots, verifies it, then releases", () => {
    const s = reach("verifying");
    const r1 = step(s, ev.unhealthy());
    expect(r1.state).toMatchObject({ phase: "rollback-rebooting", rebootFromBootId: BOOT2 });
    expect(types(r1.effects)).toEqual(["persist", "renew-lease", "report", "rollback-boot-and-reboot"]);
    expect(find(r1.effects, "rollback-boot-and-reboot")?.systemPath).toBe(INSTALL);
    const r2 = step(r1.state, ev.started(BOOT3, INSTALL));
    expect(r2.state.phase).toBe("rollback-verifying");
    expect(find(r2.effects, "run-health")).toMatchObject({ systemPath: INSTALL, checks: [] });
    const r3 = step(r2.state, ev.healthy(INSTALL));
    expect(r3.state.phase).toBe("rolled-back");
    expect(find(r3.effects, "release-lease")).toMatchObject({ fencingToken: 7, success: false });
  });
});

describe("stuck after a failed rollback", () => {
  it("keeps the lease for an operator, whose retry runs the rollback again", () => {
    let s = reach("rolling-back");
    for (let i = 1; i < CFG.maxRollbackAttempts; i++) {
      const r = step(s, ev.activationFailed(INSTALL));
      expect(r.state.phase).toBe("rolling-back");
      s = r.state;
    }
    const stuck = step(s, ev.activationFailed(INSTALL));
    expect(stuck.state.phase).toBe("failed");
    expect(stuck.state.target?.sha256).toBe(A.sha256);
    const retried = step(stuck.state, ev.retry());
    expect(retried.state.phase).toBe("rolling-back");
    expect(find(retried.effects, "rollback-switch")?.systemPath).toBe(INSTALL);
  });

  it("does not release the lease when the old generation is unhealthy too", () => {
    const s = reach("rollback-verifying");
    const r = step(s, ev.unhealthy(INSTALL));
    expect(r.state).toMatchObject({ phase: "failed", lease: { fencingToken: 7, releasing: false } });
    expect(types(r.effects)).toEqual(["persist", "report", "prune-bundles"]);
    expect(find(r.effects, "report")?.error).toContain("lease kept");
    // A new push may fix it: the held lease is presented again rather than a new one requested.
    const next = run([ev.desired(B), ev.written(B), ev.built(B, SYS_B, true)], r.state);
    expect(find(next.effects[2]!, "request-lease")?.fencingToken).toBe(7);
    expect(next.state.target?.rollbackTo).toBe(INSTALL);
  });

  it("stays stuck, lease and target kept, when its bad bundle is delivered again (an agent restart, a reconnect)", () => {
    // Found by the long chaos run: refusing the bundle turned the stuck node into a plain "rolled-back" one that
    // still held its lease, so nothing would ever release it.
    const stuck = step(reach("rollback-verifying"), ev.unhealthy(INSTALL)).state;
    expect(stuck.bad.map((b) => b.sha256)).toContain(A.sha256);
    const again = step(stuck, ev.desired(A));
    expect(again.state).toBe(stuck);
    expect(again.state).toMatchObject({ phase: "failed", target: { sha256: A.sha256 }, lease: { fencingToken: 7, releasing: false } });
    expect(again.effects).toEqual([expect.objectContaining({ type: "report", phase: "rolled-back", sha256: A.sha256 })]);
  });

  it("boots even an unchanged system under the reboot lease it is stuck with, and verifies it before releasing", () => {
    const s = step(reach("rollback-verifying"), ev.unhealthy(INSTALL)).state;
    // The coordinator gives a reboot lease back only on a new boot id: a switch (or nothing) would hold it for ever.
    const r = run([ev.desired(desired("c")), ev.written(desired("c")), ev.built(desired("c"), INSTALL)], s);
    expect(r.state.phase).toBe("waiting-lease");
    expect(find(r.effects[2]!, "request-lease")).toMatchObject({ kind: "reboot", fencingToken: 7 });
    const rebooting = run([ev.granted(7), ev.drained(7)], r.state);
    expect(rebooting.state.phase).toBe("rebooting");
    expect(find(rebooting.effects[1]!, "boot-and-reboot")?.systemPath).toBe(INSTALL);
  });

  it("boots a fixing bundle that needs no reboot of its own under the kept reboot lease", () => {
    const s = step(reach("rollback-verifying"), ev.unhealthy(INSTALL)).state;
    const r = run([ev.desired(B), ev.written(B), ev.built(B, SYS_B, false)], s);
    expect(find(r.effects[2]!, "request-lease")).toMatchObject({ kind: "reboot", fencingToken: 7 });
    expect(r.state.target?.disruption).toBe("reboot");
  });

  it("cannot roll back without a previous generation", () => {
    const { state } = run([ev.desired(), ev.written(), ev.built(), ev.activationFailed()]);
    expect(state.phase).toBe("failed");
    expect(state.lastError).toContain("no previous generation");
  });
});

describe("newer desired bundles", () => {
  it("supersede a build or a queued lease request, and a late grant is handed back", () => {
    const s = reach("waiting-lease");
    const r = step(s, ev.desired(B));
    expect(types(r.effects)).toEqual(["persist", "abort-pending", "report", "write-bundle"]);
    expect(r.state.target?.sha256).toBe(B.sha256);
    const late = step(r.state, ev.granted(9));
    expect(late.effects).toEqual([{ type: "release-lease", fencingToken: 9, success: true, reason: "lease no longer needed" }]);
    expect(step(r.state, ev.built(A)).state).toBe(r.state);
  });

  it("wait behind a disruptive step and are picked up once the lease is released", () => {
    const s = step(reach("rebooting"), ev.desired(B)).state;
    expect(s.queued?.sha256).toBe(B.sha256);
    const done = run([ev.started(BOOT2, SYS_A), ev.healthy(), ev.blessed()], s);
    expect(types(done.effects[2]!)).not.toContain("redeliver-desired");
    const released = step(done.state, ev.released());
    expect(types(released.effects)).toEqual(["persist", "rejoin-vip", "redeliver-desired"]);
    expect(released.state.queued).toBeNull();
  });

  it("return to the applied bundle without any work", () => {
    const confirmed = reach("confirmed");
    const building = run([ev.desired(B), ev.written(B)], confirmed).state;
    const r = step(building, ev.desired(A));
    expect(r.state).toMatchObject({ phase: "confirmed", target: null });
    expect(types(r.effects)).toEqual(["persist", "abort-pending", "report", "prune-bundles"]);
  });
});

describe("lease trouble", () => {
  it("a lease lost while draining abandons the apply before touching the machine", () => {
    const r = step(reach("draining"), ev.lost());
    expect(r.state).toMatchObject({ phase: "idle", lease: null, target: null });
    expect(types(r.effects)).toEqual(["persist", "abort-pending", "report", "prune-bundles"]);
  });

  it("a lease lost after the machine changed lets the apply finish without releasing", () => {
    const s = step(reach("verifying"), ev.lost()).state;
    expect(s).toMatchObject({ phase: "verifying", lease: null });
    const done = run([ev.healthy(), ev.blessed()], s);
    expect(done.state.phase).toBe("confirmed");
    expect(done.effects.flat().map((e) => e.type)).not.toContain("release-lease");
  });

  it("a failed drain gives the lease back and keeps the bundle retryable", () => {
    const r = step(reach("draining"), ev.drainFailed());
    expect(r.state).toMatchObject({ phase: "idle", bad: [], lease: { releasing: true } });
    expect(find(r.effects, "release-lease")).toMatchObject({ success: false });
  });

  it("a denied request rests on the previous generation", () => {
    const r = step(reach("waiting-lease"), ev.denied());
    expect(r.state).toMatchObject({ phase: "idle", lastError: "lease denied: rollout paused" });
  });
});

describe("bad history", () => {
  it("keeps only the newest entries", () => {
    let s: AgentState = { ...initialAgentState(T0), bad: Array.from({ length: CFG.badHistoryLimit }, (_, i) => ({ sha256: `x${i}`, revision: "r", reason: "old", at: i })) };
    s = run([ev.started(BOOT1, SYS_B), ev.desired(), ev.written(), ev.built(), ev.activationFailed()], s).state;
    expect(s.bad).toHaveLength(CFG.badHistoryLimit);
    expect(s.bad.at(-1)?.sha256).toBe(A.sha256);
    expect(s.bad[0]?.sha256).toBe("x1");
  });

  it("a bad sha256 arriving while busy replaces what was queued, and its refusal is reported once the apply ends", () => {
    const s = { ...reach("rebooting"), bad: [{ sha256: B.sha256, revision: "rev-b", reason: "x", at: 0 }], queued: { revision: "rev-c", sha256: desired("c").sha256 } };
    const busy = step(s, ev.desired(B));
    expect(busy.state.queued).toEqual({ revision: "rev-b", sha256: B.sha256 });
    expect(busy.effects.filter((e) => e.type === "report")).toEqual([]);
    // Found by chaos: the node then rested "confirmed" on the older bundle and never said why it ignored the desired one.
    const resting: AgentState = { ...reach("confirmed"), bad: s.bad };
    const r = step(resting, ev.desired(B));
    expect(r.effects).toContainEqual(expect.objectContaining({ type: "report", phase: "rolled-back" }));
    expect(JSON.stringify(r.effects)).toContain("not retried until the node's bundle changes");
    // Found by the long chaos run: the refusal was a one-off report, the next heartbeat (built from the state) said
    // "confirmed" again, and the node looked as if it had taken the desired bundle. The refusal is the state now.
    expect(r.state).toMatchObject({ phase: "rolled-back", applied: resting.applied, target: null, queued: null, lastError: expect.stringContaining(`bundle ${B.sha256.slice(0, 12)} rolled back before`) });
    // A good bundle, or the applied one under a newer revision, ends the refusal.
    expect(resting.applied?.sha256).toBe(A.sha256);
    const back = step(r.state, ev.desired(desired("a", { revision: "rev-d" })));
    expect(back.state).toMatchObject({ phase: "confirmed", lastError: null });
  });

  it("a bad sha256 arriving while the node waits for a lease ends the wait at once and rests refused", () => {
    // HA chaos seed 28100565: queued behind the lease request of a bundle the coordinator no longer named, the
    // refusal waited for a grant that never came, until the next push.
    for (const phase of ["fetched", "building", "waiting-lease"] as const) {
      const waiting: AgentState = { ...reach(phase), bad: [{ sha256: B.sha256, revision: "rev-b", reason: "health deadline passed", at: 0 }] };
      expect(waiting.lease).toBeNull();
      const r = step(waiting, ev.desired(B));
      expect(r.effects.filter((e) => e.type === "abort-pending")).toHaveLength(1);
      expect(r.effects.filter((e) => e.type === "report")).toEqual([expect.objectContaining({ phase: "rolled-back", sha256: B.sha256 })]);
      expect(r.state).toMatchObject({ phase: "rolled-back", applied: waiting.applied, target: null, queued: null, lastError: expect.stringContaining("rolled back before (health deadline passed)") });
    }
  });
});

describe("a lease kept after a failed rollback", () => {
  const C = desired("c");
  const SYS_C = "/nix/store/ccc-nixos-system-n1-c";
  const BOOT4 = "boot-4";
  /** Confirmed on A; B failed its health check after the reboot, and A was unhealthy after the rollback too. */
  const stuckOnB = (during: AgentEvent[] = []): AgentState => {
    const s = run([ev.desired(B), ev.written(B), ev.built(B, SYS_B, true), ev.granted(), ev.drained(), ev.started(BOOT3, SYS_B), ...during, ev.unhealthy(SYS_B), ev.started(BOOT4, SYS_A), ev.unhealthy(SYS_A)], reach("confirmed")).state;
    expect(s).toMatchObject({ phase: "failed", applied: { sha256: A.sha256 }, target: { sha256: B.sha256 }, lease: { fencingToken: 7, releasing: false } });
    return s;
  };
  const redelivers = (effects: readonly Effect[]): boolean => effects.some((e) => e.type === "redeliver-desired");

  it("a refused bundle arriving while the fix builds under the kept lease waits for that fix to finish", () => {
    // A review found that ending the fix here left the node cordoned, its lease held and nothing left to release it.
    for (const events of [[ev.desired(C)], [ev.desired(C), ev.written(C)]]) {
      const fixing = run(events, stuckOnB()).state;
      expect(fixing.phase).toMatch(/^(fetched|building)$/);
      expect(fixing.lease).toMatchObject({ fencingToken: 7, releasing: false });
      const r = step(fixing, ev.desired(B));
      expect(r.effects.filter((e) => e.type === "abort-pending" || e.type === "report")).toEqual([]);
      expect(r.state).toMatchObject({ phase: fixing.phase, target: { sha256: C.sha256 }, lease: { fencingToken: 7 }, queued: { sha256: B.sha256 } });
    }
  });

  it("the last good bundle pushed again while the fix builds is booted and verified under the lease, not declared confirmed", () => {
    // It just failed its health check after the rollback: "confirmed" with the lease held left the node cordoned for good.
    const fixing = run([ev.desired(C), ev.written(C)], stuckOnB()).state;
    const r = step(fixing, ev.desired(A));
    expect(r.effects.some((e) => e.type === "report" && e.phase === "confirmed")).toBe(false);
    expect(r.state).toMatchObject({ phase: "fetched", target: { sha256: A.sha256 }, lease: { fencingToken: 7, releasing: false } });
    const next = run([ev.written(A), ev.built(A, SYS_A, false)], r.state);
    expect(next.state.phase).toBe("waiting-lease");
    expect(find(next.effects[1]!, "request-lease")).toMatchObject({ kind: "reboot", fencingToken: 7 });
  });

  it("a fix whose build or write fails leaves the node failed with the lease kept, and a retry asks for the desired bundle again", () => {
    for (const failure of [[ev.written(C), ev.buildFailed(C)], [ev.writeFailed(C)]]) {
      const r = run([ev.desired(C), ...failure], stuckOnB());
      expect(r.state).toMatchObject({ phase: "failed", lease: { fencingToken: 7, releasing: false } });
      expect(find(r.effects.at(-1)!, "report")?.error).toContain("lease kept until a new bundle fixes the node or an operator acts (nk-agent retry on the node takes the desired bundle again; nkctl lease release <node> gives the lease up)");
      const retried = step(r.state, ev.retry());
      expect(redelivers(retried.effects)).toBe(true);
      // Delivered again, the fix is built anew under the same lease.
      expect(step(retried.state, ev.desired(C)).state).toMatchObject({ phase: "fetched", target: { sha256: C.sha256 }, lease: { fencingToken: 7 } });
    }
  });

  it("a refused bundle queued behind a fix that fails to build is reported, the lease kept", () => {
    const r = run([ev.desired(C), ev.written(C), ev.desired(B), ev.buildFailed(C)], stuckOnB());
    expect(redelivers(r.effects.at(-1)!)).toBe(true);
    expect(r.state).toMatchObject({ phase: "failed", queued: null, lease: { fencingToken: 7, releasing: false } });
    const refused = step(r.state, ev.desired(B));
    expect(refused.effects).toEqual([expect.objectContaining({ type: "report", phase: "rolled-back", sha256: B.sha256 })]);
  });

  it("a bundle pushed during the rollback starts as the fix once the node is stuck", () => {
    const s = stuckOnB([ev.desired(C)]);
    expect(s.queued).toBeNull();
    const fix = step(s, ev.desired(C));
    expect(fix.state).toMatchObject({ phase: "fetched", target: { sha256: C.sha256 }, lease: { fencingToken: 7, releasing: false } });
  });

  it("the stuck step itself asks for the bundle pushed during the rollback", () => {
    const rollbackVerifying = run([ev.desired(B), ev.written(B), ev.built(B, SYS_B, true), ev.granted(), ev.drained(), ev.started(BOOT3, SYS_B), ev.desired(C), ev.unhealthy(SYS_B), ev.started(BOOT4, SYS_A)], reach("confirmed")).state;
    expect(rollbackVerifying).toMatchObject({ phase: "rollback-verifying", queued: { sha256: C.sha256 } });
    const r = step(rollbackVerifying, ev.unhealthy(SYS_A));
    expect(r.state).toMatchObject({ phase: "failed", queued: null });
    expect(redelivers(r.effects)).toBe(true);
  });

  it("an agent restart while the fix was only fetched rests failed with the lease, not confirmed", () => {
    const fetched = step(stuckOnB(), ev.desired(C)).state;
    const r = step(fetched, ev.started(BOOT4, SYS_A));
    expect(r.state).toMatchObject({ phase: "failed", target: null, lease: { fencingToken: 7, releasing: false } });
    expect(redelivers(r.effects)).toBe(true);
  });

  it("an operator retry runs the rollback again under the kept lease, but never once that lease is gone", () => {
    const again = step(stuckOnB(), ev.retry());
    expect(again.state).toMatchObject({ phase: "rolling-back", lease: { fencingToken: 7, releasing: false } });
    // A plain retry tries nothing refused again: B stays bad.
    expect(again.state.bad.map((b) => b.sha256)).toContain(B.sha256);
    // An operator released the lease (nkctl lease release): no reboot or switch without one, and the node stays stuck
    // (unverified), so a later delivery of the last good bundle is still booted and verified, never just "confirmed".
    const released = step(stuckOnB(), ev.released()).state;
    expect(released).toMatchObject({ phase: "failed", target: { sha256: B.sha256 }, lease: null });
    const r = step(released, ev.retry());
    expect(types(r.effects)).toEqual(["report"]);
    expect(r.state).toBe(released);
    expect(find(r.effects, "report")?.note).toContain("the kept lease is gone");
    expect(step(released, ev.desired(A)).state).toMatchObject({ phase: "fetched", target: { sha256: A.sha256 } });
  });

  it("a plain operator retry at rest takes the desired bundle again but leaves refused bundles refused", () => {
    const failed = run([ev.desired(C), ev.written(C), ev.buildFailed(C)], stuckOnB()).state;
    const r = step(failed, ev.retry());
    expect(r.state.bad.map((b) => b.sha256)).toEqual(failed.bad.map((b) => b.sha256));
    expect(redelivers(r.effects)).toBe(true);
    expect(step(r.state, ev.desired(B)).effects).toEqual([expect.objectContaining({ type: "report", phase: "rolled-back", sha256: B.sha256 })]);
  });

  it("a bundle queued while draining is picked up when the lease is lost there", () => {
    const draining = step(reach("confirmed"), ev.desired(B));
    const d = run([ev.written(B), ev.built(B, SYS_B, true), ev.granted(), ev.desired(C)], draining.state).state;
    expect(d).toMatchObject({ phase: "draining", queued: { sha256: C.sha256 } });
    const r = step(d, ev.lost());
    expect(r.state).toMatchObject({ phase: "confirmed", lease: null, queued: null });
    expect(redelivers(r.effects)).toBe(true);
  });
});

describe("secrets that cannot be fetched", () => {
  it("leave a resting node where it is, say why, and neither roll back nor mark anything bad", () => {
    const s = reach("confirmed");
    const r = step(s, { type: "secrets-failed", now: s.updatedAt + 1, revision: B.revision, sha256: B.sha256, error: "coordinator unavailable" });
    const error = `secrets for revision rev-b (bundle ${B.sha256.slice(0, 12)}) could not be fetched: coordinator unavailable; not applied yet, retrying`;
    expect(r.state).toEqual({ ...s, lastError: error, updatedAt: s.updatedAt + 1 });
    expect(r.effects).toEqual([{ type: "persist" }, { type: "report", phase: "confirmed", revision: "rev-a", sha256: A.sha256, error }]);
    // The same failure again changes nothing; the fetch that works starts the apply and clears the error.
    expect(step(r.state, { type: "secrets-failed", now: s.updatedAt + 2, revision: B.revision, sha256: B.sha256, error: "coordinator unavailable" }).effects).toEqual([]);
    const applying = step(r.state, ev.desired(B));
    expect(applying.state).toMatchObject({ phase: "fetched", lastError: null, bad: [] });
  });

  it("do not disturb an apply in flight", () => {
    const s = reach("verifying");
    expect(step(s, { type: "secrets-failed", now: s.updatedAt + 1, revision: B.revision, sha256: B.sha256, error: "x" }).state).toBe(s);
  });
});
