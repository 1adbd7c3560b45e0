// The preview machine: one at a time, newest wins, a real apply cancels it, and none of its effects is an apply step.
import { describe, expect, it } from "vitest";
import { PHASES } from "../apply/agent-state.js";
import { LONG_EFFECTS } from "../apply/effect.js";
import { PREVIEW_IDLE, previewTransition, type PreviewEffect, type PreviewEvent, type PreviewJob, type PreviewState } from "./preview-transition.js";

function job(name: string, letter = "a"): PreviewJob {
  return { name, sha256: letter.repeat(64), revision: `rev-${letter}`, files: [{ path: "flake.nix", content: `{ /* ${letter} */ }` }], rebootPolicy: "auto" };
}

const PREVIEW_EFFECTS = new Set(["run", "abort", "report", "remove"]);

/** Runs events from `start`, checking every step's effects are preview effects only. */
function run(events: PreviewEvent[], start: PreviewState = PREVIEW_IDLE): { state: PreviewState; effects: PreviewEffect[] } {
  let state = start;
  const all: PreviewEffect[] = [];
  for (const e of events) {
    const r = previewTransition(state, e);
    for (const effect of r.effects) {
      expect(PREVIEW_EFFECTS.has(effect.type), `${effect.type} is not a preview effect`).toBe(true);
      // No apply effect (switch, boot-and-reboot, request-lease, drain, persist ...) can ever come out of it.
      expect(LONG_EFFECTS.has(effect.type as never)).toBe(false);
      expect(effect.type).not.toBe("persist");
    }
    // Its state has no phase of the apply machine.
    expect(Object.keys(r.state).sort()).toEqual(["applyBusy", "last", "running", "waiting"]);
    expect(PHASES as readonly string[]).not.toContain((r.state as unknown as { phase?: string }).phase);
    state = r.state;
    all.push(...r.effects);
  }
  return { state, effects: all };
}

const reports = (effects: PreviewEffect[]) => effects.flatMap((e) => (e.type === "report" ? [`${e.result.name}:${e.result.outcome}`] : []));
const types = (effects: PreviewEffect[]) => effects.map((e) => e.type);

describe("previewTransition", () => {
  it("starts a requested preview at once: cleans older builds, reports building, runs", () => {
    const r = run([{ type: "requested", job: job("p1") }]);
    expect(types(r.effects)).toEqual(["remove", "report", "run"]);
    expect(r.effects[0]).toEqual({ type: "remove", keep: "p1" });
    expect(reports(r.effects)).toEqual(["p1:building"]);
    expect(r.state.running?.name).toBe("p1");
  });

  it("reports the finished result and keeps it; a redelivery re-reports without building again", () => {
    const done = { name: "p1", sha256: "a".repeat(64), outcome: "reboot" as const, reason: "reboot: kernel a → b", units: [], changes: [], logTail: "", systemPath: "/nix/store/x" };
    const r = run([{ type: "requested", job: job("p1") }, { type: "finished", result: done }]);
    expect(r.state.running).toBeNull();
    expect(r.state.last).toEqual(done);
    const again = run([{ type: "requested", job: job("p1") }], r.state);
    expect(again.effects).toEqual([{ type: "report", result: done }]);
  });

  it("ignores the same preview delivered twice while it runs, and stale results", () => {
    const r = run([{ type: "requested", job: job("p1") }, { type: "requested", job: job("p1") }]);
    expect(types(r.effects)).toEqual(["remove", "report", "run"]);
    const stale = run([{ type: "finished", result: { name: "p0", sha256: "z".repeat(64), outcome: "switch", reason: "", units: [], changes: [], logTail: "", systemPath: "" } }], r.state);
    expect(stale.effects).toEqual([]);
    expect(stale.state).toBe(r.state);
  });

  it("a newer preview cancels the running one: abort, report cancelled, then start the new one", () => {
    const r = run([{ type: "requested", job: job("p1") }, { type: "requested", job: job("p2", "b") }]);
    const second = r.effects.slice(3);
    expect(types(second)).toEqual(["abort", "report", "remove", "report", "run"]);
    expect(reports(second)).toEqual(["p1:cancelled", "p2:building"]);
    expect(second[2]).toEqual({ type: "remove", keep: "p2" });
    expect(r.state.running?.name).toBe("p2");
  });

  it("a real apply cancels the running preview and a preview waits for an apply in flight", () => {
    const r = run([{ type: "requested", job: job("p1") }, { type: "apply-busy", busy: true }]);
    expect(reports(r.effects.slice(3))).toEqual(["p1:cancelled"]);
    expect(r.effects.find((e) => e.type === "report" && e.result.outcome === "cancelled")).toMatchObject({ result: { reason: "a real apply started on this node" } });
    expect(r.state).toMatchObject({ running: null, applyBusy: true });

    const waiting = run([{ type: "requested", job: job("p2", "b") }], r.state);
    expect(reports(waiting.effects)).toEqual(["p2:pending"]);
    expect(types(waiting.effects)).not.toContain("run");
    const rested = run([{ type: "apply-busy", busy: false }], waiting.state);
    expect(types(rested.effects)).toEqual(["remove", "report", "run"]);
    expect(rested.state).toMatchObject({ running: { name: "p2" }, waiting: null, applyBusy: false });
  });

  it("a delete cancels the preview and removes its build; a delete of another keeps the running one's", () => {
    const r = run([{ type: "requested", job: job("p1") }, { type: "cancel-requested", name: "p1", reason: "deleted" }]);
    expect(types(r.effects.slice(3))).toEqual(["abort", "report", "remove"]);
    expect(r.effects.at(-1)).toEqual({ type: "remove", keep: null });
    const other = run([{ type: "requested", job: job("p2", "b") }, { type: "cancel-requested", name: "p1", reason: "deleted" }]);
    expect(other.effects.at(-1)).toEqual({ type: "remove", keep: "p2" });
    expect(other.state.running?.name).toBe("p2");
  });

  it("an apply going busy or resting with no preview changes nothing but the flag", () => {
    const r = run([{ type: "apply-busy", busy: true }, { type: "apply-busy", busy: true }, { type: "apply-busy", busy: false }]);
    expect(r.effects).toEqual([]);
    expect(r.state).toEqual(PREVIEW_IDLE);
  });
});
