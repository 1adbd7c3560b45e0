// The grant rule of DESIGN §6 as a pure function: who in the FIFO queue may start disrupting now, and why not.
import type { MaintenanceWindow } from "../../../shared/src/inventory/index.js";
import { capacityBlock, list, disrupted, type CapacityLimits, type NodeFacts, type RoleOf } from "./grant-limits.js";
import { fitWindows } from "./maintenance-window.js";
import { BLOCKING_POD_POLL_MS, blockingPodsGlobal, blockingPodsOn, type BlockingPodsState } from "./blocking-pods.js";
import { canaryBlock, type CanaryGate } from "./canary-gate.js";
import { skewBlock } from "./skew-rule.js";

export type { NodeFacts, RoleOf } from "./grant-limits.js";

export interface NodeHealth {
  /** The agent reported recently enough to be trusted. */
  readonly agentFresh: boolean;
  readonly healthy: boolean;
  /** Null when the coordinator has no Kubernetes access. */
  readonly k8sReady: boolean | null;
  /** Why the node is unhealthy, in words ("k3s inactive"); may be empty. */
  readonly reason?: string;
}

export interface FailingCheck {
  readonly name: string;
  readonly message: string;
}

export interface ClusterChecksState {
  /** False when any check fails or errors. */
  readonly ok: boolean;
  readonly failing: readonly FailingCheck[];
}

export interface GrantLimits extends CapacityLimits {
  /** Grants only inside one of these; absent or empty means any time. */
  readonly windows?: readonly MaintenanceWindow[];
  /** A grant needs this much time left in its window (default 0). */
  readonly expectedDisruptionSeconds?: number;
  readonly settleSeconds: number;
}

export interface RolloutGate {
  readonly paused?: { readonly reason: string };
  readonly halted?: { readonly reason: string };
  readonly adopting?: { readonly revision: string };
  readonly lastReleaseAtMs?: number;
}

export interface GrantInput {
  readonly now: number;
  /** Waiting requests, oldest first. */
  readonly queue: readonly RoleOf[];
  /** Nodes holding a lease (between grant and release). */
  readonly holders: readonly RoleOf[];
  readonly limits: GrantLimits;
  readonly rollout: RolloutGate;
  /** Every node of the inventory; holders are skipped, queued nodes are not. */
  readonly health: ReadonlyMap<string, NodeHealth>;
  readonly clusterChecks: ClusterChecksState;
  /** Every node of the inventory with its role, labels and k3s versions (pools, per-label limits, skew). */
  readonly nodes?: ReadonlyMap<string, NodeFacts>;
  /** The revision's canary stage; absent or null without a canary. */
  readonly canary?: CanaryGate | null;
  /** Pods matching rollout.blocking_pods, when it is set. */
  readonly blockingPods?: BlockingPodsState;
}

export interface GrantDecision {
  /** In queue order; all may be granted together. */
  readonly grants: readonly RoleOf[];
  /** Every queued node not granted, in queue order, with why it waits. */
  readonly blocked: ReadonlyArray<{ readonly node: string; readonly reason: string }>;
  /** Why the first waiting node waits; empty when nothing is queued or nothing blocks. */
  readonly headReason: string;
  /** The next time a time-based condition (settle end, window open or close) changes; null if none. */
  readonly wakeAtMs: number | null;
}

const NO_FACTS: ReadonlyMap<string, NodeFacts> = new Map();

/** Whether a node counts as healthy for the grant rule: fresh, healthy, and k8s Ready when known. */
export function isHealthy(h: NodeHealth): boolean {
  return h.agentFresh && h.healthy && h.k8sReady !== false;
}

function unhealthyText(h: NodeHealth): string {
  if (h.reason) return h.reason;
  if (!h.agentFresh) return "no recent report from its agent";
  if (h.k8sReady === false) return "kubernetes node not Ready";
  return "unhealthy";
}

