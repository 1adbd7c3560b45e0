// Trial boots: the new generation boots once, becomes the default (blessed) only once healthy, and a node that comes
// back on anything else reports that the new generation did not boot.
import { describe, expect, it } from "vitest";
import { A, B, BOOT1, BOOT2, BOOT3, CFG, INSTALL, SYS_A, ev, reach, run, step, types } from "./test-fixtures.js";

describe("trial boots", () => {
  it("keep the last good system as the fallback of every reboot into a new generation", () => {
    const confirmed = reach("confirmed");
    const r = run([ev.desired(B), ev.written(B), ev.built(B, "/nix/store/bbb-sys", true), ev.granted(8), ev.drained(8)], confirmed);
    expect(r.effects.at(-1)?.at(-1)).toEqual({ type: "boot-and-reboot", systemPath: "/nix/store/bbb-sys", sha256: B.sha256, fallback: SYS_A });
  });

  it("roll back with 'did not boot' when the node comes back on the old generation, and never retry that bundle", () => {
    const rebooting = reach("rebooting");
    const back = step(rebooting, ev.started(BOOT2, INSTALL, INSTALL));
    const reason = `did not boot: came back on ${INSTALL} instead of ${SYS_A}`;
    // Already running the old system: a switch back restores the profile and the boot default, no second reboot.
    expect(types(back.effects)).toEqual(["persist", "report", "rollback-switch"]);
    expect(back.effects[1]).toEqual({ type: "report", phase: "rolling-back", revision: "rev-a", sha256: A.sha256, error: reason });
    expect(back.state).toMatchObject({ phase: "rolling-back", lastError: reason });
    expect(back.state.bad.map((b) => [b.sha256, b.reason])).toEqual([[A.sha256, reason]]);
    const done = run([ev.activated(INSTALL), ev.healthy(INSTALL)], back.state);
    expect(done.state.phase).toBe("rolled-back");
    const report = done.effects[1]!.find((e) => e.type === "report");
    expect(report).toEqual({ type: "report", phase: "rolled-back", revision: "rev-a", sha256: A.sha256, error: reason });
    expect(done.effects[1]!.find((e) => e.type === "release-lease")).toMatchObject({ success: false, reason });
    const again = step(done.state, ev.desired(A));
    expect(types(again.effects)).toEqual(["persist", "report"]);
    expect(again.state.phase).toBe("rolled-back");
  });

  it("bless only after health passed, under the lease, with a deadline", () => {
    const verifying = reach("verifying");
    const healthy = step(verifying, ev.healthy());
    expect(types(healthy.effects)).toEqual(["persist", "report", "bless"]);
    expect(healthy.state).toMatchObject({ phase: "blessing", lease: { fencingToken: 7, releasing: false }, deadlineAt: healthy.state.updatedAt + CFG.defaultActivationTimeoutMs });
    const blessed = step(healthy.state, ev.blessed());
    expect(blessed.state).toMatchObject({ phase: "confirmed", applied: { sha256: A.sha256, systemPath: SYS_A }, lease: { releasing: true } });
    // A late result for another system changes nothing.
    expect(step(healthy.state, ev.blessed("/nix/store/other")).state).toBe(healthy.state);
  });

  it("roll back, by rebooting into the old generation, when the new one cannot be made the default", () => {
    const blessing = reach("blessing");
    const r = step(blessing, ev.blessFailed());
    const reason = `could not make ${SYS_A} the boot default: bootctl: Failed to write EFI variable`;
    expect(types(r.effects)).toEqual(["persist", "renew-lease", "report", "rollback-boot-and-reboot"]);
    expect(r.state).toMatchObject({ phase: "rollback-rebooting", lastError: reason });
    expect(r.state.bad.map((b) => b.sha256)).toEqual([A.sha256]);
    const late = step(blessing, ev.deadline(blessing.deadlineAt!));
    expect(late.state.phase).toBe("rollback-rebooting");
    expect(types(late.effects)).toEqual(["persist", "abort-pending", "renew-lease", "report", "rollback-boot-and-reboot"]);
  });

  it("bless again after an agent restart on the same boot, or roll back if the node rebooted into the old one", () => {
    const blessing = reach("blessing");
    const same = step(blessing, ev.started(BOOT2, SYS_A, SYS_A));
    expect(types(same.effects)).toEqual(["persist", "renew-lease", "report", "bless"]);
    expect(same.state).toMatchObject({ phase: "blessing", deadlineAt: blessing.deadlineAt });
    const old = step(blessing, ev.started(BOOT3, INSTALL, INSTALL));
    // Booted the old generation already: a switch back suffices.
    expect(types(old.effects)).toEqual(["persist", "report", "rollback-switch"]);
    expect(old.state).toMatchObject({ phase: "rolling-back", lastError: `running ${INSTALL} instead of ${SYS_A}` });
  });

  it("are not used for a switch: a harmless change is confirmed without blessing", () => {
    const r = run([ev.started(BOOT1, INSTALL), ev.desired(A), ev.written(A), ev.built(A, SYS_A), ev.activated(SYS_A), ev.healthy(SYS_A)]);
    expect(r.state.phase).toBe("confirmed");
    expect(r.effects.flat().some((e) => e.type === "bless")).toBe(false);
  });
});
