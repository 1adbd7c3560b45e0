// The API VIP leaves a node before anything disrupts it and comes back only once its lease was given back.
import { describe, expect, it } from "vitest";
import { A, BOOT1, BOOT2, INSTALL, SYS_A, SYS_B, ev, reach, run, step, types } from "./test-fixtures.js";

describe("VIP hand-over", () => {
  it("hands the VIP over before the drain of a reboot, and rejoins only when the release is acknowledged", () => {
    const { state, effects } = run([ev.started(), ev.desired(), ev.written(), ev.built(A, SYS_A, true), ev.granted(), ev.drained()]);
    const granted = types(effects[4]!);
    expect(granted).toEqual(["persist", "hand-over-vip", "renew-lease", "report", "drain"]);
    // Nothing rejoins while the node is being disrupted (only the first start, at rest, makes sure it takes part).
    expect(types(effects[0]!)).toContain("rejoin-vip");
    expect(effects.slice(1).flat().some((e) => e.type === "rejoin-vip")).toBe(false);

    const back = run([ev.started(BOOT2, SYS_A), ev.healthy(), ev.blessed()], state);
    expect(back.state).toMatchObject({ phase: "confirmed", lease: { releasing: true } });
    expect(back.effects.flat().some((e) => e.type === "rejoin-vip" || e.type === "hand-over-vip")).toBe(false);
    // The coordinator acknowledges the release after it uncordoned the node: only now may it carry the VIP again.
    const released = step(back.state, ev.released());
    expect(types(released.effects)).toEqual(["persist", "rejoin-vip"]);
    expect(released.state.lease).toBeNull();
  });

  it("hands the VIP over before a switch that restarts services", () => {
    const { effects } = run([ev.started(BOOT1, SYS_B), ev.desired(), ev.written(), ev.built(A, SYS_A, false, ["k3s.service"]), ev.granted(3)]);
    expect(types(effects[4]!)).toEqual(["persist", "hand-over-vip", "report", "switch"]);
  });

  it("does not hand over for a harmless switch, which takes no lease", () => {
    const { effects } = run([ev.started(), ev.desired(), ev.written(), ev.built(), ev.activated(), ev.healthy()]);
    expect(effects.slice(1).flat().some((e) => e.type === "hand-over-vip" || e.type === "rejoin-vip")).toBe(false);
  });

  it("rejoins at an agent start at rest (a kill may have fallen between the release and the rejoin), not while disrupted or stuck", () => {
    const confirmed = reach("confirmed");
    expect(types(step(confirmed, ev.started(BOOT2, SYS_A)).effects)).toContain("rejoin-vip");
    expect(types(step(reach("rebooting"), ev.started(BOOT2, SYS_A)).effects)).not.toContain("rejoin-vip");
    expect(types(step(reach("draining"), ev.started(BOOT1, INSTALL)).effects)).not.toContain("rejoin-vip");
  });

  it("rejoins after a rollback, and after a drain that failed, once the lease is back", () => {
    expect(types(step(run([...[ev.started(), ev.desired(), ev.written()], ev.built(A, SYS_A, true), ev.granted(), ev.drainFailed()]).state, ev.released()).effects)).toEqual(["persist", "rejoin-vip"]);
    const rolledBack = reach("rolled-back");
    expect(rolledBack.lease).toBeNull();
    // reach() went through the acknowledged release; the same release again changes nothing.
    expect(step(rolledBack, ev.released()).effects).toEqual([]);
  });

  it("keeps a stuck node handed over (its rollback failed; an operator acts)", () => {
    const rollingBack = run([ev.started(), ev.desired(), ev.written(), ev.built(A, SYS_A, false, ["k3s.service"]), ev.granted(), ev.activationFailed()]).state;
    expect(rollingBack.phase).toBe("rolling-back");
    // Every rollback attempt fails until the limit: the node is stuck.
    let final = rollingBack;
    for (let i = 0; i < 10 && final.phase !== "failed"; i++) final = step(final, ev.activationFailed(INSTALL)).state;
    expect(final).toMatchObject({ phase: "failed", lease: { releasing: false } });
    // An operator's force release reaches a stuck node as lease-released: it stays out of the VIP election.
    const released = step(final, ev.released());
    expect(released.state.lease).toBeNull();
    expect(types(released.effects)).not.toContain("rejoin-vip");
  });
});
