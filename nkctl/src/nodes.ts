// `nkctl nodes`: one row per node with desired/applied revision, apply phase, health, lease and agent.
import type { Command } from "commander";
import type { NodeStatus } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { applyPhaseFromWire, leaseFromWire, type LeaseInfo } from "../../shared/src/wire/index.js";
import { withAdmin } from "./admin-client.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { emit, formatAgo, formatTable, short } from "./output.js";

export function healthWord(n: NodeStatus): string {
  if (!n.health) return "unknown";
  return n.health.healthy ? "healthy" : "unhealthy";
}

function agentCell(n: NodeStatus): string {
  if (!n.enrolled) return "not enrolled";
  const version = n.agentVersion || "?";
  return n.connected ? version : `${version} (offline)`;
}

function leaseCell(l: LeaseInfo | undefined): string {
  if (!l) return "";
  return l.state === "queued" ? `queued #${l.queuePosition}` : l.state;
}

const WIDE_HEADERS = ["K8S", "CORDONED", "DESIRED-SHA256", "APPLIED-SHA256"];

function k8sCell(n: NodeStatus): string {
  return n.k8sReady ? "Ready" : "NotReady";
}

/** NAME ROLE ADDRESS DESIRED APPLIED PHASE HEALTH LEASE AGENT LAST-SEEN; wide adds K8S CORDONED and both sha256s. */
export function nodesTable(nodes: readonly NodeStatus[], leases: readonly LeaseInfo[], nowMs: number, wide = false): string {
  const byNode = new Map(leases.map((l) => [l.node, l]));
  const rows = [...nodes]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((n) => [
      n.name,
      n.role,
      n.address,
      short(n.desiredRevision),
      short(n.appliedRevision),
      applyPhaseFromWire(n.phase),
      healthWord(n),
      leaseCell(byNode.get(n.name)),
      agentCell(n),
      formatAgo(n.lastReportMs, nowMs),
      ...(wide ? [k8sCell(n), n.cordoned ? "yes" : "no", short(n.desiredSha256), short(n.appliedSha256)] : []),
    ]);
  return formatTable(["NAME", "ROLE", "ADDRESS", "DESIRED", "APPLIED", "PHASE", "HEALTH", "LEASE", "AGENT", "LAST-SEEN", ...(wide ? WIDE_HEADERS : [])], rows);
}

export function nodeJson(n: NodeStatus, lease: LeaseInfo | undefined): Record<string, unknown> {
  return {
    name: n.name,
    role: n.role,
    address: n.address,
    desiredRevision: n.desiredRevision,
    desiredSha256: n.desiredSha256,
    appliedRevision: n.appliedRevision,
    appliedSha256: n.appliedSha256,
    phase: applyPhaseFromWire(n.phase),
    health: n.health ? { healthy: n.health.healthy, checks: n.health.checks.map((c) => ({ name: c.name, ok: c.ok, message: c.message })) } : null,
    lastError: n.lastError,
    lastReportMs: n.lastReportMs,
    agentVersion: n.agentVersion,
    connected: n.connected,
    enrolled: n.enrolled,
    cordoned: n.cordoned,
    k8sReady: n.k8sReady,
    lease: lease ?? null,
  };
}

export function registerNodes(program: Command, ctx: CliContext): void {
  program
    .command("nodes")
    .description("every node: desired and applied revision, apply phase, health, lease, agent, last report")
    .action(async (_opts: object, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      // GetStatus rather than ListNodes: one answer carries the nodes and the leases to join them with.
      const res = await withAdmin(ctx, globals, (api) => api.getStatus());
      const leases = res.leases.map(leaseFromWire);
      const byNode = new Map(leases.map((l) => [l.node, l]));
      emit(ctx, globals.output, { nodes: res.nodes.map((n) => nodeJson(n, byNode.get(n.name))) }, (wide) => {
        const table = nodesTable(res.nodes, leases, ctx.now(), wide);
        const errors = res.nodes.filter((n) => n.lastError).map((n) => `${n.name}: ${n.lastError}\n`);
        return errors.length > 0 ? `${table}\nlast errors:\n${errors.join("")}` : table;
      });
    });
}
