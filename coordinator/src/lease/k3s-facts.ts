// Adds the k3s versions agents reported to the grant rule's node facts: servers' running one, waiting nodes' next one.
import type { NodeFacts } from "./grant-limits.js";

export interface K3sVersions {
  readonly running?: string;
  readonly next?: string;
}

/** What the agents last said about k3s, per node; `onChange` fires when a node's versions change. */
export interface K3sVersionSource {
  versions(node: string): K3sVersions | undefined;
  onChange(listener: () => void): () => void;
}

/**
 * `base` with `k3s` set where the skew rule looks: every server's running version and each waiting node's next one.
 * A request's own version (sent with it, so never late) wins over the node's last report.
 */
export function withK3sVersions(
  base: ReadonlyMap<string, NodeFacts>,
  waiting: ReadonlyArray<{ readonly node: string; readonly k3sNext?: string }>,
  source: K3sVersionSource,
): ReadonlyMap<string, NodeFacts> {
  if (waiting.length === 0) return base;
  const asked = new Map(waiting.map((r) => [r.node, r.k3sNext || source.versions(r.node)?.next]));
  const out = new Map(base);
  for (const [node, facts] of base) {
    const running = facts.role === "server" ? source.versions(node)?.running : undefined;
    const next = asked.get(node);
    if (running || next) out.set(node, { ...facts, k3s: { ...(running ? { running } : {}), ...(next ? { next } : {}) } });
  }
  return out;
}
