// Lease and queue compare-and-set rules applied to the in-memory state (no I/O; the caller persists).
import { NkError } from "../../../shared/src/errors/index.js";
import { checkLeaseRecord, checkLeaseRequest, type StoreState } from "./state-codec.js";
import type { EnqueueResult, GrantResult, LeaseGrant, LeaseKind, LeasePatch, LeaseRecord, LeaseRequest, LeaseRequestInput, LeaseResult } from "./store.js";
import { ShapeError, type Check } from "./validate.js";
import { assertNodeName } from "../../../shared/src/names/index.js";

/** Validates caller input with the same checks used for the file, as INVALID_ARGUMENT. */
export function checkedInput<T>(check: Check<T>, value: unknown, what: string): T {
  try {
    return check(value, what);
  } catch (err) {
    if (err instanceof ShapeError) throw new NkError("INVALID_ARGUMENT", err.message);
    throw err;
  }
}

/** Set equality, ignoring order and duplicates. */
export function sameHolders(actual: Iterable<string>, expected: readonly string[]): boolean {
  const a = new Set(actual);
  const e = new Set(expected);
  return a.size === e.size && [...a].every((n) => e.has(n));
}

export function issueToken(s: StoreState): number {
  s.fencing.issued += 1;
  return s.fencing.issued;
}

export function applyGrant(s: StoreState, grant: LeaseGrant, expected: { holders: readonly string[] }): GrantResult {
  assertNodeName(grant.node);
  if (!sameHolders(s.leases.keys(), expected.holders)) return { ok: false, reason: "holders-changed", holders: [...s.leases.keys()] };
  const held = s.leases.get(grant.node);
  if (held) return { ok: false, reason: "already-held", lease: structuredClone(held) };
  const given = grant.fencingToken;
  if (given !== undefined && !(given > s.fencing.lastGranted && given <= s.fencing.issued)) return { ok: false, reason: "stale-token" };
  // Validate before allocating, so a bad request burns no token.
  checkedInput(checkLeaseRecord, { ...grant, fencingToken: given ?? s.fencing.issued + 1 }, "lease");
  const fencingToken = given ?? issueToken(s);
  const lease = checkedInput(checkLeaseRecord, { ...grant, fencingToken }, "lease");
  s.fencing.lastGranted = fencingToken;
  s.leases.set(lease.node, lease);
  s.queue = s.queue.filter((r) => r.node !== lease.node);
  return { ok: true, lease: structuredClone(lease) };
}

function fenced(s: StoreState, node: string, fencingToken: number): LeaseResult | LeaseRecord {
  const current = s.leases.get(node);
  if (!current) return { ok: false, reason: "not-held" };
  if (current.fencingToken !== fencingToken) return { ok: false, reason: "fenced", current: structuredClone(current) };
  return current;
}

/** A holder's slot covers a reboot as well as a service restart: a kind may be raised to "reboot", never lowered. */
export function raisedKind(current: LeaseKind, requested: LeaseKind | undefined): LeaseKind {
  return requested === "reboot" ? "reboot" : current;
}

export function applyUpdate(s: StoreState, node: string, fencingToken: number, patch: LeasePatch): LeaseResult {
  const current = fenced(s, node, fencingToken);
  if ("ok" in current) return current;
  const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  // Identity fields are re-imposed so a patch cannot smuggle them in; the kind may only be raised to a reboot.
  const next = checkedInput(
    checkLeaseRecord,
    { ...current, ...defined, node: current.node, fencingToken: current.fencingToken, kind: raisedKind(current.kind, patch.kind), grantedAtMs: current.grantedAtMs, requestedAtMs: current.requestedAtMs },
    "lease",
  );
  s.leases.set(node, next);
  return { ok: true, lease: structuredClone(next) };
}

export function applyRelease(s: StoreState, node: string, fencingToken: number | "force", nowMs: number): LeaseResult {
  const current = fencingToken === "force" ? (s.leases.get(node) ?? { ok: false as const, reason: "not-held" as const }) : fenced(s, node, fencingToken);
  if ("ok" in current) return current;
  s.leases.delete(node);
  s.rollout.lastReleaseAtMs = nowMs;
  return { ok: true, lease: structuredClone(current) };
}

export function applyEnqueue(s: StoreState, input: LeaseRequestInput, nowMs: number): EnqueueResult {
  assertNodeName(input.node);
  const index = s.queue.findIndex((r) => r.node === input.node);
  const existing = s.queue[index];
  const request: LeaseRequest = checkedInput(checkLeaseRequest, { ...input, requestedAtMs: existing?.requestedAtMs ?? input.requestedAtMs ?? nowMs }, "request");
  if (existing) {
    // A repeated request keeps its place in line; the newer revision and reason win.
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
