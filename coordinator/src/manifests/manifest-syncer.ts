// Decides when manifests/ is applied (after the push, once servers converge, or by hand), one run at a time, retried with backoff.
import type { Inventory, RepoFiles } from "../../../shared/src/inventory/index.js";
import { formatDiagnostic } from "../../../shared/src/inventory/index.js";
import { NkError, errorMessage } from "../../../shared/src/errors/index.js";
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

/** What the syncer reads of the store's rollout record (Store.getRollout). */
export interface StoreRollout {
  /** The cluster's revision: the last one whose adoption began, by any coordinator sharing the store. */
  readonly revision?: string;
  /** Set while that adoption is still writing its desired bundles. */
  readonly adopting?: { readonly revision: string };
}

export interface ManifestSyncerDeps {
  readonly driver: ManifestDriver;
  /** The revision this coordinator adopted (its catalog): perhaps behind the cluster's, with a shared store. */
  readonly current: () => AdoptedRevision | null;
  /**
   * The store's rollout record. A revision is applied (and pruned) only while it is the store's revision and fully
   * adopted: a new leader whose repo is behind would otherwise apply old manifests and prune the newer ones' objects.
   */
  readonly rollout: () => Promise<StoreRollout>;
  /** The revision the adopter holds without writing it, because the store is ahead (RevisionAdopter.deferred). */
  readonly deferred?: () => string | undefined;
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
  /**
   * How soon a revision that waits for the store (see `rollout`) is checked again, default 10 s. An adoption checks at
   * once; this covers what no signal here announces (another coordinator finishing its adoption).
   */
  readonly storeRecheckMs?: number;
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
  /** Armed while `revision` waits for the store: until it fires (or an adoption), evaluate() does not read the store. */
  private recheck: { handle: unknown; revision: string; reason: string } | null = null;
  /** Why the last forced run (applyNow) applied nothing: its revision was not the store's. */
  private refused: string | null = null;
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
    this.clearRecheck();
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
    if (this.recheck && this.recheck.revision !== current.revision) this.clearRecheck();
    const done = this.view.appliedRevision === current.revision && this.view.state === "applied";
    if (!forced) {
      if (done) return;
      if (this.retry) return waitFor("failed");
      if (mode === "manual") return waitFor("manual");
      if (mode === "after-servers" && !this.deps.serversConverged()) return waitFor("waiting");
      if (this.recheck) return waitFor("waiting", this.recheck.reason);
    }
    // Nothing awaits a run started here: a rejection (etcd unreachable for the event, a driver that throws) would be
    // unhandled and end the process (found by the HA chaos run: a new leader's event write, with etcd cut off).
    this.running = this.run(current, forced).catch((err: unknown) => this.runFailed(current, err)).finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.evaluate();
      }
    });
  }

  /**
   * nkctl manifests apply: runs now whatever the mode (after a run in progress), and resolves with the outcome. Not
   * while this coordinator's revision is not the store's: that throws UNAVAILABLE saying what it waits for.
   */
  async applyNow(): Promise<ManifestsView> {
    while (this.running) await this.running;
    this.clearRetry();
    this.refused = null;
    this.forced = true;
    this.evaluate();
    while (this.running) await this.running;
    const refused = this.refused;
    this.refused = null;
    if (refused !== null) throw new NkError("UNAVAILABLE", `manifests not applied: ${refused}`);
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
    this.clearRecheck();
  }

  private objectsOf(current: AdoptedRevision): { objects: readonly ManifestObject[]; problems: string[] } {
    const read = readManifests(current.files, current.inventory.manifests);
    return { objects: read.objects, problems: read.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic) };
  }

  private request(current: AdoptedRevision, objects: readonly ManifestObject[]) {
    return { cluster: current.inventory.cluster.name, revision: current.revision, objects, settings: current.inventory.manifests };
  }

  /**
   * Why `revision` must not be applied now, or null when it may: it is still this coordinator's revision, the adopter
   * did not hold it back, and the store names it as the cluster's revision with its adoption complete. With a
   * single coordinator (file store) the store's revision is always the catalog's once adopted.
   */
  private async notCurrent(revision: string): Promise<string | null> {
    const short = (r: string | undefined): string => (r === undefined ? "none" : r.slice(0, 12));
    const mine = this.deps.current()?.revision;
    if (mine !== revision) return `superseded: this coordinator has adopted ${short(mine)} since`;
    if (this.deps.deferred?.() === revision) return `waiting: this coordinator's revision ${short(revision)} is behind the cluster's (the store named a newer one at its adoption); it applies once it has fetched and adopted the cluster's revision`;
    const rollout = await this.deps.rollout().catch((err: unknown) => {
      throw new Error(`cannot read the cluster's revision from the store: ${errorMessage(err)}`, { cause: err });
    });
    if (rollout.revision !== revision) {
      return `waiting: this coordinator's revision ${short(revision)} is not the cluster's ${short(rollout.revision)} (behind it, or not recorded yet); it applies once it has adopted the cluster's revision`;
    }
    if (rollout.adopting !== undefined) return `waiting: the adoption of ${short(rollout.adopting.revision)} is still writing its desired bundles; manifests are applied once it completes`;
    return null;
  }

  /** The revision is not the store's: nothing applied; checked again after an adoption or storeRecheckMs. */
  private waitForStore(current: AdoptedRevision, reason: string, patch: Partial<ManifestsView> = {}): void {
    this.clearRecheck();
    const handle = this.timers.setTimeout(() => {
      this.recheck = null;
      this.evaluate();
    }, this.deps.storeRecheckMs ?? 10_000);
    this.recheck = { handle, revision: current.revision, reason };
    this.deps.log.info({ revision: current.revision, reason }, "manifests not applied: the revision is not the cluster's");
    this.set({ ...patch, mode: current.inventory.manifests.apply, revision: current.revision, state: "waiting", error: reason });
  }

  private async run(current: AdoptedRevision, forced: boolean): Promise<void> {
    const waiting = await this.notCurrent(current.revision);
    if (waiting !== null) {
      if (forced) this.refused = waiting;
      return this.waitForStore(current, waiting);
    }
    this.clearRecheck();
    const started = this.deps.now();
    const { objects, problems } = this.objectsOf(current);
    this.set({ mode: current.inventory.manifests.apply, revision: current.revision, state: "applying", lastAttemptMs: started, nextRetryMs: 0, objects: objects.map((o) => this.row(`${o.group === "" ? o.kind : `${o.kind}.${o.group}`} ${o.namespace === null ? "" : `${o.namespace}/`}${o.name}`, `${o.file}:${o.line}`, "pending", "")) });
    let report: ApplyReport;
    if (problems.length > 0) report = { revision: current.revision, ok: false, objects: [], error: `manifests do not validate: ${problems.slice(0, 3).join("; ")}` };
    else {
      this.deps.log.info({ revision: current.revision, objects: objects.length }, "applying manifests");
      // Asked again before the prune: a revision superseded during a long apply prunes nothing.
      report = await this.deps.driver.apply({ ...this.request(current, objects), superseded: () => this.notCurrent(current.revision) });
    }
    if (report.superseded) return this.waitForStore(current, report.error ?? "superseded", { objects: this.rows(report) });
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

  private clearRecheck(): void {
    if (this.recheck) this.timers.clearTimeout(this.recheck.handle);
    this.recheck = null;
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
