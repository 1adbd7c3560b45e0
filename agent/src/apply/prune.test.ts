// Pruning old bundles: when the apply state machine asks for it and what it keeps.
import { describe, expect, it } from "vitest";
import type { Effect } from "./effect.js";
import { A, B, BOOT1, BOOT2, INSTALL, SYS_A, SYS_B, ev, reach, run, step } from "./test-fixtures.js";

const prunes = (effects: readonly Effect[]) => effects.filter((e) => e.type === "prune-bundles");

describe("prune-bundles", () => {
  it("comes once an apply is confirmed, keeping the applied and previous bundles and the running, booted, last good and previous systems", () => {
    const first = run([ev.started(BOOT1, INSTALL), ev.desired(A), ev.written(A), ev.built(A, SYS_A), ev.activated(SYS_A), ev.healthy(SYS_A)]);
    expect(prunes(first.effects.at(-1)!)).toEqual([{ type: "prune-bundles", keepSha256s: [A.sha256], keepSystems: [INSTALL, SYS_A].sort() }]);
    // Nothing is pruned in the middle of an apply.
    const second = run([ev.desired(B), ev.written(B), ev.built(B, SYS_B), ev.activated(SYS_B)], first.state);
    expect(second.effects.flatMap(prunes)).toEqual([]);
    const done = step(second.state, ev.healthy(SYS_B));
    // A's bundle and system stay while A is the generation before: a guard rollback goes back to it.
    expect(prunes(done.effects)).toEqual([{ type: "prune-bundles", keepSha256s: [A.sha256, B.sha256].sort(), keepSystems: [INSTALL, SYS_A, SYS_B].sort() }]);
  });

  it("comes at every agent start at rest", () => {
    const r = step(reach("confirmed"), ev.started(BOOT2, SYS_A));
    expect(prunes(r.effects)).toEqual([{ type: "prune-bundles", keepSha256s: [A.sha256], keepSystems: [SYS_A] }]);
  });

  it("keeps the bundle and both systems of a node stuck after a failed rollback", () => {
    const stuck = step(reach("rollback-verifying"), ev.unhealthy(INSTALL));
    expect(stuck.state.phase).toBe("failed");
    expect(prunes(stuck.effects)).toEqual([{ type: "prune-bundles", keepSha256s: [A.sha256], keepSystems: [INSTALL, SYS_A].sort() }]);
  });

  it("comes after a failed build, which leaves a bundle directory without a result", () => {
    const r = step(reach("building"), ev.buildFailed());
    expect(r.state.phase).toBe("failed");
    expect(prunes(r.effects)).toEqual([{ type: "prune-bundles", keepSha256s: [], keepSystems: [INSTALL] }]);
  });

  it("is not asked for by a refusal that leaves a resting node at rest", () => {
    const failed = reach("failed");
    const r = step(failed, ev.desired(A));
    expect(r.effects.length).toBeGreaterThan(0);
    expect(prunes(r.effects)).toEqual([]);
  });
});
