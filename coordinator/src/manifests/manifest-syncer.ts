// Decides when manifests/ is applied (after the push, once servers converge, or by hand), one run at a time, retried with backoff.
import type { Inventory, RepoFiles } from "../../../shared/src/inventory/index.js";
import { formatDiagnostic } from "../../../shared/src/inventory/index.js";
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import { readManifests, type ManifestObject } from "../../../shared/src/manifests/index.js";
import { doublingDelayMs } from "../../../shared/src/time/index.js";
import { ChangeSignal } from "../fleet/change-signal.js";
import type { ApplyReport, ManifestDriver, ObjectStatus } from "./manifest-driver.js";
import { EMPTY_MANIFESTS_VIEW, type ManifestObjectView, type ManifestsState, type ManifestsView } from "./manifests-view.js";

export interface AdoptedRevision {
  readonly revision: string;
  readonly inventory: Inventory;
  readonly files: RepoFiles;
}

export interface SyncerTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ManifestSyncerDeps {
  readonly driver: ManifestDriver;
  readonly current: () => AdoptedRevision | null;
  /** Every server runs its bundle of the current revision. */
  readonly serversConverged: () => boolean;
  readonly isLeader: () => boolean;
  readonly events: { appendEvent(e: { kind: string; revision?: string; message: string; fields?: Record<string, string> }): Promise<unknown> };
  readonly metrics?: { manifestApply(ok: boolean, seconds: number, pruned: number): void };
  readonly log: Logger;
  readonly now: () => number;
  readonly timers?: SyncerTimers;
  /** First retry delay; doubles up to maxBackoffMs. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

function summary(report: ApplyReport): string {
  const counts = new Map<string, number>();
  for (const o of report.objects) counts.set(o.action, (counts.get(o.action) ?? 0) + 1);
  return [...counts].map(([action, n]) => `${n} ${action}`).join(", ") || "no objects";
}

export class ManifestSyncer {
  readonly changed = new ChangeSignal<void>();
  private view: ManifestsView = EMPTY_MANIFESTS_VIEW;
  private health = new Map<string, ObjectStatus>();
  private running: Promise<void> | null = null;
  private again = false;
  private forced = false;
  private retry: { handle: unknown; atMs: number } | null = null;
  private stopped = false;
  private readonly timers: SyncerTimers;

  constructor(private readonly deps: ManifestSyncerDeps) {
    this.timers = deps.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms).unref(), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
  }

  snapshot(): ManifestsView {
    return this.view;
  }

  /** A new revision was adopted: forget the old one's backoff and decide again. */
  noteAdopted(): void {
    this.clearRetry();
    this.view = { ...this.view, failures: 0 };
    this.evaluate();
  }

