// Adopts an accepted inventory revision: validate, render what changed, persist desired refs, notify agents.
import { formatDiagnostic, validateRepo, type Diagnostic, type Inventory, type RepoFiles } from "../../../shared/src/inventory/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import type { AdoptResult, DesiredCatalog, NodeDesired } from "../inventory/index.js";
import type { RolloutRecord, Store } from "../store/index.js";
import { randomBytes } from "node:crypto";
import { NkError, errorMessage, isNkError } from "../../../shared/src/errors/index.js";
import { doublingDelayMs } from "../../../shared/src/time/index.js";
import type { DesiredFeed } from "./desired-feed.js";
import type { NodeRegistry } from "./node-registry.js";

export interface AdoptOptions {
  startup?: boolean;
  validated?: Inventory;
  pushedBy?: string;
}

export type AdoptOutcome = { ok: true; result: AdoptResult } | { ok: false; diagnostics: readonly Diagnostic[] };

export interface RevisionAdopterDeps {
  readonly store: Store;
  readonly catalog: DesiredCatalog;
  readonly registry: NodeRegistry;
  readonly feed: DesiredFeed;
  readonly log: Logger;
  readonly now: () => number;
  /** Called after a revision is live, e.g. for metrics and the lease manager. */
  readonly onAdopted?: (result: AdoptResult, renderMs: number) => void;
  /**
   * With a store shared by several coordinators: whether the store's rollout revision is newer than `revision` or
   * unknown here (not an ancestor of it). A coordinator started again on an older main then holds that main until its
   * upstream sync catches up: it writes nothing, and its streams send none of its older bundles (DesiredStream).
   */
  readonly storeIsAhead?: (revision: string, stored: string, startup: boolean) => Promise<boolean>;
  /** Called with the changed nodes' desired states before any agent hears of them (builders mode queues their builds). */
  readonly beforePublish?: (inventory: Inventory, changed: readonly NodeDesired[], all: readonly NodeDesired[]) => void;
  /**
   * Tries a failed adoption again by itself, after this many ms (doubling up to 30 s). For a coordinator that takes
   * pushes: nothing else retries a push's adoption. A follower retries through its own syncs.
   */
  readonly retryFailedMs?: number;
}

const MAX_UNJOURNALED = 16;

/** What the journal says of an adoption. */
interface AdoptionEntry {
  readonly revision: string;
  readonly changed: readonly string[];
  readonly unchanged: number;
  readonly renderMs: number;
  readonly pushedBy: string;
}

export class RevisionAdopter {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly retry: { timer?: NodeJS.Timeout; failures: number; latest: number } = { failures: 0, latest: 0 };
  private stopped = false;
  /** The revision this adopter last recorded in full: its registry then holds the store's desired refs. */
  private recorded: string | undefined;
  /** The revision this adopter last served without writing it, because the store named a newer one (see storeAhead). */
  private deferredRevision: string | undefined;
  /** Adoptions whose journal entry is not written yet, oldest first (bounded: the oldest go first when full). */
  private unjournaled: AdoptionEntry[] = [];
  /** The entry of the adoption that wrote nothing (deferredRevision): owed to the journal if that revision is written later. */
  private deferredEntry: AdoptionEntry | undefined;
  /** Nodes whose desired ref the adoption under way wrote (or found) in the store: announced once handed out. */
  private noted: string[] = [];

  constructor(private readonly deps: RevisionAdopterDeps) {}

  /** Validation as the pre-receive hook sees it: with the coordinator's secret names. */
  async validate(files: RepoFiles): Promise<{ diagnostics: readonly Diagnostic[]; ok: boolean }> {
    const knownSecrets = new Set((await this.deps.store.listSecrets()).map((s) => s.name));
    const result = validateRepo(files, { knownSecrets });
    return { diagnostics: result.diagnostics, ok: result.inventory !== null };
  }

