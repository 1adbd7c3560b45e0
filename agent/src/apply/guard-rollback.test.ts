// agent-started after the self-update guard switched the machine back: the generation it left is refused, not confirmed.
import { describe, expect, it } from "vitest";
import type { AgentState } from "./agent-state.js";
import type { AgentEvent } from "./agent-event.js";
import type { Effect } from "./effect.js";
import { reportSubject } from "./report-subject.js";
import { A, B, BOOT1, BOOT2, INSTALL, SYS_A, SYS_B, T0, ev, reach, run, step, types } from "./test-fixtures.js";

const REASON = "agent /nix/store/pkg-nk-agent-2 never wrote alive.json within 900 s";
const guardStart = (from: string, currentSystem: string, bootId = BOOT1, bootedSystem = currentSystem, now = T0 + 10_000_000): AgentEvent => ({
  type: "agent-started",
  now,
  bootId,
  currentSystem,
  bootedSystem,
  guardRolledBack: { from, reason: REASON },
});
const reports = (effects: readonly Effect[]) => effects.filter((e): e is Extract<Effect, { type: "report" }> => e.type === "report");

/** A confirmed (trial boot of SYS_A), then B confirmed by a plain switch to SYS_B: the update whose agent later fails. */
function confirmedOnB(): AgentState {
  const { state } = run([ev.desired(B), ev.written(B), ev.built(B, SYS_B), ev.activated(SYS_B), ev.healthy(SYS_B)], reach("confirmed"));
  expect(state).toMatchObject({ phase: "confirmed", applied: { sha256: B.sha256, systemPath: SYS_B }, previous: { sha256: A.sha256, systemPath: SYS_A } });
  return state;
}

describe("the generation before the applied one", () => {
  it("is kept when a confirmed bundle runs another system, and stays when a new bundle builds the same system", () => {
    const onB = confirmedOnB();
    const B2 = { ...B, revision: "rev-b2", sha256: "c".repeat(64) };
    const { state } = run([ev.desired(B2), ev.written(B2), ev.built(B2, SYS_B)], onB);
    expect(state).toMatchObject({ phase: "confirmed", applied: { sha256: B2.sha256, systemPath: SYS_B }, previous: { sha256: A.sha256, systemPath: SYS_A } });
  });
});

