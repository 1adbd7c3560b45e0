// Disruption windows (cordon to uncordon, per node) from the fake apiserver's own record of the calls it got.
import type { FakeKubeApiserver } from "../../coordinator/src/kube/fake-kube-apiserver.js";

export interface DisruptionWindow {
  readonly node: string;
  readonly fromMs: number;
  /** Infinity while still cordoned. */
  readonly toMs: number;
}

/** From the fake apiserver's own record: cordon (drain start) to uncordon, per node. */
export function disruptionWindows(kube: FakeKubeApiserver): DisruptionWindow[] {
  const open = new Map<string, number>();
  const windows: DisruptionWindow[] = [];
  for (const r of kube.calls("PATCH", "/api/v1/nodes/")) {
    const node = r.path.split("/").pop()!;
    const unschedulable = (r.body as { spec?: { unschedulable?: boolean | null } }).spec?.unschedulable;
    if (unschedulable === true && !open.has(node)) open.set(node, r.atMs);
    if (unschedulable !== true && open.has(node)) {
      windows.push({ node, fromMs: open.get(node)!, toMs: r.atMs });
      open.delete(node);
    }
  }
  for (const [node, fromMs] of open) windows.push({ node, fromMs, toMs: Infinity });
  return windows;
}

/** Largest number of windows open at one instant. */
export function maxConcurrent(windows: readonly DisruptionWindow[]): number {
  const points = windows.flatMap((w) => [{ t: w.fromMs, d: 1 }, { t: w.toMs, d: -1 }]).sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const p of points) max = Math.max(max, (now += p.d));
  return max;
}
