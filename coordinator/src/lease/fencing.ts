// Fencing errors: a call with a token that is not the node's live lease is refused with LEASE_FENCED.
import { NkError } from "../../../shared/src/errors/index.js";
import type { LeaseRecord, LeaseResult } from "../store/index.js";

export function fencedError(node: string, token: number, current: LeaseRecord | undefined): NkError {
  if (!current) return new NkError("LEASE_FENCED", `lease #${token} of ${node} is no longer held; request a new lease`);
  return new NkError("LEASE_FENCED", `lease #${token} of ${node} is fenced: the live lease is #${current.fencingToken}`);
}

/** The lease of a store update or release, or the fenced error it amounts to. */
export function leaseOf(result: LeaseResult, node: string, token: number): LeaseRecord {
  if (result.ok) return result.lease;
  throw fencedError(node, token, result.reason === "fenced" ? result.current : undefined);
}
