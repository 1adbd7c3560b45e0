// Converts the operator views (status, nodes, leases, events) to AdminService wire messages.
import type { NodeStatus, RolloutStatus } from "../../../shared/src/proto/gen/nk/v1/admin.js";
import type { Event } from "../../../shared/src/proto/gen/nk/v1/common.js";
import { APPLY_PHASES, applyPhaseToWire, type ApplyPhaseName } from "../../../shared/src/wire/index.js";
import type { EventView, NodeView, RolloutView } from "../status/index.js";

export function rolloutToWire(r: RolloutView): RolloutStatus {
  return {
    revision: r.revision,
    paused: r.paused,
    pauseReason: r.pauseReason,
    halted: r.halted,
    haltReason: r.haltReason,
    nodesTotal: r.nodesTotal,
    nodesConverged: r.nodesConverged,
    blockedReason: r.blockedReason,
    stage: r.stage,
  };
}

export function nodeToWire(n: NodeView): NodeStatus {
  const phase = (APPLY_PHASES as readonly string[]).includes(n.phase) ? applyPhaseToWire(n.phase as ApplyPhaseName) : 0;
  return {
    name: n.name,
    role: n.role,
    address: n.address,
    desiredRevision: n.desiredRevision,
    desiredSha256: n.desiredSha256,
    appliedRevision: n.appliedRevision,
    appliedSha256: n.appliedSha256,
    phase,
    health: n.healthy === null ? undefined : { healthy: n.healthy, checks: n.checks.map((c) => ({ ...c, observedAtMs: 0 })), observedAtMs: n.lastReportMs },
    lastError: n.lastError,
    lastReportMs: n.lastReportMs,
    agentVersion: n.agentVersion,
    connected: n.connected,
    systemInfo: n.systemInfo ? { ...n.systemInfo, hostname: n.name } : undefined,
    enrolled: n.enrolled,
    bootId: "",
    cordoned: n.cordoned,
    k8sReady: n.k8sReady === true,
    holdsApiVip: n.holdsApiVip,
    k3sRunning: n.k3sRunning,
    k3sNext: n.k3sNext,
    reportedSha256: n.reportedSha256,
  };
}

export function eventToWire(e: EventView): Event {
  return { seq: e.seq, timeMs: e.timeMs, kind: e.kind, node: e.node, revision: e.revision, message: e.message, fields: { ...e.fields } };
}
