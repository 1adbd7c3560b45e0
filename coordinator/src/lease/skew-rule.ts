// Kubernetes version skew: a kubelet must never be newer than the API servers it talks to, so agents wait for them.
import type { NodeFacts, RoleOf } from "./grant-limits.js";

/** "v1.30.4+k3s1" → [1, 30, 4, 1]; null when it is not a k3s version. */
export function parseK3sVersion(version: string): number[] | null {
  const m = version.trim().match(/^v?(\d+)\.(\d+)\.(\d+)(?:[-+]k3s(\d+))?/);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0)] : null;
}

/** Negative, zero or positive like a sort comparator; unparsable versions compare equal (nothing to order by). */
export function compareK3s(a: string, b: string): number {
  const x = parseK3sVersion(a);
  const y = parseK3sVersion(b);
  if (!x || !y) return 0;
  for (let i = 0; i < 4; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/**
 * Why an agent (a kubelet without an API server) must wait: the k3s its new system runs is newer than the
 * oldest k3s a server runs now. Servers upgrade first, whatever order the requests came in. Empty otherwise,
 * and when versions are unknown (an older agent that does not report them).
 */
export function skewBlock(candidate: RoleOf, facts: ReadonlyMap<string, NodeFacts>): string {
  if (candidate.role !== "agent") return "";
  const next = facts.get(candidate.node)?.k3s?.next;
  if (!next || !parseK3sVersion(next)) return "";
  let oldest: { node: string; version: string } | undefined;
  for (const [node, f] of facts) {
    const running = f.k3s?.running;
    if (f.role !== "server" || !running || !parseK3sVersion(running)) continue;
    if (!oldest || compareK3s(running, oldest.version) < 0) oldest = { node, version: running };
  }
  if (!oldest || compareK3s(next, oldest.version) <= 0) return "";
  return `waiting for the servers to upgrade first: its new k3s ${next} would be newer than ${oldest.version} on server ${oldest.node} (a kubelet must not be newer than its API servers)`;
}
