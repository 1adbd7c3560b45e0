// With several coordinators, agents report to whichever they reach: the shared store carries those
// reports, and this loop brings them into this coordinator's view (the leader's health gate needs them).
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import type { NodeReport, Store } from "../store/index.js";
import type { NodeRegistry } from "./node-registry.js";

export interface TelemetrySyncDeps {
  readonly store: Store;
  readonly registry: NodeRegistry;
  /** A report this coordinator did not receive itself. */
  readonly onRemoteReport: (node: string, report: NodeReport) => void;
  readonly intervalMs: number;
  readonly log: Logger;
}

export class TelemetrySync {
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(private readonly deps: TelemetrySyncDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.syncOnce(), this.deps.intervalMs);
    this.timer.unref();
  }

  async syncOnce(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const readSince = this.deps.registry.readMark();
      for (const record of await this.deps.store.listNodes()) {
        if (this.deps.registry.noteRemote(record, { readSince }) && record.lastReport) {
          const r = record.lastReport;
          this.deps.log.debug({ node: record.name, phase: r.phase, sha: r.sha256.slice(0, 12), atMs: r.atMs }, "report from the shared store");
          this.deps.onRemoteReport(record.name, r);
        }
      }
    } catch (err) {
      this.deps.log.warn({ err: errorMessage(err) }, "cannot read shared telemetry");
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
