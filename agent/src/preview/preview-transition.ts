// The pure preview machine: one build-only preview at a time, newest wins, a real apply cancels it. It has no
// apply phases, holds no lease and never touches the apply state; its effects only build, report and clean up.
import type { RebootPolicy } from "../apply/agent-state.js";
import type { BundleFile } from "../../../shared/src/render/index.js";
import type { PreviewResult } from "../../../shared/src/wire/index.js";

export interface PreviewJob {
  readonly name: string;
  readonly sha256: string;
  readonly revision: string;
  readonly files: readonly BundleFile[];
  readonly rebootPolicy: RebootPolicy;
}

export interface PreviewState {
  readonly running: PreviewJob | null;
  /** Arrived while an apply was in flight: starts once the apply rests. */
  readonly waiting: PreviewJob | null;
  readonly applyBusy: boolean;
  /** The last finished result, re-reported when the same preview is delivered again (after a reconnect). */
  readonly last: PreviewResult | null;
}

export type PreviewEvent =
  | { readonly type: "requested"; readonly job: PreviewJob }
  | { readonly type: "cancel-requested"; readonly name: string; readonly reason: string }
  | { readonly type: "apply-busy"; readonly busy: boolean }
  | { readonly type: "finished"; readonly result: PreviewResult };

export type PreviewEffect =
  | { readonly type: "run"; readonly job: PreviewJob }
  /** Stop the running build and wait until it stopped. */
  | { readonly type: "abort" }
  | { readonly type: "report"; readonly result: PreviewResult }
  /** Remove every preview directory (and with it its GC root) except `keep`'s. */
  | { readonly type: "remove"; readonly keep: string | null };

export const PREVIEW_IDLE: PreviewState = { running: null, waiting: null, applyBusy: false, last: null };

export interface PreviewStep {
  readonly state: PreviewState;
  readonly effects: readonly PreviewEffect[];
}

function same(a: { name: string; sha256: string } | null, b: { name: string; sha256: string }): boolean {
  return a !== null && a.name === b.name && a.sha256 === b.sha256;
}

function result(job: PreviewJob, outcome: PreviewResult["outcome"], reason: string): PreviewResult {
  return { name: job.name, sha256: job.sha256, outcome, reason, units: [], changes: [], logTail: "", systemPath: "" };
}

function cancelled(job: PreviewJob, reason: string): PreviewEffect {
  return { type: "report", result: result(job, "cancelled", reason) };
}

function start(s: PreviewState, job: PreviewJob, pre: PreviewEffect[]): PreviewStep {
  return {
    state: { ...s, running: job, waiting: null },
    effects: [...pre, { type: "remove", keep: job.name }, { type: "report", result: result(job, "building", "building at low priority") }, { type: "run", job }],
  };
}

export function previewTransition(s: PreviewState, e: PreviewEvent): PreviewStep {
  switch (e.type) {
    case "requested": {
      if (same(s.running, e.job) || same(s.waiting, e.job)) return { state: s, effects: [] };
      if (s.last && same(s.last, e.job)) return { state: s, effects: [{ type: "report", result: s.last }] };
      const why = `superseded by preview ${e.job.name}`;
      const pre: PreviewEffect[] = [];
      if (s.running) pre.push({ type: "abort" }, cancelled(s.running, why));
      if (s.waiting) pre.push(cancelled(s.waiting, why));
      const next: PreviewState = { ...s, running: null, waiting: null, last: null };
      if (!s.applyBusy) return start(next, e.job, pre);
      return { state: { ...next, waiting: e.job }, effects: [...pre, { type: "report", result: result(e.job, "pending", "waits for the apply in progress to finish") }] };
    }
    case "cancel-requested": {
      const pre: PreviewEffect[] = [];
      let next = s;
      if (s.running?.name === e.name) {
        pre.push({ type: "abort" }, cancelled(s.running, e.reason));
        next = { ...next, running: null };
      }
      if (s.waiting?.name === e.name) next = { ...next, waiting: null };
      if (s.last?.name === e.name) next = { ...next, last: null };
      return { state: next, effects: [...pre, { type: "remove", keep: next.running?.name ?? next.waiting?.name ?? next.last?.name ?? null }] };
    }
    case "apply-busy": {
      if (e.busy === s.applyBusy) return { state: s, effects: [] };
      if (e.busy) {
        if (!s.running) return { state: { ...s, applyBusy: true }, effects: [] };
        return { state: { ...s, applyBusy: true, running: null }, effects: [{ type: "abort" }, cancelled(s.running, "a real apply started on this node")] };
      }
      const rested: PreviewState = { ...s, applyBusy: false };
      return s.waiting ? start(rested, s.waiting, []) : { state: rested, effects: [] };
    }
    case "finished":
      if (!same(s.running, e.result)) return { state: s, effects: [] };
      return { state: { ...s, running: null, last: e.result }, effects: [{ type: "report", result: e.result }] };
  }
}