  /** Serialised: two pushes in quick succession adopt in order. */
  /** `validated`: the inventory the pre-receive hook already validated for exactly these files (saves a second parse). */
  /** `pushedBy`: the name the pusher gave git, journaled with the adoption for the rollout history. */
  adopt(revision: string, files: RepoFiles, options: AdoptOptions = {}): Promise<AdoptOutcome> {
    // Only the latest adoption is ever retried: an older one's retry would take the cluster back.
    const call = ++this.retry.latest;
    clearTimeout(this.retry.timer);
    const run = this.chain.then(() => this.adoptNow(revision, files, options.startup ?? false, options.validated, options.pushedBy ?? ""));
    this.chain = run.catch(() => undefined);
    const retryMs = this.deps.retryFailedMs;
    if (retryMs !== undefined) {
      run.then(
        () => void (call === this.retry.latest && (this.retry.failures = 0)),
        () => call === this.retry.latest && this.retryLater(call, revision, files, options, retryMs),
      ).catch(() => undefined);
    }
    return run;
  }

  /** Main's commit whose last adoption wrote nothing because the store looked ahead; an upstream sync adopts it again. */
  get deferred(): string | undefined {
    return this.deferredRevision;
  }

  /** Stops a pending retry. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry.timer);
  }

  /** A failed adoption is tried again (1 s, doubling up to 30 s) until it succeeds or another adoption starts. */
  private retryLater(call: number, revision: string, files: RepoFiles, options: AdoptOptions, baseMs: number): void {
    if (this.stopped) return;
    const delayMs = doublingDelayMs(baseMs, ++this.retry.failures, 30_000);
    this.deps.log.warn({ rev: revision, delayMs }, "adoption failed; trying again shortly");
    this.retry.timer = setTimeout(() => {
      if (!this.stopped && call === this.retry.latest) void this.adopt(revision, files, options).catch(() => undefined);
    }, delayMs);
    this.retry.timer.unref();
  }

  private async adoptNow(revision: string, files: RepoFiles, startup: boolean, validated: Inventory | undefined, pushedBy: string): Promise<AdoptOutcome> {
    const { store, catalog, registry, feed, log } = this.deps;
    // Owed by this adoption from here on, or by none: a rejected or newer revision must not be adopted again for it.
    this.deferredRevision = undefined;
    // At startup a missing secret must not stop the coordinator from serving the last accepted revision.
    const knownSecrets = startup || validated ? undefined : new Set((await store.listSecrets()).map((s) => s.name));
    const validation = validated ? { inventory: validated, diagnostics: [] } : validateRepo(files, knownSecrets ? { knownSecrets } : {});
    if (!validation.inventory) {
      log.warn({ rev: revision, problems: validation.diagnostics.length }, "revision rejected");
      await store.appendEvent({ kind: "revision-rejected", revision, message: validation.diagnostics.map(formatDiagnostic).slice(0, 5).join("; ") });
      return { ok: false, diagnostics: validation.diagnostics };
    }
    const started = performance.now();
    const known = new Map(registry.all().flatMap((r) => (r.desired ? [[r.name, r.desired] as const] : [])));
    const served = new Set(catalog.nodes().map((d) => d.node.name));
    const result = catalog.adopt(revision, validation.inventory, files, known, this.deps.now());
    const renderMs = performance.now() - started;
    // An attempt that failed before its journal entry was written keeps the first attempt's entry: a retry of the same
    // revision finds the catalog already on it and would journal "0 node(s) changed". A later revision journals the
    // ones still owed first, in order (a push is not retried by itself).
    // The same goes for a revision served without being written (the store looked ahead) and adopted again.
    const owed = this.deferredEntry?.revision === revision ? this.deferredEntry : undefined;
    this.deferredEntry = undefined;
    if (!this.unjournaled.some((e) => e.revision === revision) && (owed !== undefined || !startup || result.changed.length > 0)) {
      this.unjournaled = [...this.unjournaled.slice(-(MAX_UNJOURNALED - 1)), owed ?? { revision, changed: result.changed, unchanged: result.unchanged, renderMs, pushedBy }];
    }

    // The catalog holds this revision from here on, and its changed bundles are published even when a store write
    // below fails: a later adoption compares with the catalog and would never publish them again (HA chaos seed
    // 24900027: etcd cut during an adoption, and a node kept its old bundle for good). Each stream sends a bundle only
    // once the store names it (DesiredStream); the refs written here are announced after the publish, so a bundle held
    // back by a failed write goes out when this or another coordinator's adoption writes it.
    // A node back in the inventory with the bundle the store still names is "unchanged", yet its streams were sent
    // nothing while it was out: it is handed out with the changed ones.
    // At the first adoption every node is back: a stream opened before it (the listeners may be up first) hears of it.
    const changedNow = new Set(result.changed);
    const back = catalog.nodes().filter((d) => !served.has(d.node.name) && !changedNow.has(d.node.name));
    const changed = [...result.changed.flatMap((name) => catalog.get(name) ?? []), ...back];
    const names = changed.map((d) => d.node.name);
    // A stream opened from here to the publish sends none of these: they reach it with the publish, once planned.
    feed.willPublish(names);
    const recordStarted = performance.now();
    let publishStarted = recordStarted;
    let behind = false;
    try {
      behind = await this.record(revision, startup);
      this.deferredRevision = behind ? revision : undefined;
    } finally {
      publishStarted = performance.now();
      try {
        this.deps.beforePublish?.(validation.inventory, changed, catalog.nodes());
        for (const desired of changed) feed.publish(desired);
      } finally {
        feed.published(names);
        registry.announceDesired(this.noted.splice(0));
      }
    }
    this.deps.onAdopted?.(result, renderMs);
    // The journal entry is history, not a decision input: agents need not wait for it.
    const journalStarted = performance.now();
    if (behind) {
      this.deferredEntry = this.unjournaled.find((e) => e.revision === revision);
      this.unjournaled = this.unjournaled.filter((e) => e.revision !== revision);
    }
    else {
      for (let next = this.unjournaled[0]; next; next = this.unjournaled[0]) {
        await this.journal(next);
        this.unjournaled.shift();
      }
    }
    // Where an adoption's time went, for a slow rollout start: the render, the store's writes, and handing the bundles
    // out (builders mode's planning, then encoding and writing each node's message to its streams).
    const ms = (from: number, to: number) => Math.round(to - from);
    const took = { renderMs: Math.round(renderMs), recordMs: ms(recordStarted, publishStarted), publishMs: ms(publishStarted, journalStarted), journalMs: ms(journalStarted, performance.now()) };
    log.info({ rev: revision, changed: result.changed.length, unchanged: result.unchanged, ...took }, "revision adopted");
    return { ok: true, result };
  }

