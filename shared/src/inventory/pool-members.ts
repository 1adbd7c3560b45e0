// Which nodes a pool selects and how many of them may be down at once; shared by validation and the grant rule.
import type { RolloutPool, UnavailableLimit } from "./model.js";

export type Labels = Readonly<Record<string, string>>;

/** True when the node carries every label of the selector with the same value. */
export function matchesSelector(selector: Labels, labels: Labels): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** A percentage rounds down but never below one node, so a small pool can still make progress. */
export function poolLimit(limit: UnavailableLimit, poolSize: number): number {
  if ("count" in limit) return limit.count;
  return Math.max(1, Math.floor((poolSize * limit.percent) / 100));
}

/** "25%" or "2", as the inventory spells it. */
export function formatLimit(limit: UnavailableLimit): string {
  return "count" in limit ? String(limit.count) : `${limit.percent}%`;
}

export function poolMembers(pool: RolloutPool, nodes: ReadonlyMap<string, Labels>): string[] {
  return [...nodes].filter(([, labels]) => matchesSelector(pool.selector, labels)).map(([name]) => name);
}