describe("after a guard rollback", () => {
  it("rests rolled back on the previous generation, refuses the bundle whose agent never came up and reports it", () => {
    const r = step(confirmedOnB(), guardStart(SYS_B, SYS_A));
    expect(r.state).toMatchObject({ phase: "rolled-back", applied: { sha256: A.sha256, systemPath: SYS_A }, previous: null, lastError: `self-update guard rolled back ${SYS_B}: ${REASON}` });
    expect(r.state.bad.map((b) => [b.sha256, b.reason])).toEqual([[B.sha256, `self-update guard rolled back ${SYS_B}: ${REASON}`]]);
    expect(reports(r.effects)).toEqual([{ type: "report", phase: "rolled-back", revision: B.revision, sha256: B.sha256, error: `self-update guard rolled back ${SYS_B}: ${REASON}` }]);
    // Heartbeats name the bundle rolled back from, as the coordinator reads "rolled-back".
    expect(reportSubject(r.state, null)).toEqual({ revision: B.revision, sha256: B.sha256 });
    // The same bundle pushed again is refused; a revert to A is confirmed at once (it is what runs).
    const again = step(r.state, ev.desired(B));
    expect(types(again.effects)).not.toContain("write-bundle");
    expect(again.state.phase).toBe("rolled-back");
    const revert = step(r.state, ev.desired({ ...A, revision: "rev-revert" }));
    expect(revert.state).toMatchObject({ phase: "confirmed", applied: { sha256: A.sha256, revision: "rev-revert", systemPath: SYS_A } });
  });

  it("without a known previous generation, rests rolled back on none and lets the next apply roll back to what runs", () => {
    const onA = reach("confirmed");
    expect(onA.previous).toBeNull();
    const r = step(onA, guardStart(SYS_A, INSTALL, BOOT2, SYS_A));
    expect(r.state).toMatchObject({ phase: "rolled-back", applied: null });
    expect(reports(r.effects)[0]).toMatchObject({ phase: "rolled-back", sha256: A.sha256, note: `running ${INSTALL}, which nk did not confirm before ${A.revision}` });
    expect(r.state.bad.map((b) => b.sha256)).toEqual([A.sha256]);
    const next = run([ev.desired(B), ev.written(B)], r.state).state;
    expect(next.target?.rollbackTo).toBe(INSTALL);
  });

  it("rests on none when the guard went back to a generation other than the previous one (a manual rebuild between)", () => {
    const r = step(confirmedOnB(), guardStart(SYS_B, INSTALL));
    expect(r.state).toMatchObject({ phase: "rolled-back", applied: null, previous: null });
    expect(r.state.bad.map((b) => b.sha256)).toEqual([B.sha256]);
  });

  it("refuses the confirmed bundle also while a later bundle was in flight, and points that apply's rollback at what runs", () => {
    // C queued behind B was picked up as B was confirmed; the agent restarted into B's agent, which never came up.
    const C = { ...B, revision: "rev-c", sha256: "c".repeat(64) };
    const building = run([ev.desired(C), ev.written(C)], confirmedOnB()).state;
    expect(building).toMatchObject({ phase: "building", target: { sha256: C.sha256, rollbackTo: SYS_B } });
    const r = step({ ...building, lastError: "secrets for revision rev-c could not be fetched" }, guardStart(SYS_B, SYS_A));
    expect(r.state).toMatchObject({ phase: "building", applied: { sha256: A.sha256 }, target: { sha256: C.sha256, rollbackTo: SYS_A } });
    expect(r.state.bad.map((b) => [b.sha256, b.reason])).toEqual([[B.sha256, `self-update guard rolled back ${SYS_B}: ${REASON}`]]);
    // The apply under way keeps its own error; the guard's reason is on B's entry.
    expect(r.state.lastError).toBe("secrets for revision rev-c could not be fetched");
    // Interrupted before its build, it rests on A (what runs), with B refused.
    const fetched = run([ev.desired(C)], confirmedOnB()).state;
    expect(fetched.phase).toBe("fetched");
    const f = step(fetched, guardStart(SYS_B, SYS_A));
    expect(f.state).toMatchObject({ phase: "confirmed", applied: { sha256: A.sha256, systemPath: SYS_A } });
    expect(f.state.bad.map((b) => b.sha256)).toEqual([B.sha256]);
  });

  it("keeps the previous generation's bundle on disk, for its checks and a guard rollback to it", () => {
    const onB = confirmedOnB();
    const prune = run([ev.started(BOOT1, SYS_B)], onB).effects[0]!.find((e) => e.type === "prune-bundles");
    expect(prune).toMatchObject({ keepSha256s: expect.arrayContaining([A.sha256, B.sha256]), keepSystems: expect.arrayContaining([SYS_A, SYS_B]) });
  });

  it("ends an apply in flight on the system the guard left: no switch to it again, the rollback run and the bundle refused", () => {
    // Verifying B after its switch: the old agent died, the new one never came up, the guard went back to A's system.
    const verifying = run([ev.desired(B), ev.written(B), ev.built(B, SYS_B), ev.activated(SYS_B)], reach("confirmed")).state;
    expect(verifying.phase).toBe("verifying");
    const r = step(verifying, guardStart(SYS_B, SYS_A));
    expect(r.state.phase).toBe("rolling-back");
    expect(r.state.bad.map((b) => b.sha256)).toEqual([B.sha256]);
    expect(r.effects.find((e) => e.type === "rollback-switch")).toEqual({ type: "rollback-switch", systemPath: SYS_A });
    const done = run([ev.activated(SYS_A), ev.healthy(SYS_A)], r.state).state;
    expect(done).toMatchObject({ phase: "rolled-back", applied: { sha256: A.sha256, systemPath: SYS_A } });
    // Activating B when the agent died (the switch had not made B current), well before the switch's deadline: the
    // switch is not issued again.
    const activating = run([ev.desired(B), ev.written(B), ev.built(B, SYS_B)], reach("confirmed")).state;
    expect(activating.phase).toBe("activating");
    const a = step(activating, guardStart(SYS_B, SYS_A, BOOT1, SYS_A, (activating.deadlineAt ?? 0) - 5_000));
    expect(types(a.effects)).not.toContain("switch");
    expect(a.state.phase).toBe("rolling-back");
    expect(a.state.bad.map((b) => b.sha256)).toEqual([B.sha256]);
  });

  it("keeps a stuck node's own error, whichever system the guard's note names", () => {
    const stuckNode = { ...confirmedOnB(), phase: "failed" as const, target: run([ev.desired(A), ev.written(A)], confirmedOnB()).state.target, lastError: "unhealthy after rollback: k3s inactive" };
    const r = step(stuckNode, guardStart("/nix/store/zzz-nixos-system-by-hand", SYS_B));
    expect(r.state.lastError).toBe("unhealthy after rollback: k3s inactive");
    // Also when the note names its confirmed generation: that bundle is refused, the node stays stuck with its error.
    const own = step(stuckNode, guardStart(SYS_B, SYS_A));
    expect(own.state).toMatchObject({ phase: "failed", lastError: "unhealthy after rollback: k3s inactive", applied: { sha256: A.sha256 } });
    expect(own.state.bad.map((b) => b.sha256)).toEqual([B.sha256]);
  });

  it("keeps a confirmed node as it is when the guard undid a system nk did not apply, and says so", () => {
    const onB = confirmedOnB();
    const r = step(onB, guardStart("/nix/store/zzz-nixos-system-by-hand", SYS_B));
    expect(r.state).toMatchObject({ phase: "confirmed", applied: onB.applied, bad: [], lastError: `self-update guard rolled back /nix/store/zzz-nixos-system-by-hand: ${REASON}` });
    expect(reports(r.effects)[0]).toMatchObject({ phase: "confirmed", sha256: B.sha256, error: `self-update guard rolled back /nix/store/zzz-nixos-system-by-hand: ${REASON}` });
  });
});