  /**
   * What must be in the store before any agent hears of the revision. The rollout's revision first, marked
   * `adopting` and lifting a halt in the same update (a new push is the operator's answer to a halted rollout):
   * grants and canary gates read it, and a node whose new desired bundle were written first would meet the old
   * revision's gate. While `adopting` stands no lease is granted (the grant's own transaction checks it), since a
   * request for the old bundle is not stale until the desired bundles are written; they come next, each batch only
   * while the rollout still names this revision, then the mark is cleared. Returns whether the store is ahead of this
   * revision, so nothing was written.
   */
  private async record(revision: string, startup: boolean): Promise<boolean> {
    const { store, catalog, registry } = this.deps;
    const recorded = this.recorded;
    this.recorded = undefined;
    this.noted = [];
    let rollout = await store.getRollout();
    if (await this.storeAhead(revision, rollout, startup)) return this.mirrorStore();
    // The registry's desired refs are the store's only when this adopter wrote the last revision in full and no
    // adoption began since. Otherwise another coordinator's refs may be there (some of an older revision, written
    // before the rollout moved on), so every ref is compared with the store's own: reads, not writes.
    let trusted = recorded !== undefined && rollout.revision === recorded && !rollout.adopting;
    const id = randomBytes(6).toString("hex");
    for (let attempt = 0; rollout.revision !== revision; attempt++) {
      // Compare-and-set from the revision read: two coordinators adopting different commits must not take the
      // store back to the older one (and lift the newer one's halt on the way).
      // At startup too: the store names another revision only when main moved without an adoption (a crash between
      // the two), which is a push like any other; a main older than the store's returned above.
      const moved = await store.setRolloutRevision(revision, { liftHalt: true, adopting: id, expected: { revision: rollout.revision } });
      if (moved.adopting?.id !== id) trusted = false;
      if (moved.revision !== revision) {
        if (await this.storeAhead(revision, moved, startup)) return this.mirrorStore();
        if (attempt >= 2) throw new NkError("UNAVAILABLE", `the rollout's revision kept moving under the adoption of ${revision.slice(0, 12)}`);
      }
      rollout = moved;
    }
    // Another adoption of this revision is under way, or stopped before it wrote everything: this one writes all.
    const mark = rollout.adopting?.revision === revision ? rollout.adopting : undefined;
    if (mark && mark.id !== id) trusted = false;
    const entries = catalog.nodes().flatMap((d) => {
      const stored = trusted ? registry.get(d.node.name)?.desired : undefined;
      return stored?.sha256 === d.bundle.sha256 && stored.revision === d.revision ? [] : [{ node: d.node.name, revision: d.revision, sha256: d.bundle.sha256 }];
    });
    if (entries.length > 0) {
      // ROLLOUT_MOVED once a newer adoption moved the rollout: its own writes stand, and none of these lands after them.
      const readSince = registry.readMark();
      const { unknown } = await store.setDesired(entries, { revision });
      // A node enrolled here while its batch was written is not the store's yet: the registry must not say it is.
      const skipped = new Set(unknown);
      for (const node of registry.noteDesired(entries.filter((e) => !skipped.has(e.node)), readSince)) this.noted.push(node);
    }
    if (mark) await store.markAdopted(mark);
    this.recorded = revision;
    return false;
  }

