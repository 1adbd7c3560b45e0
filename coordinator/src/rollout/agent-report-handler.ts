// What a node's report changes beyond the registry: its health, the report metric, and a halt when it newly failed.
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import type { NodeReport } from "../store/index.js";
import { isNewFailure } from "./failure-report.js";

export interface ReportHealth {
  noteConnected(node: string, connected: boolean): void;
  noteReport(node: string, healthy: boolean, checks: NodeReport["health"]["checks"], atMs: number): void;
}

export interface AgentReportHandlerDeps {
  readonly health: ReportHealth;
  /** Halts the rollout's disruptive steps for the failed node's revision (LeaseManager.noteFailure). */
  readonly noteFailure: (node: string, revision: string, error: string) => Promise<void>;
  readonly onReport?: () => void;
  readonly log: Logger;
}

/**
 * For AgentService.Report: `before` is the node's previous report, so a failure halts once, not at every heartbeat.
 * A halt whose store write failed (etcd cut off, seen in HA chaos) is tried again at the failure's next repeat, until
 * it is written or the node reports something else: else the rollout would go on past a failed node.
 */
export function agentReportHandler(deps: AgentReportHandlerDeps): (node: string, report: NodeReport, before: NodeReport | undefined) => void {
  /** Nodes whose halt is still to be written, by the failure it is for; true while an attempt runs. */
  const unwritten = new Map<string, { key: string; trying: boolean }>();
  const keyOf = (r: NodeReport): string => `${r.phase}\0${r.revision}\0${r.sha256}`;
  const halt = (node: string, report: NodeReport, key: string): void => {
    unwritten.set(node, { key, trying: true });
    deps.noteFailure(node, report.revision, report.error).then(
      () => {
        if (unwritten.get(node)?.key === key) unwritten.delete(node);
      },
      (err: unknown) => {
        deps.log.error({ node, err: errorMessage(err) }, "halting the rollout for a failed node failed; trying again at its next report");
        const pending = unwritten.get(node);
        if (pending?.key === key) pending.trying = false;
      },
    );
  };
  return (node, report, before) => {
    deps.onReport?.();
    deps.health.noteReport(node, report.health.healthy, report.health.checks, report.atMs);
    const key = keyOf(report);
    const pending = unwritten.get(node);
    if (pending && pending.key !== key) unwritten.delete(node);
    if (isNewFailure(report, before) || (pending?.key === key && !pending.trying)) halt(node, report, key);
  };
}

/** For TelemetrySync: reported through another coordinator, so connected there, and as fresh as its report. */
export function remoteReportHandler(health: ReportHealth): (node: string, report: NodeReport) => void {
  return (node, report) => {
    health.noteConnected(node, true);
    health.noteReport(node, report.health.healthy, report.health.checks, report.atMs);
  };
}
