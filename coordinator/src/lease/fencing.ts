// The fencing rule: a call counts for a lease only with that lease's own token. Token 0 is a new request, never a
// wildcard: while the node holds a lease it is refused (LEASE_HELD), and an agent that lost its token must take
// the lease back through the explicit, audited ReattachLease.
import { NkError } from "../../../shared/src/errors/index.js";
import type { LeaseRecord, LeaseResult } from "../store/index.js";

export function fencedError(node: string, token: number, current: LeaseRecord | undefined): NkError {
  if (!current) return new NkError("LEASE_FENCED", `lease #${token} of ${node} is no longer held; request a new lease`);
  return new NkError("LEASE_FENCED", `lease #${token} of ${node} is fenced: the live lease is #${current.fencingToken}`);
}

/** The refusal of token 0 while a lease is held; an agent older than ReattachLease reads it as a denial. */
export function tokenRequiredError(node: string, held: LeaseRecord): NkError {
  return new NkError(
    "LEASE_HELD",
    `${node} holds lease #${held.fencingToken} (${held.state}); a call without its fencing token is refused: an agent that lost its token re-attaches with ReattachLease (nk-agent too old for that: upgrade it, or release the lease with nkctl lease release ${node})`,
  );
}

/** What a presented token amounts to against the node's held lease (if any). */
export type Presented = { readonly kind: "holder"; readonly lease: LeaseRecord } | { readonly kind: "new-request" } | { readonly kind: "refused"; readonly error: NkError };

export function checkPresented(node: string, presented: number, held: LeaseRecord | undefined): Presented {
  if (presented === 0) return held ? { kind: "refused", error: tokenRequiredError(node, held) } : { kind: "new-request" };
  if (held?.fencingToken === presented) return { kind: "holder", lease: held };
  return { kind: "refused", error: fencedError(node, presented, held) };
}

/** The lease of a store update or release, or the fenced error it amounts to. */
export function leaseOf(result: LeaseResult, node: string, token: number): LeaseRecord {
  if (result.ok) return result.lease;
  throw fencedError(node, token, result.reason === "fenced" ? result.current : undefined);
}