  /**
   * Behind the store: its desired refs, newer than the last telemetry sync's copy perhaps, go into the registry, so
   * that no stream sends a bundle of this older main meanwhile. Announced after the publish, like refs written here.
   */
  private async mirrorStore(): Promise<true> {
    const { store, registry, log } = this.deps;
    try {
      const readSince = registry.readMark();
      for (const record of await store.listNodes()) {
        const before = registry.get(record.name)?.desired?.sha256;
        registry.noteRemote(record, { announce: false, readSince });
        if (record.desired && record.desired.sha256 !== before) this.noted.push(record.name);
      }
    } catch (err) {
      // Best effort: the telemetry sync brings the same refs a moment later.
      log.warn({ err: errorMessage(err) }, "cannot read the store's desired bundles; going by the last copy");
    }
    return true;
  }

  /** Whether the shared store names a revision newer than this one (see storeRevisionAhead); it then writes nothing. */
  private async storeAhead(revision: string, rollout: RolloutRecord, startup: boolean): Promise<boolean> {
    const stored = rollout.revision;
    if (stored === undefined || stored === revision || !(await this.deps.storeIsAhead?.(revision, stored, startup))) return false;
    this.deps.log.info({ rev: revision, stored }, "the shared store's revision is newer than this main, or this main left upstream's branch: holding it until the upstream sync, writing nothing and sending none of its bundles");
    return true;
  }

  /** The adoption's entry in the rollout history. */
  private async journal(e: AdoptionEntry): Promise<void> {
    await this.deps.store.appendEvent({
      kind: "revision-adopted",
      revision: e.revision,
      message: `${e.changed.length} node(s) changed, ${e.unchanged} unchanged`,
      fields: { changed: e.changed.slice(0, 50).join(","), renderMs: e.renderMs.toFixed(1), ...(e.pushedBy === "" ? {} : { pushedBy: e.pushedBy }) },
    });
  }

  /**
   * A newly enrolled node gets its desired ref recorded at once, while the rollout is on the revision this
   * coordinator serves. Otherwise nothing is written: the adoption under way here writes it, or, when the store is on
   * a newer revision, this coordinator's adoption of that one after its next sync does (an older ref would be wrong;
   * until then the node has none, and a request of its is judged without one).
   */
  async noteEnrolled(node: string): Promise<void> {
    const { catalog, store, registry, log } = this.deps;
    const desired = catalog.get(node);
    if (!desired) return;
    const entry = { node, revision: desired.revision, sha256: desired.bundle.sha256 };
    const readSince = registry.readMark();
    try {
      await store.setDesired([entry], { revision: catalog.revision });
    } catch (err) {
      if (!isNkError(err, "ROLLOUT_MOVED")) throw err;
      log.info({ node, rev: catalog.revision, err: err.message }, "enrolled node's desired bundle left to the adoption of the rollout's revision");
      return;
    }
    // A read that took another ref while the write was out keeps it, as for an adoption's writes.
    registry.announceDesired(registry.noteDesired([entry], readSince));
  }
}
