// Node registry changes applied to the in-memory state (no I/O; the caller persists).
import { NkError } from "../../../shared/src/errors/index.js";
import type { StoreState } from "./state-codec.js";
import type { DesiredGuard, RevisionRef, RolloutRecord } from "./store.js";

export function sameRef(a: RevisionRef | undefined, b: RevisionRef): boolean {
  return a !== undefined && a.revision === b.revision && a.sha256 === b.sha256;
}

/** A guarded write of desired bundles goes ahead only while the rollout is still on the guard's revision. */
export function assertRolloutAt(rollout: RolloutRecord, guard: DesiredGuard): void {
  if (rollout.revision === guard.revision) return;
  const now = rollout.revision === undefined ? "no revision" : rollout.revision.slice(0, 12);
  throw new NkError("ROLLOUT_MOVED", `the rollout names ${now}, not ${guard.revision.slice(0, 12)}: that revision's desired bundles are not written`);
}

/** Re-enrolling replaces the token hash and keeps what is known about the node. */
export function applyEnroll(s: StoreState, name: string, tokenHash: string, nowMs: number): void {
  const prev = s.nodes.get(name);
  s.nodes.set(name, { ...(prev ?? { name }), tokenHash, enrolledAtMs: nowMs });
}

/** Sets desired refs of enrolled nodes, collects the others in `unknown`; true if anything changed. */
export function applySetDesired(s: StoreState, refs: ReadonlyArray<{ node: string; ref: RevisionRef }>, unknown: string[]): boolean {
  let changed = false;
  for (const { node, ref } of refs) {
    const rec = s.nodes.get(node);
    if (!rec) unknown.push(node);
    else if (!sameRef(rec.desired, ref)) {
      rec.desired = ref;
      changed = true;
    }
  }
  return changed;
}
