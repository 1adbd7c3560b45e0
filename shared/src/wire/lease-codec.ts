// Leases as the domain sees them and as both services carry them.
import { Lease, LeaseKind as WireLeaseKind, LeaseState as WireLeaseState } from "../proto/gen/nk/v1/common.js";

export type LeaseKindName = "reboot" | "service-restart";
export type LeaseStateName = "queued" | "granted" | "draining" | "drained" | "rebooting" | "verifying" | "released" | "expired" | "revoked";

export interface LeaseInfo {
  readonly node: string;
  readonly role: string;
  readonly kind: LeaseKindName;
  readonly state: LeaseStateName;
  readonly fencingToken: number;
  readonly revision: string;
  readonly requestedAtMs: number;
  readonly grantedAtMs: number;
  readonly phaseDeadlineMs: number;
  readonly queuePosition: number;
  readonly waitingReason: string;
  /** The etcd snapshot the holder saved under this lease before its disruption; absent if none. */
  readonly etcdSnapshot?: string;
}

const KIND: Record<LeaseKindName, WireLeaseKind> = {
  reboot: WireLeaseKind.LEASE_KIND_REBOOT,
  "service-restart": WireLeaseKind.LEASE_KIND_SERVICE_RESTART,
};

const STATE: Record<LeaseStateName, WireLeaseState> = {
  queued: WireLeaseState.LEASE_STATE_QUEUED,
  granted: WireLeaseState.LEASE_STATE_GRANTED,
  draining: WireLeaseState.LEASE_STATE_DRAINING,
  drained: WireLeaseState.LEASE_STATE_DRAINED,
  rebooting: WireLeaseState.LEASE_STATE_REBOOTING,
  verifying: WireLeaseState.LEASE_STATE_VERIFYING,
  released: WireLeaseState.LEASE_STATE_RELEASED,
  expired: WireLeaseState.LEASE_STATE_EXPIRED,
  revoked: WireLeaseState.LEASE_STATE_REVOKED,
};

function reverse<K extends string, V>(table: Record<K, V>, value: V, fallback: K): K {
  return (Object.entries(table).find(([, v]) => v === value)?.[0] as K | undefined) ?? fallback;
}

export function leaseKindToWire(kind: LeaseKindName): WireLeaseKind {
  return KIND[kind];
}

export function leaseKindFromWire(kind: WireLeaseKind): LeaseKindName {
  return reverse(KIND, kind, "reboot");
}

export function leaseStateToWire(state: LeaseStateName): WireLeaseState {
  return STATE[state];
}

export function leaseStateFromWire(state: WireLeaseState): LeaseStateName {
  return reverse(STATE, state, "queued");
}

export function leaseToWire(l: LeaseInfo): Lease {
  return {
    node: l.node,
    kind: KIND[l.kind],
    state: STATE[l.state],
    fencingToken: l.fencingToken,
    revision: l.revision,
    requestedAtMs: l.requestedAtMs,
    grantedAtMs: l.grantedAtMs,
    phaseDeadlineMs: l.phaseDeadlineMs,
    queuePosition: l.queuePosition,
    waitingReason: l.waitingReason,
    role: l.role,
    renewedAtMs: 0,
    ttlMs: 0,
    etcdSnapshot: l.etcdSnapshot ?? "",
  };
}

export function leaseFromWire(l: Lease): LeaseInfo {
  return {
    node: l.node,
    role: l.role,
    kind: leaseKindFromWire(l.kind),
    state: leaseStateFromWire(l.state),
    fencingToken: l.fencingToken,
    revision: l.revision,
    requestedAtMs: l.requestedAtMs,
    grantedAtMs: l.grantedAtMs,
    phaseDeadlineMs: l.phaseDeadlineMs,
    queuePosition: l.queuePosition,
    waitingReason: l.waitingReason,
    ...(l.etcdSnapshot ? { etcdSnapshot: l.etcdSnapshot } : {}),
  };
}
