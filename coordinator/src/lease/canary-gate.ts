// The canary stage of a revision (pure): canaries first, then soak, then an operator's approval (or on).
import type { CanarySettings } from "../../../shared/src/inventory/index.js";
import type { CanaryRecord } from "../store/index.js";
import { list } from "./grant-limits.js";

export type CanaryStage = "canary" | "soaking" | "awaiting-approval" | "done";

export interface CanaryGate {
  readonly stage: CanaryStage;
  /** Canaries known so far: the listed ones, or those picked as the first granted. */
  readonly canaries: readonly string[];
  /** How many more nodes may still become canaries (count mode). */
  readonly openSlots: number;
  readonly soakEndsMs?: number;
}

/** The record of `revision`, if the stored one is of it; an older revision's record does not count. */
export function canaryRecordOf(record: CanaryRecord | undefined, revision: string): CanaryRecord | undefined {
  return record?.revision === revision ? record : undefined;
}

/** The record of `revision` to change: the stored one, or a fresh one when it is of an older revision. */
export function canaryRecordFor(record: CanaryRecord | undefined, revision: string): CanaryRecord {
  return canaryRecordOf(record, revision) ?? { revision, nodes: [], confirmed: [] };
}

/** Null when the inventory has no canary or no revision is being rolled out. */
export function canaryGate(spec: CanarySettings | null, stored: CanaryRecord | undefined, revision: string | undefined, now: number): CanaryGate | null {
  if (!spec || !revision) return null;
  const record = canaryRecordOf(stored, revision);
  const listed = spec.nodes.length > 0;
  const canaries = listed ? spec.nodes : (record?.nodes ?? []);
  const done: CanaryGate = { stage: "done", canaries, openSlots: 0 };
  if (record?.approvedAtMs !== undefined) return done;
  const wanted = listed ? spec.nodes.length : spec.count;
  const confirmed = new Set(record?.confirmed ?? []);
  if (canaries.length < wanted || !canaries.every((c) => confirmed.has(c))) return { stage: "canary", canaries, openSlots: listed ? 0 : wanted - canaries.length };
  const soakEndsMs = (record?.confirmedAtMs ?? now) + spec.soakSeconds * 1000;
  if (now < soakEndsMs) return { stage: "soaking", canaries, openSlots: 0, soakEndsMs };
  return spec.then === "continue" ? done : { stage: "awaiting-approval", canaries, openSlots: 0 };
}

/**
 * Why `node` waits for the canary stage; empty when it may go (a canary, or one of the first `openSlots` nodes
 * to be granted in count mode; `picked` counts those already taken in this decision).
 */
export function canaryBlock(gate: CanaryGate | null, node: string, picked: number, now: number): string {
  if (!gate || gate.stage === "done") return "";
  const names = list([...gate.canaries]);
  if (gate.stage === "canary") {
    if (gate.canaries.includes(node) || picked < gate.openSlots) return "";
    return `waiting for the canaries (${names || "none picked yet"}) to be back and healthy`;
  }
  if (gate.stage === "soaking") return `canaries (${names}) confirmed; soaking for ${Math.ceil(((gate.soakEndsMs ?? now) - now) / 1000)}s more`;
  return `canaries (${names}) confirmed: waiting for approval (nkctl rollout approve)`;
}
