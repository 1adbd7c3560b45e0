// Per-request capacity limits of the grant rule: the cluster, the servers, each pool, each label value.
import { formatLimit, matchesSelector, poolLimit, type Labels, type PerLabelLimit, type Role, type RolloutPool } from "../../../shared/src/inventory/index.js";

export interface RoleOf {
  readonly node: string;
  readonly role: Role;
}

/** What the grant rule knows of each inventory node besides its health. */
export interface NodeFacts {
  readonly role: Role;
  readonly labels: Labels;
  /** The k3s version the node runs and the one its new system would run, when its agent reported them. */
  readonly k3s?: { readonly running?: string; readonly next?: string };
}

export interface CapacityLimits {
  readonly maxUnavailable: number;
  readonly maxUnavailableServers: number;
  readonly pools?: readonly RolloutPool[];
  readonly maxUnavailablePer?: PerLabelLimit | null;
}

export function list(nodes: readonly string[], max = 3): string {
  const shown = nodes.slice(0, max).join(", ");
  return nodes.length > max ? `${shown} and ${nodes.length - max} more` : shown;
}

export function disrupted(holders: readonly RoleOf[], limit: number, what: string): string {
  const names = holders.map((h) => h.node);
  const noun = limit === 1 && names.length <= 1 ? what : `${what}s`;
  return `waiting: ${names.length}/${limit} ${noun} disrupted (${list(names)})`;
}

const NO_LABELS: Labels = {};

function labelsOf(facts: ReadonlyMap<string, NodeFacts>, node: string): Labels {
  return facts.get(node)?.labels ?? NO_LABELS;
}

function poolBlock(holders: readonly RoleOf[], node: string, pools: readonly RolloutPool[], facts: ReadonlyMap<string, NodeFacts>): string {
  for (const pool of pools) {
    if (!matchesSelector(pool.selector, labelsOf(facts, node))) continue;
    const size = [...facts.values()].filter((f) => matchesSelector(pool.selector, f.labels)).length;
    const limit = poolLimit(pool.maxUnavailable, size);
    const inPool = holders.filter((h) => matchesSelector(pool.selector, labelsOf(facts, h.node)));
    if (inPool.length >= limit) {
      const of = "percent" in pool.maxUnavailable ? ` (${formatLimit(pool.maxUnavailable)} of ${size})` : "";
      return `${disrupted(inPool, limit, "node")} in pool ${pool.name}${of}`;
    }
  }
  return "";
}

function perLabelBlock(holders: readonly RoleOf[], node: string, per: PerLabelLimit, facts: ReadonlyMap<string, NodeFacts>): string {
  const value = labelsOf(facts, node)[per.label];
  // A node without the label belongs to no group and is limited only by the other limits.
  if (value === undefined) return "";
  const same = holders.filter((h) => labelsOf(facts, h.node)[per.label] === value);
  return same.length >= per.max ? `${disrupted(same, per.max, "node")} with ${per.label}=${value}` : "";
}

/** Why `candidate` cannot join `holders` now; empty when it can. */
export function capacityBlock(holders: readonly RoleOf[], candidate: RoleOf, limits: CapacityLimits, facts: ReadonlyMap<string, NodeFacts>): string {
  if (holders.length >= limits.maxUnavailable) return disrupted(holders, limits.maxUnavailable, "node");
  const servers = holders.filter((h) => h.role === "server");
  if (candidate.role === "server" && servers.length >= limits.maxUnavailableServers) return disrupted(servers, limits.maxUnavailableServers, "server");
  const pool = poolBlock(holders, candidate.node, limits.pools ?? [], facts);
  if (pool) return pool;
  return limits.maxUnavailablePer ? perLabelBlock(holders, candidate.node, limits.maxUnavailablePer, facts) : "";
}
