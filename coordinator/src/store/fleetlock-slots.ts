// FleetLock slots as edits of the rollout record: a compare-and-set take and an idempotent release, pure.
import { checkedInput } from "./lease-rules.js";
import type { RolloutEdit } from "./rollout-edits.js";
import { checkFleetLockSlot } from "./state-codec.js";
import type { FleetLockSlot, FleetLockTake, RolloutRecord } from "./store.js";

/** One slot's key: group and client id (a group never contains "/"). */
export function fleetLockKey(slot: { readonly group: string; readonly id: string }): string {
  return `${slot.group}/${slot.id}`;
}

function sameKeys(slots: readonly FleetLockSlot[], expected: readonly string[]): boolean {
  const have = new Set(slots.map(fleetLockKey));
  const want = new Set(expected);
  return have.size === want.size && [...have].every((k) => want.has(k));
}

/** The edit that takes `slot` and a reader of what it did, for the record the store hands back. */
export function takeFleetLockEdit(input: Omit<FleetLockSlot, "acquiredAtMs">, expected: readonly string[], nowMs: number): { edit: RolloutEdit; outcome: (r: RolloutRecord) => FleetLockTake } {
  const slot = checkedInput(checkFleetLockSlot, { ...input, acquiredAtMs: nowMs }, "fleetlock slot");
  const key = fleetLockKey(slot);
  let already = false;
  const edit: RolloutEdit = (r) => {
    const slots = r.fleetLocks ?? [];
    already = slots.some((s) => fleetLockKey(s) === key);
    if (already || !sameKeys(slots, expected)) return;
    r.fleetLocks = [...slots, slot];
  };
  const outcome = (r: RolloutRecord): FleetLockTake => {
    const held = (r.fleetLocks ?? []).find((s) => fleetLockKey(s) === key);
    if (!held) return { ok: false, reason: "slots-changed", slots: structuredClone(r.fleetLocks ?? []) };
    return { ok: true, slot: structuredClone(held), already };
  };
  return { edit, outcome };
}

/** The edit that drops the slot, and what it dropped (undefined: nothing was held). */
export function releaseFleetLockEdit(group: string, id: string): { edit: RolloutEdit; released: () => FleetLockSlot | undefined } {
  const key = fleetLockKey({ group, id });
  let dropped: FleetLockSlot | undefined;
  const edit: RolloutEdit = (r) => {
    const slots = r.fleetLocks ?? [];
    dropped = slots.find((s) => fleetLockKey(s) === key);
    if (!dropped) return;
    const kept = slots.filter((s) => s !== dropped);
    if (kept.length > 0) r.fleetLocks = kept;
    else delete r.fleetLocks;
  };
  return { edit, released: () => (dropped ? structuredClone(dropped) : undefined) };
}
