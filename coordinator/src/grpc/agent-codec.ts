// Converts AgentService wire messages to the coordinator's domain records and back.
import { vipCarrierNames, type Inventory } from "../../../shared/src/inventory/index.js";
import { etcdSnapshotFor } from "../../../shared/src/render/index.js";
import type { Health, SystemInfo } from "../../../shared/src/proto/gen/nk/v1/common.js";
import type { HelloRequest, ReportBuildRequest, ReportPreviewRequest, ReportRequest, WatchBuildJobsResponse, WatchDesiredResponse } from "../../../shared/src/proto/gen/nk/v1/agent.js";
import type { BuildJobMessage, BuildOutcome } from "../build/build-farm.js";
import { applyPhaseFromWire, desiredToWire, previewOutcomeFromWire, type DesiredBundle, type LeaseInfo, type PrebuiltSystem, type PreviewResult } from "../../../shared/src/wire/index.js";
import type { PreviewMessage } from "../preview/index.js";
import { DesiredWire } from "./agent-definition.js";
import type { NodeDesired } from "../inventory/index.js";
import type { LeaseView } from "../status/index.js";
import type { HealthRecord, NodeHello, NodeReport, RevisionRef, SystemInfoRecord } from "../store/index.js";

export function desiredBundleOf(d: NodeDesired, inventory: Inventory, prebuilt: PrebuiltSystem | null = null): DesiredBundle {
  const rollout = inventory.cluster.rollout;
  return {
    node: d.node.name,
    revision: d.revision,
    sha256: d.bundle.sha256,
    files: d.bundle.files,
    agentVersion: inventory.cluster.agent.version,
    rebootPolicy: rollout.reboot,
    checks: d.node.checks.map((c) => ({ name: c.name, command: c.command, expect: c.expect, timeoutMs: c.timeoutSeconds * 1000 })),
    secretNames: d.secretNames,
    healthDeadlineMs: rollout.healthDeadlineSeconds * 1000,
    activationTimeoutMs: rollout.activationTimeoutSeconds * 1000,
    createdAtMs: 0,
    prebuilt,
    ...(carriesVip(inventory, d.node.name) ? { apiVip: inventory.cluster.k3s.api!.vip } : {}),
    ...withEtcdSnapshot(etcdSnapshotFor(inventory, d.node, d.revision)),
  };
}

function withEtcdSnapshot(name: string | undefined): { etcdSnapshot?: string } {
  return name === undefined ? {} : { etcdSnapshot: name };
}

function carriesVip(inventory: Inventory, node: string): boolean {
  const api = inventory.cluster.k3s.api;
  return api !== undefined && vipCarrierNames(api, inventory.nodes).includes(node);
}

/** The node's WatchDesiredResponse, encoded when grpc-js frames it (the bytes the generated encoder would write). */
export function watchDesiredResponse(d: NodeDesired, inventory: Inventory, prebuilt: PrebuiltSystem | null = null): DesiredWire {
  return new DesiredWire(() => desiredBundleOf(d, inventory, prebuilt));
}

/** A build-only request (no `desired`, so agents that do not know previews drop it), or its cancellation. */
export function previewResponse(m: PreviewMessage): WatchDesiredResponse {
  const desired = m.desired && m.inventory ? desiredToWire(desiredBundleOf(m.desired, m.inventory)) : undefined;
  return { desired: undefined, preview: { name: m.name, cancel: m.cancel, desired } };
}

export function previewResultOf(req: ReportPreviewRequest): PreviewResult {
  return {
    name: req.name,
    sha256: req.bundleSha256,
    outcome: previewOutcomeFromWire(req.outcome),
    reason: req.reason,
    units: [...req.units],
    changes: req.changes.map((c) => ({ what: c.what, from: c.from, to: c.to })),
    logTail: req.logTail,
    systemPath: req.systemPath,
  };
}

