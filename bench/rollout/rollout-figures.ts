// Pure arithmetic of the rollout benchmark: makespan, ideal, overhead, and where the time between disruptions goes.
import type { DisruptionWindow } from "../../test/support/disruption-windows.js";
import { median } from "../render/measure.js";

export interface Stamp {
  readonly node: string;
  readonly atMs: number;
}

/** What happened between one node's uncordon and the next node's cordon (max_unavailable 1). */
export interface Gap {
  readonly from: string;
  readonly to: string;
  readonly totalMs: number;
  /** Uncordon PATCH → the coordinator logged the release. */
  readonly releaseMs: number;
  /** Release → next grant durable. */
  readonly grantMs: number;
  /** Grant → the holder announced "draining" (stream to the agent, its RenewLease). */
  readonly announceMs: number;
  /** "draining" → cordon PATCH at the apiserver. */
  readonly cordonMs: number;
}

export interface RunFigures {
  readonly nodes: number;
  readonly parallelism: number;
  /** First cordon → last uncordon. */
  readonly makespanMs: number;
  /** Sum of the windows (cordon → uncordon) / parallelism. */
  readonly idealMs: number;
  /** makespan / ideal − 1. */
  readonly overhead: number;
  readonly windowMedianMs: number;
  readonly gaps: readonly Gap[];
  /** latencyMs of grants triggered by a release (onGrant's figure, from the coordinator log). */
  readonly releaseGrantLatencyMs: readonly number[];
  /** latencyMs of the grant triggered by the health recovery. */
  readonly recoveryGrantLatencyMs: number;
  readonly recoveryTrigger: string;
  /** Health recovery written on the node → first cordon at the apiserver (includes the agent's report interval). */
  readonly recoveryToCordonMs: number;
}

export function makespan(windows: readonly DisruptionWindow[]): number {
  return Math.max(...windows.map((w) => w.toMs)) - Math.min(...windows.map((w) => w.fromMs));
}

export function ideal(windows: readonly DisruptionWindow[], parallelism: number): number {
  return windows.reduce((sum, w) => sum + (w.toMs - w.fromMs), 0) / parallelism;
}

/** The first stamp of `node` at or after `atMs`. */
function next(stamps: readonly Stamp[], node: string, atMs: number): number | undefined {
  return stamps.find((s) => s.node === node && s.atMs >= atMs)?.atMs;
}

/** Consecutive windows in cordon order, each gap split by the coordinator's own stamps. */
export function gaps(windows: readonly DisruptionWindow[], stamps: { released: readonly Stamp[]; granted: readonly Stamp[]; draining: readonly Stamp[] }): Gap[] {
  const ordered = [...windows].sort((a, b) => a.fromMs - b.fromMs);
  const out: Gap[] = [];
  for (let i = 1; i < ordered.length; i++) {
    const a = ordered[i - 1]!;
    const b = ordered[i]!;
    const released = next(stamps.released, a.node, a.toMs - 1) ?? a.toMs;
    const granted = next(stamps.granted, b.node, released - 1) ?? released;
    const draining = next(stamps.draining, b.node, granted - 1) ?? granted;
    out.push({ from: a.node, to: b.node, totalMs: b.fromMs - a.toMs, releaseMs: released - a.toMs, grantMs: granted - released, announceMs: draining - granted, cordonMs: b.fromMs - draining });
  }
  return out;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

export { median };
