// The lease, fencing and queue rules every Store backend keeps, as pure decisions over what the backend read.
// Only storage differs: FileStore applies a decision to its in-memory state, EtcdStore commits it in one
// transaction guarded by the mod revisions of what it read.
import { NkError } from "../../../shared/src/errors/index.js";
import { assertNodeName } from "../../../shared/src/names/index.js";
import { checkLeaseRecord, checkLeaseRequest } from "./state-codec.js";
import type { GrantExpectation, GrantResult, LeaseGrant, LeaseKind, LeasePatch, LeaseRecord, LeaseRequest, LeaseRequestInput, LeaseResult, RolloutRecord } from "./store.js";
import { ShapeError, type Check } from "./validate.js";

/** `issued`: highest token ever handed out; `lastGranted`: highest token ever granted. */
export interface Fencing {
  issued: number;
  lastGranted: number;
}

/** Validates caller input with the same checks used for stored records, as INVALID_ARGUMENT. */
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

/** The counter after handing out one more token (nextFencingToken). */
export function issuedOne(fencing: Fencing): Fencing {
  return { issued: fencing.issued + 1, lastGranted: fencing.lastGranted };
}

export interface GrantView {
  /** Every node holding a lease now. */
  readonly holders: Iterable<string>;
  /** The lease the granted node holds already, if any. */
  readonly held: LeaseRecord | undefined;
  readonly fencing: Fencing;
  /** The rollout record as it is now. */
  readonly rollout: RolloutRecord;
}

/** A grant to commit: the lease and the counter after it (the node's queue entry goes in the same step). */
export type GrantDecision = { ok: true; lease: LeaseRecord; fencing: Fencing } | Exclude<GrantResult, { ok: true }>;

/**
 * Granted only while the holder set is what the caller decided on, the rollout is still open on the revision it
 * decided for, the node holds nothing, and a caller-supplied token was issued and is above the last granted one: so
 * two grants can never share or reuse a token, and no grant lands after an adoption, a pause or a halt began.
 */
export function decideGrant(view: GrantView, grant: LeaseGrant, expected: GrantExpectation): GrantDecision {
  assertNodeName(grant.node);
  if (!rolloutOpen(view.rollout, expected.revision)) return { ok: false, reason: "rollout-changed", rollout: structuredClone(view.rollout) };
  // An iterator (Map.keys()) can be read once only.
  const holders = [...view.holders];
  if (!sameHolders(holders, expected.holders)) return { ok: false, reason: "holders-changed", holders };
  if (view.held) return { ok: false, reason: "already-held", lease: structuredClone(view.held) };
  const given = grant.fencingToken;
  if (given !== undefined && !(given > view.fencing.lastGranted && given <= view.fencing.issued)) return { ok: false, reason: "stale-token" };
  const fencingToken = given ?? view.fencing.issued + 1;
  const lease = checkedInput(checkLeaseRecord, { ...grant, fencingToken }, "lease");
  return { ok: true, lease, fencing: { issued: Math.max(view.fencing.issued, fencingToken), lastGranted: fencingToken } };
}

/** Whether a grant decided for `revision` may still land: the decision refuses one in any other state. */
export function rolloutOpen(rollout: RolloutRecord, revision: string | undefined): boolean {
  return rollout.revision === revision && !rollout.adopting && !rollout.paused && !rollout.halted;
}

/** The held lease when `fencingToken` matches it (or "force"), else why not. */
export function fenced(current: LeaseRecord | undefined, fencingToken: number | "force"): LeaseResult {
  if (!current) return { ok: false, reason: "not-held" };
  if (fencingToken !== "force" && current.fencingToken !== fencingToken) return { ok: false, reason: "fenced", current: structuredClone(current) };
  return { ok: true, lease: current };
}

/** A holder's slot covers a reboot as well as a service restart: a kind may be raised to "reboot", never lowered. */
export function raisedKind(current: LeaseKind, requested: LeaseKind | undefined): LeaseKind {
  return requested === "reboot" ? "reboot" : current;
}

/** The lease after a holder's patch; identity fields are re-imposed so a patch cannot smuggle them in. */
export function decideUpdate(current: LeaseRecord | undefined, fencingToken: number, patch: LeasePatch): LeaseResult {
  const held = fenced(current, fencingToken);
  if (!held.ok) return held;
  const was = held.lease;
  const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  const lease = checkedInput(
    checkLeaseRecord,
    { ...was, ...defined, node: was.node, fencingToken: was.fencingToken, kind: raisedKind(was.kind, patch.kind), grantedAtMs: was.grantedAtMs, requestedAtMs: was.requestedAtMs },
    "lease",
  );
  return { ok: true, lease };
}

/** A repeated request keeps its place in line and its first request time; the newer revision and reason win. */
export function queuedRequest(existing: LeaseRequest | undefined, input: LeaseRequestInput, nowMs: number): LeaseRequest {
  assertNodeName(input.node);
  return checkedInput(checkLeaseRequest, { ...input, requestedAtMs: existing?.requestedAtMs ?? input.requestedAtMs ?? nowMs }, "request");
}
