// The grant rule of DESIGN §6 as a pure function: who in the FIFO queue may start disrupting now, and why not.
import type { MaintenanceWindow, Role } from "../../../shared/src/inventory/index.js";
import { formatWindow, insideWindow, nextWindowOpen, windowCloses } from "./maintenance-window.js";

export interface NodeHealth {
  /** The agent reported recently enough to be trusted. */
  readonly agentFresh: boolean;
  readonly healthy: boolean;
  /** Null when the coordinator has no Kubernetes access. */
  readonly k8sReady: boolean | null;
  /** Why the node is unhealthy, in words ("k3s inactive"); may be empty. */
  readonly reason?: string;
}

export interface RoleOf {
  readonly node: string;
  readonly role: Role;
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

export interface GrantLimits {
  readonly maxUnavailable: number;
  readonly maxUnavailableServers: number;
  readonly window: MaintenanceWindow | null;
  readonly settleSeconds: number;
}

export interface RolloutGate {
  readonly paused?: { readonly reason: string };
  readonly halted?: { readonly reason: string };
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
}

export interface GrantDecision {
  /** In queue order; all may be granted together. */
  readonly grants: readonly RoleOf[];
  /** Every queued node not granted, in queue order, with why it waits. */
  readonly blocked: ReadonlyArray<{ readonly node: string; readonly reason: string }>;
  /** Why the head of the queue waits; empty when nothing is queued or nothing blocks. */
  readonly headReason: string;
  /** The next time a time-based condition (settle end, window open or close) changes; null if none. */
  readonly wakeAtMs: number | null;
}

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

function list(nodes: readonly string[], max = 3): string {
  const shown = nodes.slice(0, max).join(", ");
  return nodes.length > max ? `${shown} and ${nodes.length - max} more` : shown;
}

function disrupted(holders: readonly RoleOf[], limit: number, what: "node" | "server"): string {
  const names = holders.map((h) => h.node);
  const noun = limit === 1 && names.length <= 1 ? what : `${what}s`;
  return `waiting: ${names.length}/${limit} ${noun} disrupted (${list(names)})`;
}

/** Conditions that block every queued request alike, first match wins. */
function globalBlock(input: GrantInput): string {
  const { now, limits, rollout, holders } = input;
  if (rollout.paused) return `paused by operator: ${rollout.paused.reason}`;
  if (rollout.halted) return `rollout halted: ${rollout.halted.reason}`;
  if (limits.window && !insideWindow(limits.window, now)) return `outside maintenance window (${formatWindow(limits.window)})`;
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

/** Why a request of `role` cannot join `holders` now; empty when it can. */
function roleBlock(holders: readonly RoleOf[], role: Role, limits: GrantLimits): string {
  if (holders.length >= limits.maxUnavailable) return disrupted(holders, limits.maxUnavailable, "node");
  const servers = holders.filter((h) => h.role === "server");
  if (role === "server" && servers.length >= limits.maxUnavailableServers) return disrupted(servers, limits.maxUnavailableServers, "server");
  return "";
}

function wakeAt(input: GrantInput): number | null {
  const { now, limits } = input;
  const times: number[] = [];
  const settleEnd = settleEndMs(input);
  if (settleEnd > now) times.push(settleEnd);
  if (limits.window) {
    const edge = windowCloses(limits.window, now) ?? nextWindowOpen(limits.window, now);
    if (edge !== undefined) times.push(edge);
  }
  return times.length > 0 ? Math.min(...times) : null;
}

/**
 * Strict FIFO: when the head cannot be granted (e.g. it is a server and the server limit is
 * reached), nobody behind it overtakes, even an agent that would fit. Overtaking could starve
 * servers forever on a busy cluster, and a strict order is what operators can predict.
 */
export function decideGrants(input: GrantInput): GrantDecision {
  if (input.queue.length === 0) return { grants: [], blocked: [], headReason: "", wakeAtMs: null };
  const wake = wakeAt(input);
  const global = globalBlock(input);
  if (global) return { grants: [], blocked: input.queue.map((q) => ({ node: q.node, reason: global })), headReason: global, wakeAtMs: wake };

  const holding = [...input.holders];
  const grants: RoleOf[] = [];
  let index = 0;
  for (; index < input.queue.length; index++) {
    const q = input.queue[index]!;
    if (roleBlock(holding, q.role, input.limits)) break;
    grants.push(q);
    holding.push(q);
  }
  const rest = input.queue.slice(index);
  const head = rest[0];
  if (!head) return { grants, blocked: [], headReason: "", wakeAtMs: wake };
  const headReason = roleBlock(holding, head.role, input.limits);
  // A full node limit blocks everyone alike; a full server limit blocks the head and, by FIFO, those behind it.
  const everyone = holding.length >= input.limits.maxUnavailable;
  const blocked = rest.map((q, i) => ({ node: q.node, reason: i === 0 || everyone ? headReason : `behind ${head.node} in the queue (${headReason})` }));
  return { grants, blocked, headReason, wakeAtMs: wake };
}
