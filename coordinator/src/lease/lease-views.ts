// Builds the LeaseViews the status page, nkctl and agent streams show, from store records.
import type { Role } from "../../../shared/src/inventory/index.js";
import type { FleetLockSlot, LeaseRecord, LeaseRequest } from "../store/index.js";
import { fleetLockHolder } from "./fleetlock-rule.js";
import type { LeaseView } from "../status/index.js";

function asRole(role: string | undefined, fallback: Role | undefined): Role {
  if (role === "server" || role === "agent" || role === "none") return role;
  return fallback ?? "agent";
}

/** A held lease; `note` says what is odd about it (drain failed, not back yet, silent holder). */
export function heldView(lease: LeaseRecord, inventoryRole: Role | undefined, note = ""): LeaseView {
  return {
    node: lease.node,
    role: asRole(lease.role, inventoryRole),
    kind: lease.kind,
    state: lease.state,
    fencingToken: lease.fencingToken,
    revision: lease.revision,
    requestedAtMs: lease.requestedAtMs,
    grantedAtMs: lease.grantedAtMs,
    phaseDeadlineMs: lease.phaseDeadlineMs,
    queuePosition: 0,
    waitingReason: note,
    ...(lease.etcdSnapshot ? { etcdSnapshot: lease.etcdSnapshot } : {}),
  };
}

export function queuedView(request: LeaseRequest, position: number, reason: string, inventoryRole: Role | undefined): LeaseView {
  return {
    node: request.node,
    role: asRole(request.role, inventoryRole),
    kind: request.kind,
    state: "queued",
    fencingToken: 0,
    revision: request.revision,
    requestedAtMs: request.requestedAtMs,
    grantedAtMs: 0,
    phaseDeadlineMs: 0,
    queuePosition: position,
    waitingReason: reason,
  };
}

/** The last word on a lease or request: "released" normally, "revoked" when an operator ended it. */
export function endedView(last: LeaseView, state: "released" | "revoked", reason: string): LeaseView {
  return { ...last, state, phaseDeadlineMs: 0, queuePosition: 0, waitingReason: reason };
}

/** A FleetLock host's slot among the held leases: no fencing token, no deadline (zincati reports nothing until it is back). */
export function fleetLockView(slot: FleetLockSlot): LeaseView {
  return {
    node: fleetLockHolder(slot).node,
    role: "none",
    kind: "reboot",
    state: "rebooting",
    fencingToken: 0,
    revision: "",
    requestedAtMs: slot.acquiredAtMs,
    grantedAtMs: slot.acquiredAtMs,
    phaseDeadlineMs: 0,
    queuePosition: 0,
    waitingReason: `FleetLock host ${slot.id} in group ${slot.group} (token ${slot.by}), until its steady-state`,
  };
}
