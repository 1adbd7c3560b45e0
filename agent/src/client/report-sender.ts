// Sends the agent's reports: every phase change at once, plus a heartbeat; coalesces and retries while the coordinator is away.
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import type { CheckResult, SystemInfo } from "../../../shared/src/proto/gen/nk/v1/common.js";
import { NK_VERSION } from "../../../shared/src/version/index.js";
import { applyPhaseToWire, bootPathsToWire, type ApplyPhaseName, type BootPaths } from "../../../shared/src/wire/index.js";
import { reportedPhase, reportSubject, type AgentState, type ApplyReport, type Reporter } from "../apply/index.js";
import type { CoordinatorClient } from "./coordinator-client.js";

export interface NodeHealthNow {
  readonly healthy: boolean;
  readonly checks: readonly CheckResult[];
}

export interface ReportSenderDeps {
  readonly client: CoordinatorClient;
  readonly state: () => AgentState;
  readonly facts: () => Promise<SystemInfo>;
  readonly machine: () => Promise<{ bootId: string; bootedSystem: string; currentSystem: string; bootedBoot?: BootPaths; holdsApiVip: boolean }>;
  /** Health as of now, for heartbeats (phase reports reuse the last one). */
  readonly health: () => Promise<NodeHealthNow>;
  readonly heartbeatMs: number;
  readonly now: () => number;
  readonly log: Logger;
  /** The coordinator asked to hold back disruptive steps (paused or halted), for logs and status. */
  readonly onHalt?: (halt: boolean, reason: string) => void;
  /** The k3s version a system path runs (System.k3sVersion, remembered); without it none is reported. */
  readonly k3sVersion?: (systemPath: string) => Promise<string | null>;
  /** The version this agent process is (the one Hello sends); defaults to NK_VERSION. */
  readonly agentVersion?: string;
}

export class ReportSender implements Reporter {
  private pending: ApplyReport | null = null;
  /** The last report a phase change sent: heartbeats in that phase repeat what it was about. */
  private lastPhaseReport: ApplyReport | null = null;
  private sending = false;
  private timer: NodeJS.Timeout | null = null;
  private lastHealth: NodeHealthNow = { healthy: false, checks: [] };
  private lastOk = 0;

  constructor(private readonly deps: ReportSenderDeps) {}

  /** When the coordinator last acknowledged a report (for "coordinator reachable"). */
  get lastAcknowledgedAt(): number {
    return this.lastOk;
  }

  report(report: ApplyReport): void {
    this.pending = report;
    this.lastPhaseReport = report;
    void this.flush();
  }

  start(): void {
    const beat = async (): Promise<void> => {
      try {
        this.lastHealth = await this.deps.health();
      } catch (err) {
        this.lastHealth = { healthy: false, checks: [{ name: "health-probe", ok: false, message: errorMessage(err), observedAtMs: this.deps.now() }] };
      }
      this.pending ??= this.fromState();
      await this.flush();
    };
    void beat();
    this.timer = setInterval(() => void beat(), this.deps.heartbeatMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private fromState(): ApplyReport {
    const s = this.deps.state();
    const rev = reportSubject(s, this.lastPhaseReport);
    return { phase: s.phase, revision: rev.revision, sha256: rev.sha256, ...(s.lastError ? { error: s.lastError } : {}), fencingToken: s.lease?.fencingToken ?? null };
  }

  private async flush(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.pending) {
        const report = this.pending;
        this.pending = null;
        try {
          await this.send(report);
          this.lastOk = this.deps.now();
        } catch (err) {
          // Keep the newest report and try again on the next heartbeat.
          this.pending ??= report;
          this.deps.log.debug({ err: errorMessage(err) }, "report not delivered; will retry");
          return;
        }
      }
    } finally {
      this.sending = false;
    }
  }

  private async send(report: ApplyReport): Promise<void> {
    const s = this.deps.state();
    const [systemInfo, machine] = await Promise.all([this.deps.facts(), this.deps.machine()]);
    const k3s = await this.k3sVersions(machine.currentSystem, s.target?.systemPath ?? null);
    const now = this.deps.now();
    const res = await this.deps.client.report({
      revision: report.revision,
      bundleSha256: report.sha256,
      phase: applyPhaseToWire(reportedPhase(report.phase) as ApplyPhaseName),
      health: { healthy: this.lastHealth.healthy, checks: [...this.lastHealth.checks], observedAtMs: now },
      error: report.error ?? "",
      systemInfo,
      agentVersion: this.deps.agentVersion ?? NK_VERSION,
      bootId: machine.bootId,
      bootedSystem: machine.bootedSystem,
      currentSystem: machine.currentSystem,
      holdsApiVip: machine.holdsApiVip,
      bootedBoot: machine.bootedBoot ? bootPathsToWire(machine.bootedBoot) : undefined,
      fencingToken: report.fencingToken ?? 0,
      appliedRevision: s.applied?.revision ?? "",
      appliedSha256: s.applied?.sha256 ?? "",
      sentAtMs: now,
      k3sRunning: k3s.running,
      k3sNext: k3s.next,
    });
    this.deps.onHalt?.(res.haltDisruption, res.haltReason);
  }

  /** The k3s running now and the one the built system of the apply in flight would run; empty when unknown. */
  private async k3sVersions(current: string, built: string | null): Promise<{ running: string; next: string }> {
    const read = this.deps.k3sVersion;
    if (!read) return { running: "", next: "" };
    const [running, next] = await Promise.all([current ? read(current) : null, built ? read(built) : null]);
    return { running: running ?? "", next: next ?? "" };
  }
}
