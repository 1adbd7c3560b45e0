// The FleetLock side of the grant rule, pure: may a host outside the inventory take a reboot slot now, under the
// same cluster-wide limits and health gates as nk's own nodes plus its group's limit.
import type { FleetLockGroup } from "../../../shared/src/inventory/index.js";
import { fleetLockKey, type FleetLockSlot } from "../store/index.js";
import { decideGrants, type GrantInput } from "./grant-decision.js";
import { disrupted, list, type RoleOf } from "./grant-limits.js";

/** Prefix of a FleetLock slot's holder name: a '/' no inventory node name (a DNS label) can contain. */
export const FLEETLOCK_HOLDER_PREFIX = "fleetlock/";

/** A slot as one of the grant rule's holders: role "none", so it counts against max_unavailable, never as a server. */
export function fleetLockHolder(slot: { readonly group: string; readonly id: string }): RoleOf {
  return { node: `${FLEETLOCK_HOLDER_PREFIX}${fleetLockKey(slot)}`, role: "none" };
}

export interface PreRebootInput extends Omit<GrantInput, "queue" | "holders" | "canary" | "blockingPods"> {
  readonly request: { readonly group: string; readonly id: string };
  readonly groups: readonly FleetLockGroup[];
  /** Every FleetLock slot held, all groups. */
  readonly slots: readonly FleetLockSlot[];
  /** nk nodes holding a lease. */
  readonly holders: readonly RoleOf[];
}

export type PreRebootDecision =
  | { readonly ok: true; readonly held: boolean }
  | { readonly ok: false; readonly kind: "unknown_group" | "failed_lock"; readonly reason: string };

/**
 * A slot the host holds is answered at once (the protocol's lock is recursive), whatever else changed; otherwise
 * its group's limit, then the grant rule itself with the host as the only candidate and every nk holder and
 * FleetLock slot as holders: pause, halt, windows, cluster limit, health of every inventory node, cluster checks
 * and settle time. Canaries, blocking pods and the skew rule concern nk's own revision and do not apply.
 */
export function decidePreReboot(input: PreRebootInput): PreRebootDecision {
  const { request, groups, slots } = input;
  const group = groups.find((g) => g.name === request.group);
  if (!group) {
    const known = groups.length > 0 ? `configured: ${list(groups.map((g) => g.name), 10)}` : "none is configured";
    return { ok: false, kind: "unknown_group", reason: `FleetLock group "${request.group}" is not in rollout.fleetlock.groups of the inventory (${known})` };
  }
  const key = fleetLockKey(request);
  if (slots.some((s) => fleetLockKey(s) === key)) return { ok: true, held: true };
  const inGroup = slots.filter((s) => s.group === group.name).map(fleetLockHolder);
  if (inGroup.length >= group.maxUnavailable) return { ok: false, kind: "failed_lock", reason: `${disrupted(inGroup, group.maxUnavailable, "host")} in FleetLock group ${group.name}` };
  const decision = decideGrants({ ...input, queue: [fleetLockHolder(request)], holders: [...input.holders, ...slots.map(fleetLockHolder)], canary: null });
  return decision.grants.length === 1 ? { ok: true, held: false } : { ok: false, kind: "failed_lock", reason: decision.headReason };
}
