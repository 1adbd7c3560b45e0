// The activation deadline: a switch (or rollback switch) still running then is stopped and the node rolls back.
import { describe, expect, it } from "vitest";
import { A, BOOT1, CFG, INSTALL, SYS_A, desired, ev, reach, run, step, types } from "./test-fixtures.js";

describe("activation deadline", () => {
  it("is armed when a switch starts, from the bundle's timeout or the machine's default", () => {
    const fromDefault = run([ev.started(), ev.desired(A), ev.written(A), ev.built(A, SYS_A)]);
    const last = fromDefault.effects.at(-1)!;
    expect(types(last)).toEqual(["persist", "report", "switch"]);
    expect(fromDefault.state.deadlineAt).toBe(fromDefault.state.updatedAt + CFG.defaultActivationTimeoutMs);
    const d = desired("c", { activationTimeoutMs: 90_000 });
    const own = run([ev.started(), ev.desired(d), ev.written(d), ev.built(d, SYS_A)]);
    expect(own.state.target?.activationTimeoutMs).toBe(90_000);
    expect(own.state.deadlineAt).toBe(own.state.updatedAt + 90_000);
  });

  it("stops the hung switch's unit and rolls back, marking the bundle bad", () => {
    const s = reach("activating");
    const r = step(s, ev.deadline(s.deadlineAt!));
    const error = "activation did not finish within 30 s; stopped it";
    expect(r.effects).toEqual([
      { type: "persist" },
      { type: "abort-pending" },
      { type: "stop-activation", systemPath: SYS_A },
      { type: "report", phase: "rolling-back", revision: "rev-a", sha256: A.sha256, error },
      { type: "rollback-switch", systemPath: INSTALL },
    ]);
    expect(r.state).toMatchObject({ phase: "rolling-back", lastError: error, deadlineAt: s.deadlineAt! + CFG.defaultActivationTimeoutMs });
    expect(r.state.bad.map((b) => [b.sha256, b.reason])).toEqual([[A.sha256, error]]);
  });

  it("stops a hung rollback switch and tries again, then waits for an operator", () => {
    let s = step(reach("activating"), ev.deadline(reach("activating").deadlineAt!)).state;
    for (let attempt = 2; attempt <= CFG.maxRollbackAttempts; attempt++) {
      const r = step(s, ev.deadline(s.deadlineAt!));
      expect(types(r.effects)).toEqual(["persist", "abort-pending", "stop-activation", "report", "rollback-switch"]);
      expect(r.effects[2]).toEqual({ type: "stop-activation", systemPath: INSTALL });
      expect(r.state).toMatchObject({ phase: "rolling-back", attempts: { rollback: attempt } });
      s = r.state;
    }
    const r = step(s, ev.deadline(s.deadlineAt!));
    expect(types(r.effects)).toEqual(["persist", "abort-pending", "stop-activation", "report", "prune-bundles"]);
    expect(r.state).toMatchObject({ phase: "failed", deadlineAt: null, lastError: `rollback failed after ${CFG.maxRollbackAttempts} attempts: rollback activation did not finish within 30 s; stopped it` });
  });

  it("holds across an agent restart: a switch past its deadline is stopped, not joined", () => {
    const s = reach("activating");
    const late = step(s, { type: "agent-started", now: s.deadlineAt! + 1, bootId: BOOT1, currentSystem: INSTALL, bootedSystem: INSTALL });
    expect(types(late.effects)).toEqual(["persist", "abort-pending", "stop-activation", "report", "rollback-switch"]);
    const early = step(s, { type: "agent-started", now: s.deadlineAt! - 1, bootId: BOOT1, currentSystem: INSTALL, bootedSystem: INSTALL });
    expect(types(early.effects)).toEqual(["persist", "report", "switch"]);
    expect(early.state.deadlineAt).toBe(s.deadlineAt);
  });

  it("is replaced by the health deadline once the switch finished", () => {
    const s = reach("activating");
    const r = step(s, ev.activated(SYS_A));
    expect(r.state.phase).toBe("verifying");
    expect(r.state.deadlineAt).toBe(r.state.updatedAt + CFG.defaultHealthDeadlineMs);
    // The old activation deadline is no longer the state's: a late timer for it changes nothing.
    expect(step(r.state, ev.deadline(s.deadlineAt!)).state).toBe(r.state);
  });
});
