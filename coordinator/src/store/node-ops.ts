// Node registry changes applied to the in-memory state (no I/O; the caller persists).
import type { StoreState } from "./state-codec.js";
import type { RevisionRef } from "./store.js";

export function sameRef(a: RevisionRef | undefined, b: RevisionRef): boolean {
  return a !== undefined && a.revision === b.revision && a.sha256 === b.sha256;
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
