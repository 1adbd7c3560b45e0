// FileStore's side of the lease rules (lease-rules.ts): each decision applied to the in-memory state (the caller persists).
import { decideGrant, decideUpdate, fenced, issuedOne, queuedRequest } from "./lease-rules.js";
import type { StoreState } from "./state-codec.js";
import type { EnqueueResult, GrantExpectation, GrantResult, LeaseGrant, LeasePatch, LeaseRequest, LeaseRequestInput, LeaseResult, LeaseRolloutEdit } from "./store.js";

export function issueToken(s: StoreState): number {
  s.fencing = issuedOne(s.fencing);
  return s.fencing.issued;
}

export function applyGrant(s: StoreState, grant: LeaseGrant, expected: GrantExpectation, rollout?: LeaseRolloutEdit): GrantResult {
  const decision = decideGrant({ holders: s.leases.keys(), held: s.leases.get(grant.node), fencing: s.fencing, rollout: s.rollout }, grant, expected);
  if (!decision.ok) return decision;
  rollout?.(s.rollout, decision.lease);
  s.fencing = decision.fencing;
  s.leases.set(decision.lease.node, decision.lease);
  s.queue = s.queue.filter((r) => r.node !== decision.lease.node);
  return { ok: true, lease: structuredClone(decision.lease) };
}

export function applyUpdate(s: StoreState, node: string, fencingToken: number, patch: LeasePatch): LeaseResult {
  const r = decideUpdate(s.leases.get(node), fencingToken, patch);
  if (!r.ok) return r;
  s.leases.set(node, r.lease);
  return { ok: true, lease: structuredClone(r.lease) };
}

export function applyRelease(s: StoreState, node: string, fencingToken: number | "force", rollout: LeaseRolloutEdit): LeaseResult {
  const r = fenced(s.leases.get(node), fencingToken);
  if (!r.ok) return r;
  rollout(s.rollout, r.lease);
  s.leases.delete(node);
  return { ok: true, lease: structuredClone(r.lease) };
}

export function applyEnqueue(s: StoreState, input: LeaseRequestInput, nowMs: number): EnqueueResult {
  const index = s.queue.findIndex((r) => r.node === input.node);
  const existing = s.queue[index];
  const request = queuedRequest(existing, input, nowMs);
  if (existing) {
    s.queue[index] = request;
    return { position: index + 1, added: false, request: structuredClone(request) };
  }
  s.queue.push(request);
  return { position: s.queue.length, added: true, request: structuredClone(request) };
}

export function applyDequeue(s: StoreState, node: string): LeaseRequest | undefined {
  const index = s.queue.findIndex((r) => r.node === node);
  if (index < 0) return undefined;
  const [removed] = s.queue.splice(index, 1);
  return removed;
}
