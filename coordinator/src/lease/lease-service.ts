// What the gRPC and HTTP layers ask of the lease manager; agents never decide, the coordinator does.
import type { LeaseView } from "../status/index.js";
import type { LeaseKind } from "../store/index.js";
import type { FleetLockAnswer, FleetLockRequest } from "./fleet-locks.js";

export interface AcquireRequest {
  readonly node: string;
  readonly kind: LeaseKind;
  readonly revision: string;
  readonly sha256: string;
  readonly reason: string;
  /** The lease the agent holds (after its own restart); 0 for a new request, refused (LEASE_HELD) while one is held. */
  readonly fencingToken: number;
  /** The k3s version the node's new system would run ("" or absent: unknown), for the version-skew rule. */
  readonly k3sNext?: string;
}

/** Holder phases an agent announces with RenewLease; each moves the coordinator's phase deadline. */
export type HolderPhase = "granted" | "draining" | "drained" | "rebooting" | "verifying";

export interface LeaseService {
  /**
   * Queues (or, with the held lease's token, re-opens that lease's updates) and reports every change of this node's lease to
   * `onUpdate` — queued with position and reason, then granted with a fencing token, then drained —
   * until the returned function is called. Throws NkError for misuse (unknown node, fenced token).
   */
  acquire(request: AcquireRequest, onUpdate: (lease: LeaseView) => void): Promise<() => void>;
  /** Throws NkError("LEASE_FENCED") when the token is not the live one for this node. */
  /** `etcdSnapshot`: a snapshot the holder just saved, recorded on the lease and journaled (empty: none). */
  renew(node: string, fencingToken: number, phase: HolderPhase, bootId: string, etcdSnapshot?: string): Promise<LeaseView>;
  /** Agent's release after it is back and healthy (or after a rollback, with success=false). */
  release(node: string, fencingToken: number, success: boolean, reason: string): Promise<boolean>;
  /** An agent that lost its token: the lease its node holds, or null. The caller audits it. */
  reattach(node: string): Promise<LeaseView | null>;
  /** Agent: drops its queued request; LEASE_HELD while the node holds a lease (release that with its token). */
  withdraw(node: string, reason: string): Promise<boolean>;
  /** Operator: releases a held lease (force: even while its holder is mid-reboot) or drops a queued request. */
  adminRelease(node: string, force: boolean, reason: string): Promise<{ released: boolean; message: string }>;
  /** A FleetLock host (zincati) asks for a reboot slot: granted now or refused with why; never queued. */
  fleetLockPreReboot(request: FleetLockRequest): Promise<FleetLockAnswer>;
  /** A FleetLock host is back: its slot is released (idempotent). */
  fleetLockSteadyState(request: FleetLockRequest): Promise<FleetLockAnswer>;
  held(): readonly LeaseView[];
  queue(): readonly LeaseView[];
  /** Why the head of the queue is not granted now; empty when nothing blocks. */
  blockedReason(): string;
  /** The canary stage of the rollout's revision (canary, soaking, awaiting-approval, done); empty without a canary. */
  stage(): string;
}
