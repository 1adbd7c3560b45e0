// The admin's node actions: enroll a node (a new token, its desired bundle handed out at once) and rotate its token.
import { NkError } from "../../../shared/src/errors/index.js";
import { isNodeName } from "../../../shared/src/names/index.js";
import type { EventInput } from "../store/index.js";
import type { NodeRegistry } from "./node-registry.js";

export interface NodeEnrollmentDeps {
  readonly registry: Pick<NodeRegistry, "enroll" | "isEnrolled">;
  /** A node enrolled after the revision that names it was adopted still gets its bundle. */
  readonly noteEnrolled: (node: string) => Promise<void>;
  readonly events: { appendEvent(event: EventInput): Promise<unknown> };
}

/** Names per EnrollNodes call: a bound on one request's work and its answer (~60 bytes a node). */
export const MAX_ENROLL_BATCH = 5_000;

export class NodeEnrollment {
  constructor(private readonly deps: NodeEnrollmentDeps) {}

  async enroll(node: string): Promise<{ node: string; token: string }> {
    if (!isNodeName(node)) throw new NkError("INVALID_ARGUMENT", `"${node}" is not a valid node name (a DNS label)`);
    const token = await this.deps.registry.enroll(node);
    await this.deps.noteEnrolled(node);
    await this.deps.events.appendEvent({ kind: "node-enrolled", node, message: `node ${node} enrolled (new token issued)` });
    return { node, token };
  }

  /**
   * Enrolls many nodes at once (a rack): every name is checked before any is enrolled, then all go together,
   * so the store's batching writes them in a few transactions. The tokens come back in the request's order.
   */
  async enrollMany(nodes: readonly string[]): Promise<Array<{ node: string; token: string }>> {
    if (nodes.length === 0) throw new NkError("INVALID_ARGUMENT", "no node names given");
    if (nodes.length > MAX_ENROLL_BATCH) throw new NkError("INVALID_ARGUMENT", `${nodes.length} nodes in one call; at most ${MAX_ENROLL_BATCH} (send several calls)`);
    const bad = nodes.filter((n) => !isNodeName(n));
    if (bad.length > 0) throw new NkError("INVALID_ARGUMENT", `not valid node names (DNS labels): ${bad.slice(0, 10).map((n) => JSON.stringify(n)).join(", ")}${bad.length > 10 ? ` and ${bad.length - 10} more` : ""}`);
    const seen = new Set<string>();
    const twice = new Set(nodes.filter((n) => seen.size === seen.add(n).size));
    if (twice.size > 0) throw new NkError("INVALID_ARGUMENT", `node names given twice: ${[...twice].slice(0, 10).join(", ")}`);
    return Promise.all(nodes.map((node) => this.enroll(node)));
  }

  /** A new token for a node that stays enrolled: its record, desired bundle and history are kept. */
  async rotateToken(node: string): Promise<{ node: string; token: string }> {
    // NODE_UNKNOWN (not found), not NODE_NOT_ENROLLED, which means the caller itself is unauthenticated.
    if (!this.deps.registry.isEnrolled(node)) throw new NkError("NODE_UNKNOWN", `node "${node}" is not enrolled: nothing to rotate (nkctl node enroll ${node})`);
    const token = await this.deps.registry.enroll(node);
    await this.deps.events.appendEvent({ kind: "node-token-rotated", node, message: `node ${node}: token rotated (the old one is refused)` });
    return { node, token };
  }
}
