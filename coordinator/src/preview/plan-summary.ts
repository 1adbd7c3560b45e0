// Pure: a preview plan's totals, the leases its rollout needs, a duration estimate and the one-line summary.
import type { BootChange, PreviewOutcomeName } from "../../../shared/src/wire/index.js";
import { FINAL_OUTCOMES } from "../../../shared/src/wire/index.js";

export interface NodePlanRecord {
  readonly node: string;
  readonly role: string;
  readonly outcome: PreviewOutcomeName;
  readonly reason: string;
  readonly units: readonly string[];
  readonly changes: readonly BootChange[];
  readonly logTail: string;
  /** The preview bundle's sha256 for this node ("" for a node the revision drops). */
  readonly sha256: string;
  readonly updatedAtMs: number;
}

export interface PlanRecord {
  readonly name: string;
  readonly revision: string;
  /** The commit's tree: a main push of the same tree gets this plan's summary. */
  readonly tree: string;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
  /** builders: built by the builders (builders mode) and classified from paths; absent: built on the nodes. */
  readonly builtBy?: "builders";
  readonly nodes: readonly NodePlanRecord[];
}

export interface PlanTotals {
  readonly reboots: number;
  readonly restarts: number;
  readonly switches: number;
  readonly noOps: number;
  readonly failed: number;
  readonly pending: number;
  readonly cancelled: number;
}

export interface RolloutLimits {
  readonly maxUnavailable: number;
  readonly maxUnavailableServers: number;
  readonly settleSeconds: number;
  readonly hasWindow: boolean;
}

export interface Estimate {
  readonly ms: number;
  readonly basis: string;
}

export interface PlanView extends PlanRecord {
  readonly totals: PlanTotals;
  readonly rebootLeases: number;
  readonly restartLeases: number;
  readonly estimate: Estimate;
  readonly complete: boolean;
  readonly summary: string;
}

/** What one disruption (drain, reboot or restart, health, uncordon) is assumed to take without any history. */
export const ASSUMED_WINDOW_MS = { reboot: 300_000, restart: 90_000 } as const;

export function planTotals(nodes: readonly NodePlanRecord[]): PlanTotals {
  const count = (...o: PreviewOutcomeName[]) => nodes.filter((n) => o.includes(n.outcome)).length;
  return { reboots: count("reboot"), restarts: count("restart"), switches: count("switch"), noOps: count("no-op"), failed: count("build-failed"), pending: count("pending", "building"), cancelled: count("cancelled") };
}

/** Lease windows (granted → released) from the journal, oldest first: durations in ms. */
export function disruptionWindows(events: readonly { kind: string; node?: string; timeMs: number }[]): number[] {
  const open = new Map<string, number>();
  const out: number[] = [];
  for (const e of events) {
    if (!e.node) continue;
    if (e.kind === "lease-granted") open.set(e.node, e.timeMs);
    else if ((e.kind === "lease-released" || e.kind === "lease-released-failed") && open.has(e.node)) {
      out.push(e.timeMs - open.get(e.node)!);
      open.delete(e.node);
    }
  }
  return out;
}

function minutes(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 6_000) / 10} min`;
}

/**
 * Waves of disruptive nodes, as the grant rule lets them through (max_unavailable, and max_unavailable_servers for
 * servers), each as long as the recent windows' mean (or the assumption), settle time between waves.
 */
export function estimateRollout(nodes: readonly NodePlanRecord[], limits: RolloutLimits, recentWindowsMs: readonly number[]): Estimate {
  const disruptive = nodes.filter((n) => n.outcome === "reboot" || n.outcome === "restart");
  if (disruptive.length === 0) return { ms: 0, basis: "no disruptive step: switches run on every node at once" };
  const servers = disruptive.filter((n) => n.role === "server").length;
  const waves = Math.max(Math.ceil(disruptive.length / Math.max(1, limits.maxUnavailable)), Math.ceil(servers / Math.max(1, limits.maxUnavailableServers)));
  const recent = recentWindowsMs.slice(-20);
  const reboots = disruptive.filter((n) => n.outcome === "reboot").length;
  const assumed = (reboots * ASSUMED_WINDOW_MS.reboot + (disruptive.length - reboots) * ASSUMED_WINDOW_MS.restart) / disruptive.length;
  const windowMs = recent.length > 0 ? recent.reduce((a, b) => a + b, 0) / recent.length : assumed;
  const ms = Math.round(waves * windowMs + (waves - 1) * limits.settleSeconds * 1000);
  const per = recent.length > 0 ? `${minutes(windowMs)} (mean of the last ${recent.length} disruption windows)` : `${minutes(windowMs)} (assumed: no disruption window recorded yet)`;
  const window = limits.hasWindow ? "; grants wait for the maintenance window" : "";
  return { ms, basis: `${waves} wave(s) of at most ${limits.maxUnavailable} node(s) (${limits.maxUnavailableServers} server(s)) × ${per} + ${limits.settleSeconds} s settle between waves${window}` };
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

export function viewPlan(plan: PlanRecord, limits: RolloutLimits, recentWindowsMs: readonly number[]): PlanView {
  const totals = planTotals(plan.nodes);
  const estimate = estimateRollout(plan.nodes, limits, recentWindowsMs);
  const complete = plan.nodes.every((n) => FINAL_OUTCOMES.has(n.outcome));
  const parts = [plural(totals.reboots, "reboot"), plural(totals.restarts, "restart"), plural(totals.switches, "switch", "switches"), `${totals.failed} failed`, `${totals.noOps} unchanged`];
  if (totals.pending > 0) parts.push(`${totals.pending} still building`);
  if (totals.cancelled > 0) parts.push(`${totals.cancelled} cancelled`);
  const leases = totals.reboots + totals.restarts === 0 ? "no lease needed" : `needs ${plural(totals.reboots, "reboot lease")} and ${plural(totals.restarts, "restart lease")}`;
  const summary = `plan ${plan.name} (${plan.revision.slice(0, 12)}): ${parts.join(", ")}; ${leases}; rollout about ${minutes(estimate.ms)}`;
  return { ...plan, totals, rebootLeases: totals.reboots, restartLeases: totals.restarts, estimate, complete, summary };
}