  /** Something the decision depends on changed (a node report, leadership). */
  evaluate(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const forced = this.forced;
    this.forced = false;
    const current = this.deps.current();
    if (!current) return;
    const mode = current.inventory.manifests.apply;
    const base = { mode, revision: current.revision };
    const waitFor = (state: ManifestsState, error = ""): void => {
      const next = { ...base, state, error: error || (state === "failed" ? this.view.error : "") };
      if (next.state !== this.view.state || next.revision !== this.view.revision || next.mode !== this.view.mode || next.error !== this.view.error) this.set(next);
    };
    if (!this.deps.driver.enabled) return waitFor("disabled", "no Kubernetes access configured (kubeconfigFile): manifests are validated but not applied");
    if (!this.deps.isLeader()) return waitFor("standby");
    const done = this.view.appliedRevision === current.revision && this.view.state === "applied";
    if (!forced) {
      if (done) return;
      if (this.retry) return waitFor("failed");
      if (mode === "manual") return waitFor("manual");
      if (mode === "after-servers" && !this.deps.serversConverged()) return waitFor("waiting");
    }
    // Nothing awaits a run started here: a rejection (etcd unreachable for the event, a driver that throws) would be
    // unhandled and end the process (found by the HA chaos run: a new leader's event write, with etcd cut off).
    this.running = this.run(current).catch((err: unknown) => this.runFailed(current, err)).finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.evaluate();
      }
    });
  }

  /** nkctl manifests apply: runs now whatever the mode (after a run in progress), and resolves with the outcome. */
  async applyNow(): Promise<ManifestsView> {
    while (this.running) await this.running;
    this.clearRetry();
    this.forced = true;
    this.evaluate();
    while (this.running) await this.running;
    return this.view;
  }

  /** Live status of each object of the current revision (exists, in sync, health). */
  async liveStatus(): Promise<readonly ObjectStatus[]> {
    const current = this.deps.current();
    if (!current || !this.deps.driver.enabled) return [];
    return this.deps.driver.status(this.request(current, this.objectsOf(current).objects));
  }

  stop(): void {
    this.stopped = true;
    this.clearRetry();
  }

  private objectsOf(current: AdoptedRevision): { objects: readonly ManifestObject[]; problems: string[] } {
    const read = readManifests(current.files, current.inventory.manifests);
    return { objects: read.objects, problems: read.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic) };
  }

  private request(current: AdoptedRevision, objects: readonly ManifestObject[]) {
    return { cluster: current.inventory.cluster.name, revision: current.revision, objects, settings: current.inventory.manifests };
  }

  private async run(current: AdoptedRevision): Promise<void> {
    const started = this.deps.now();
    const { objects, problems } = this.objectsOf(current);
    this.set({ mode: current.inventory.manifests.apply, revision: current.revision, state: "applying", lastAttemptMs: started, nextRetryMs: 0, objects: objects.map((o) => this.row(`${o.group === "" ? o.kind : `${o.kind}.${o.group}`} ${o.namespace === null ? "" : `${o.namespace}/`}${o.name}`, `${o.file}:${o.line}`, "pending", "")) });
    let report: ApplyReport;
    if (problems.length > 0) report = { revision: current.revision, ok: false, objects: [], error: `manifests do not validate: ${problems.slice(0, 3).join("; ")}` };
    else {
      this.deps.log.info({ revision: current.revision, objects: objects.length }, "applying manifests");
      report = await this.deps.driver.apply(this.request(current, objects));
    }
    const pruned = report.objects.filter((o) => o.action === "pruned").length;
    this.deps.metrics?.manifestApply(report.ok, (this.deps.now() - started) / 1000, pruned);
    if (report.ok) {
      this.health = new Map((await this.deps.driver.status(this.request(current, objects)).catch(() => [])).map((s) => [s.key, s]));
      this.set({ state: "applied", appliedRevision: current.revision, error: "", failures: 0, objects: this.rows(report) });
      this.deps.log.info({ revision: current.revision, summary: summary(report) }, "manifests applied");
      await this.deps.events.appendEvent({ kind: "manifests-applied", revision: current.revision, message: `manifests of ${current.revision.slice(0, 12)} applied: ${summary(report)}` });
      return;
    }
    const firstBad = report.objects.find((o) => o.action === "conflict" || o.action === "failed" || o.action === "skipped");
    const error = [report.error, firstBad ? `${firstBad.key}${firstBad.source ? ` (${firstBad.source})` : ""}: ${firstBad.message ?? firstBad.action}` : ""].filter((s) => s).join("; ");
    const { failures, delay } = this.failed(current, error, { objects: this.rows(report) });
    // One event per revision's first failure and then each tenth: visible without flooding the log of events.
    if (failures === 1 || failures % 10 === 0) await this.deps.events.appendEvent({ kind: "manifests-failed", revision: current.revision, message: `manifests of ${current.revision.slice(0, 12)} failed (attempt ${failures}, retry in ${Math.round(delay / 1000)}s): ${error}` });
  }

  /** A run that threw: applied but its event not recorded (logged, nothing to redo), or failed (retried with backoff). */
  private runFailed(current: AdoptedRevision, err: unknown): void {
    const error = errorMessage(err);
    if (this.view.state === "applied" && this.view.appliedRevision === current.revision) {
      return void this.deps.log.warn({ revision: current.revision, err: error }, "manifests applied, but the event could not be recorded");
    }
    this.failed(current, error);
  }

  /** One more failure of this revision: the retry armed with doubling backoff, the view and the log told. */
  private failed(current: AdoptedRevision, error: string, patch: Partial<ManifestsView> = {}): { failures: number; delay: number } {
    const failures = this.view.failures + 1;
    const delay = doublingDelayMs(this.deps.initialBackoffMs ?? 5_000, failures, this.deps.maxBackoffMs ?? 300_000);
    this.scheduleRetry(delay);
    this.set({ ...patch, state: "failed", error, failures });
    this.deps.log.warn({ revision: current.revision, error, retryInMs: delay }, "manifests apply failed");
    return { failures, delay };
  }

  private row(key: string, source: string, action: ManifestObjectView["action"], message: string): ManifestObjectView {
    const h = this.health.get(key);
    return { key, source, action, message, health: h?.health ?? "unknown", healthDetail: h?.detail ?? "" };
  }

  private rows(report: ApplyReport): ManifestObjectView[] {
    return report.objects.map((o) => this.row(o.key, o.source ?? "", o.action, o.message ?? ""));
  }

  private scheduleRetry(ms: number): void {
    this.clearRetry();
    const handle = this.timers.setTimeout(() => {
      this.retry = null;
      this.evaluate();
    }, ms);
    this.retry = { handle, atMs: this.deps.now() + ms };
    this.view = { ...this.view, nextRetryMs: this.retry.atMs };
  }

  private clearRetry(): void {
    if (this.retry) this.timers.clearTimeout(this.retry.handle);
    this.retry = null;
    this.view = { ...this.view, nextRetryMs: 0 };
  }

  private set(patch: Partial<ManifestsView>): void {
    this.view = { ...this.view, ...patch, nextRetryMs: this.retry?.atMs ?? 0 };
    this.changed.emit();
  }
}