function systemInfoOf(s: SystemInfo | undefined): SystemInfoRecord | undefined {
  if (!s) return undefined;
  return {
    kernel: s.kernel,
    os: s.os,
    uptimeSeconds: s.uptimeSeconds,
    cpuModel: s.cpuModel,
    cpuCores: s.cpuCores,
    memoryTotalBytes: s.memoryTotalBytes,
    memoryUsedBytes: s.memoryUsedBytes,
    diskTotalBytes: s.diskTotalBytes,
    diskUsedBytes: s.diskUsedBytes,
    hostname: s.hostname,
  };
}

function healthOf(h: Health | undefined, now: number): HealthRecord {
  if (!h) return { healthy: false, checks: [], observedAtMs: now };
  return {
    healthy: h.healthy,
    checks: h.checks.map((c) => ({ name: c.name, ok: c.ok, message: c.message.slice(0, 2000), observedAtMs: c.observedAtMs })),
    observedAtMs: h.observedAtMs || now,
  };
}

function appliedOf(revision: string, sha256: string): RevisionRef | undefined {
  return revision && /^[0-9a-f]{64}$/.test(sha256) ? { revision, sha256 } : undefined;
}

export function helloOf(req: HelloRequest, now: number): { hello: NodeHello; applied?: RevisionRef } {
  const systemInfo = systemInfoOf(req.systemInfo);
  const hello: NodeHello = {
    agentVersion: req.agentVersion,
    bootId: req.bootId,
    bootedSystem: req.bootedSystem,
    currentSystem: req.currentSystem,
    ...(systemInfo ? { systemInfo } : {}),
    phase: applyPhaseFromWire(req.phase),
    heldFencingToken: req.heldFencingToken,
    atMs: now,
  };
  const applied = appliedOf(req.appliedRevision, req.appliedSha256);
  return applied ? { hello, applied } : { hello };
}

export function reportOf(req: ReportRequest, now: number): { report: NodeReport; applied?: RevisionRef } {
  const systemInfo = systemInfoOf(req.systemInfo);
  const report: NodeReport = {
    revision: req.revision,
    sha256: req.bundleSha256,
    phase: applyPhaseFromWire(req.phase),
    health: healthOf(req.health, now),
    error: req.error.slice(0, 4000),
    ...(systemInfo ? { systemInfo } : {}),
    agentVersion: req.agentVersion,
    bootId: req.bootId,
    bootedSystem: req.bootedSystem,
    currentSystem: req.currentSystem,
    ...(req.holdsApiVip ? { holdsApiVip: true } : {}),
    ...(req.k3sRunning ? { k3sRunning: req.k3sRunning.slice(0, 64) } : {}),
    ...(req.k3sNext ? { k3sNext: req.k3sNext.slice(0, 64) } : {}),
    ...(req.bootedBoot ? { bootedBoot: { kernel: req.bootedBoot.kernel, initrd: req.bootedBoot.initrd, kernelModules: req.bootedBoot.kernelModules } } : {}),
    atMs: now,
  };
  const applied = appliedOf(req.appliedRevision, req.appliedSha256);
  return applied ? { report, applied } : { report };
}

export function leaseInfoOf(view: LeaseView): LeaseInfo {
  return { ...view, state: view.state as LeaseInfo["state"] };
}

export function buildJobMessage(job: BuildJobMessage): WatchBuildJobsResponse {
  return { revision: job.revision, targetNode: job.node, bundleSha256: job.bundleSha256, files: job.files.map((f) => ({ path: f.path, content: Buffer.from(f.content, "utf8"), executable: false })), cacheUrl: job.cacheUrl };
}

export function buildOutcomeOf(req: ReportBuildRequest): BuildOutcome {
  const orNull = (s: string): string | null => (s === "" ? null : s);
  if (!req.ok) return { ok: false, error: req.error || "the builder reported a failure without an error" };
  return { ok: true, built: { systemPath: req.systemPath, kernel: orNull(req.kernel), initrd: orNull(req.initrd), kernelModules: orNull(req.kernelModules) } };
}
