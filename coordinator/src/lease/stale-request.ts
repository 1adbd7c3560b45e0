// A queued request for a bundle the node is no longer meant to run: granting it would disrupt the node for nothing.
import type { LeaseRequest, NodeRecord } from "../store/index.js";

export interface StaleRequest {
  readonly reason: string;
  /** The agent has since reported working on (or running) the newer bundle: nobody waits on this request any more. */
  readonly orphaned: boolean;
}

/**
 * Whether `request` is stale (null: it may be granted). A request names the bundle it was made for; once a newer
 * push gave the node another bundle, the agent withdraws that request (or asks again for the new one), but the
 * leader can decide before the withdrawal arrives, or after it was lost with a coordinator cut off from etcd whose
 * enqueue landed late. A granted stale request held a slot nobody used, and the others waited behind it for ever
 * (found by the HA chaos run, and by a test whose push raced a lifted halt). Requests without a bundle (a holder
 * re-attaching) and nodes whose desired bundle is unknown are never stale.
 */
export function staleRequest(request: Pick<LeaseRequest, "sha256" | "requestedAtMs">, node: Pick<NodeRecord, "desired" | "lastReport"> | undefined): StaleRequest | null {
  const desired = node?.desired?.sha256;
  if (!request.sha256 || !desired || desired === request.sha256) return null;
  const report = node.lastReport;
  // An agent asks for one bundle at a time, and a newer request replaces the older in the queue.
  const orphaned = report !== undefined && report.sha256 === desired && report.atMs > request.requestedAtMs;
  return {
    reason: `the request is for bundle ${request.sha256.slice(0, 12)}, but the node is now meant to run ${desired.slice(0, 12)}: waits for its agent to ask for that one`,
    orphaned,
  };
}