/** Conditions that block every queued request alike, first match wins. */
function globalBlock(input: GrantInput, windowReason: string): string {
  const { now, limits, rollout, holders } = input;
  if (rollout.paused) return `paused by operator: ${rollout.paused.reason}`;
  if (rollout.halted) return `rollout halted: ${rollout.halted.reason}`;
  // Between the move of the rollout's revision and its desired bundles, a request for the old bundle is not stale yet.
  if (rollout.adopting) return `revision ${rollout.adopting.revision.slice(0, 12)} is being adopted: its desired bundles are not all written yet`;
  if (windowReason) return windowReason;
  const pods = blockingPodsGlobal(input.blockingPods);
  if (pods) return pods;
  if (holders.length >= limits.maxUnavailable) return disrupted(holders, limits.maxUnavailable, "node");
  const held = new Set(holders.map((h) => h.node));
  const sick = [...input.health.entries()].filter(([node, h]) => !held.has(node) && !isHealthy(h)).sort(([a], [b]) => (a < b ? -1 : 1));
  const first = sick[0];
  if (first) {
    const more = sick.length > 1 ? ` (and ${sick.length - 1} more: ${list(sick.slice(1).map(([n]) => n))})` : "";
    return `node ${first[0]} unhealthy: ${unhealthyText(first[1])}${more}`;
  }
  if (!input.clusterChecks.ok) {
    const [check, ...rest] = input.clusterChecks.failing;
    const more = rest.length > 0 ? ` (and ${rest.length} more: ${list(rest.map((c) => c.name))})` : "";
    return check ? `check ${check.name} failing: ${check.message || "no message"}${more}` : "cluster checks failing";
  }
  const settleEnd = settleEndMs(input);
  if (settleEnd > now) return `settling: ${Math.ceil((settleEnd - now) / 1000)}s left`;
  return "";
}

function settleEndMs(input: GrantInput): number {
  const last = input.rollout.lastReleaseAtMs;
  return last === undefined ? 0 : last + input.limits.settleSeconds * 1000;
}

function wakeAt(input: GrantInput, windowWake: number | null): number | null {
  const times: number[] = [];
  const settleEnd = settleEndMs(input);
  if (settleEnd > input.now) times.push(settleEnd);
  if (windowWake !== null) times.push(windowWake);
  const soakEnd = input.canary?.soakEndsMs;
  if (soakEnd !== undefined && soakEnd > input.now) times.push(soakEnd);
  // Blocking pods end without an event: look again a little later.
  const pods = input.blockingPods;
  if (pods && (pods.error || pods.pods.some((p) => pods.rule.scope === "cluster" || input.queue.some((q) => q.node === p.node)))) times.push(input.now + BLOCKING_POD_POLL_MS);
  return times.length > 0 ? Math.min(...times) : null;
}

/**
 * Strict FIFO: when a request cannot be granted for lack of capacity (the cluster, server, pool or label-value
 * limit), nobody behind it overtakes, even a node that would fit. Overtaking could starve servers forever on a
 * busy cluster, and a strict order is what operators can predict. The exceptions are nodes that wait for other
 * nodes to go first, an agent waiting for the servers to upgrade (skew rule) and a node waiting for the canaries,
 * step aside, or they would block the very nodes they wait for; so does a node whose own pods block it.
 */
export function decideGrants(input: GrantInput): GrantDecision {
  if (input.queue.length === 0) return { grants: [], blocked: [], headReason: "", wakeAtMs: null };
  const fit = fitWindows(input.limits.windows ?? [], input.now, (input.limits.expectedDisruptionSeconds ?? 0) * 1000);
  const wake = wakeAt(input, fit.wakeAtMs);
  const global = globalBlock(input, fit.reason);
  if (global) return { grants: [], blocked: input.queue.map((q) => ({ node: q.node, reason: global })), headReason: global, wakeAtMs: wake };

  const facts = input.nodes ?? NO_FACTS;
  const holding = [...input.holders];
  const grants: RoleOf[] = [];
  const blocked: Array<{ node: string; reason: string }> = [];
  let stop: { node: string; reason: string } | undefined;
  let picked = 0;
  for (const q of input.queue) {
    const first = canaryBlock(input.canary ?? null, q.node, picked, input.now) || skewBlock(q, facts) || blockingPodsOn(input.blockingPods, q.node);
    if (first) {
      blocked.push({ node: q.node, reason: first });
      continue;
    }
    if (stop) {
      // A full node limit blocks everyone alike; any other limit blocks the first and, by FIFO, those behind it.
      const everyone = holding.length >= input.limits.maxUnavailable;
      blocked.push({ node: q.node, reason: everyone ? stop.reason : `behind ${stop.node} in the queue (${stop.reason})` });
      continue;
    }
    const full = capacityBlock(holding, q, input.limits, facts);
    if (full) {
      stop = { node: q.node, reason: full };
      blocked.push(stop);
      continue;
    }
    grants.push(q);
    holding.push(q);
    if (input.canary?.stage === "canary" && !input.canary.canaries.includes(q.node)) picked++;
  }
  return { grants, blocked, headReason: blocked[0]?.reason ?? "", wakeAtMs: wake };
}
