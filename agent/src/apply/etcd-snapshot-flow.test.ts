// An embedded-etcd server saves an etcd snapshot under its lease before anything is disrupted; a failure disrupts nothing.
import { describe, expect, it } from "vitest";
import { A_SNAP, BOOT1, INSTALL, SYS_A, desired, ev, run, step, types } from "./test-fixtures.js";

const NAME = "nk-rev-a-n1";
const upToGrant = (d = A_SNAP, rebootNeeded = true, units: string[] = []) => [ev.started(), ev.desired(d), ev.written(d), ev.built(d, SYS_A, rebootNeeded, units), ev.granted()];

describe("etcd snapshot before the disruption", () => {
  it("takes the snapshot after the grant, then drains, announcing the snapshot with the draining renewal", () => {
    const { state, effects } = run(upToGrant());
    expect(state.phase).toBe("snapshotting");
    expect(state.lease).toEqual({ fencingToken: 7, kind: "reboot", releasing: false });
    const granted = effects.at(-1)!;
    // Nothing that disrupts (VIP hand-over, drain, renewal into draining) before the snapshot is saved.
    expect(types(granted)).toEqual(["persist", "report", "etcd-snapshot"]);
    expect(granted[1]).toMatchObject({ type: "report", phase: "snapshotting", note: `saving etcd snapshot ${NAME} before the drain` });
    expect(granted[2]).toEqual({ type: "etcd-snapshot", name: NAME, fencingToken: 7 });

    const saved = step(state, ev.snapshotSaved());
    expect(saved.state.phase).toBe("draining");
    expect(types(saved.effects)).toEqual(["persist", "hand-over-vip", "renew-lease", "report", "drain"]);
    expect(saved.effects[2]).toEqual({ type: "renew-lease", fencingToken: 7, state: "draining", etcdSnapshot: NAME });
  });

  it("before a k3s restart (service-restart lease) the snapshot goes with a plain renewal, then the switch", () => {
    const { state } = run(upToGrant(A_SNAP, false, ["k3s.service"]));
    expect(state.phase).toBe("snapshotting");
    const saved = step(state, ev.snapshotSaved());
    expect(saved.state.phase).toBe("activating");
    expect(types(saved.effects)).toEqual(["persist", "hand-over-vip", "renew-lease", "report", "switch"]);
    expect(saved.effects[2]).toEqual({ type: "renew-lease", fencingToken: 7, state: "granted", etcdSnapshot: NAME });
  });

  it("a failed snapshot gives the lease back as failed, with the command's error, and touches nothing", () => {
    const { state } = run(upToGrant());
    const failed = step(state, ev.snapshotFailed());
    const error = `etcd snapshot ${NAME} failed: k3s etcd-snapshot save exited with 1: etcd not ready`;
    expect(failed.state).toMatchObject({ phase: "idle", target: null, lastError: error, lease: { fencingToken: 7, releasing: true } });
    expect(types(failed.effects)).toEqual(["persist", "report", "release-lease", "prune-bundles"]);
    expect(failed.effects[1]).toMatchObject({ type: "report", phase: "idle", error });
    expect(failed.effects[2]).toEqual({ type: "release-lease", fencingToken: 7, success: false, reason: error });
  });

  it("ignores a snapshot result for another lease or another name", () => {
    const { state } = run(upToGrant());
    expect(step(state, ev.snapshotSaved(NAME, 8)).state).toBe(state);
    expect(step(state, ev.snapshotFailed("nk-other-n1")).state).toBe(state);
  });

  it("an agent restart while snapshotting saves again under the same lease", () => {
    const { state } = run(upToGrant());
    const resumed = step(state, ev.started(BOOT1, INSTALL));
    expect(resumed.state.phase).toBe("snapshotting");
    expect(resumed.effects.at(-1)).toEqual({ type: "etcd-snapshot", name: NAME, fencingToken: 7 });
  });

  it("a lease lost while snapshotting abandons the apply before anything is disrupted", () => {
    const { state } = run(upToGrant());
    const lost = step(state, ev.lost());
    expect(lost.state).toMatchObject({ phase: "idle", target: null, lease: null });
    expect(types(lost.effects)).toEqual(["persist", "abort-pending", "report", "prune-bundles"]);
  });

  it("a node without a snapshot to take drains at once", () => {
    const { state } = run(upToGrant(desired("a")));
    expect(state.phase).toBe("draining");
  });
});
