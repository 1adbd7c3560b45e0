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

/** For AgentService.Report: `before` is the node's previous report, so a failure halts once, not at every heartbeat. */
export function agentReportHandler(deps: AgentReportHandlerDeps): (node: string, report: NodeReport, before: NodeReport | undefined) => void {
  return (node, report, before) => {
    deps.onReport?.();
    deps.health.noteReport(node, report.health.healthy, report.health.checks, report.atMs);
    if (!isNewFailure(report, before)) return;
    deps.noteFailure(node, report.revision, report.error).catch((err: unknown) => deps.log.error({ node, err: errorMessage(err) }, "halting the rollout for a failed node failed"));
  };
}

/** For TelemetrySync: reported through another coordinator, so connected there, and as fresh as its report. */
export function remoteReportHandler(health: ReportHealth): (node: string, report: NodeReport) => void {
  return (node, report) => {
    health.noteConnected(node, true);
    health.noteReport(node, report.health.healthy, report.health.checks, report.atMs);
  };
}
