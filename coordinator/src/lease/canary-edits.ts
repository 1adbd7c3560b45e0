// A canary pick or confirmation as an edit of the rollout record that the grant or release commits in its own
// atomic step: decided (pure) on the record read in that step, so it cannot be lost between two writes.
import type { CanarySettings } from "../../../shared/src/inventory/index.js";
import type { CanaryRecord, LeaseRecord, LeaseRolloutEdit, RolloutRecord } from "../store/index.js";
import { canaryGate, canaryRecordFor } from "./canary-gate.js";

/** The canary record after a grant or release, and the event that tells it. */
export interface CanaryChange {
  readonly record: CanaryRecord;
  readonly kind: "canary-picked" | "canary-confirmed";
  readonly message: string;
}

export type CanaryDecider = (rollout: RolloutRecord, lease: Readonly<LeaseRecord>) => CanaryChange | undefined;

/** Count mode: a node granted while a canary slot is open becomes a canary (undefined: no change). */
export function canaryPick(spec: CanarySettings, now: number): CanaryDecider {
  return (rollout, lease) => {
    const gate = canaryGate(spec, rollout.canary, rollout.revision, now);
    if (gate?.stage !== "canary" || gate.openSlots <= 0 || gate.canaries.includes(lease.node)) return undefined;
    const record = canaryRecordFor(rollout.canary, rollout.revision ?? "");
    return { kind: "canary-picked", record: { ...record, nodes: [...record.nodes, lease.node] }, message: `${lease.node} is a canary of this revision` };
  };
}

/** A canary released healthy on the rollout's revision; the soak starts when the last one is. */
export function canaryConfirm(spec: CanarySettings, now: number): CanaryDecider {
  return (rollout, lease) => {
    const gate = canaryGate(spec, rollout.canary, rollout.revision, now);
    if (gate?.stage !== "canary" || lease.revision !== rollout.revision || !gate.canaries.includes(lease.node)) return undefined;
    const record = canaryRecordFor(rollout.canary, lease.revision);
    if (record.confirmed.includes(lease.node)) return undefined;
    const confirmed = [...record.confirmed, lease.node];
    const all = gate.openSlots <= 0 && gate.canaries.every((c) => confirmed.includes(c));
    return {
      kind: "canary-confirmed",
      record: { ...record, confirmed, ...(all ? { confirmedAtMs: now } : {}) },
      message: all ? `every canary is back and healthy (${confirmed.join(", ")})` : `canary ${lease.node} is back and healthy`,
    };
  };
}

export interface CanaryEdit {
  readonly edit: LeaseRolloutEdit;
  /** What the last application decided: the committed change, once the store reported success. */
  readonly change: () => CanaryChange | undefined;
}

/** The store's edit for `decide`; a retried compare-and-set applies it again, and the last application counts. */
export function canaryEdit(decide: CanaryDecider): CanaryEdit {
  let last: CanaryChange | undefined;
  const edit: LeaseRolloutEdit = (rollout, lease) => {
    last = decide(rollout, lease);
    if (last) rollout.canary = last.record;
  };
  return { edit, change: () => last };
}
