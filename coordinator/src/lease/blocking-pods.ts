// The blocking-pod rule (pure): while pods matching the selector run on a node (or anywhere), its lease waits.
import type { BlockingPods } from "../../../shared/src/inventory/index.js";
import { list } from "./grant-limits.js";

export interface BlockingPodsState {
  readonly rule: BlockingPods;
  /** Running or pending matching pods, "namespace/name" with their node. */
  readonly pods: ReadonlyArray<{ readonly key: string; readonly node: string }>;
  /** Set when the pods could not be listed: that blocks too (fail safe). */
  readonly error?: string;
}

/** How often the pods are looked at again while they block: no event says when they end. */
export const BLOCKING_POD_POLL_MS = 15_000;

/** Blocks everyone: scope cluster with matching pods, or pods that cannot be listed. */
export function blockingPodsGlobal(state: BlockingPodsState | undefined): string {
  if (!state) return "";
  if (state.error) return `cannot tell whether pods matching ${state.rule.selector} run: ${state.error}`;
  if (state.rule.scope !== "cluster" || state.pods.length === 0) return "";
  return `pods matching ${state.rule.selector} are running: ${list(state.pods.map((p) => `${p.key} on ${p.node}`))}`;
}

/** Scope node: the node waits while a matching pod runs on it. */
export function blockingPodsOn(state: BlockingPodsState | undefined, node: string): string {
  if (!state || state.rule.scope !== "node") return "";
  const here = state.pods.filter((p) => p.node === node).map((p) => p.key);
  return here.length > 0 ? `pods matching ${state.rule.selector} run on it: ${list(here)}` : "";
}
