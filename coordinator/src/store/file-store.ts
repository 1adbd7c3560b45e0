// The embedded Store: one state dir with state.json (atomic, group-committed), events.jsonl and secrets.json.
import { chmod, mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { NkError } from "../../../shared/src/errors/index.js";
import { silentLogger, type Logger } from "../../../shared/src/log/index.js";
import { removeStaleTemps, writeFileAtomic } from "../../../shared/src/fs/index.js";
import type { PidLock } from "../../../shared/src/process/index.js";
import { lockStateDir } from "./lock-state-dir.js";
import { EventLog } from "./event-log.js";
import { GroupCommit } from "./group-commit.js";
import { applyDequeue, applyEnqueue, applyGrant, applyRelease, applyUpdate, issueToken } from "./lease-ops.js";
import { SECRETS_FILE, SecretFile } from "./secret-file.js";
import { applyEnroll, applySetDesired, assertRolloutAt, sameRef } from "./node-ops.js";
import { encodeState, type StoreState } from "./state-codec.js";
import { STATE_FILE, loadState } from "./state-file.js";
import type {
  DesiredGuard, EnqueueResult, EventInput, GrantExpectation, EventListener, EventRecord, GrantResult, LeaseGrant, LeasePatch, LeaseRecord, LeaseRequest,
  LeaseRequestInput, LeaseResult, LeaseRolloutEdit, NodeRecord, ReadEventsOptions, RevisionRef, RolloutRecord, SecretInfo, Store,
} from "./store.js";
import { verifyToken } from "./token-hash.js";
import type { RolloutEdit } from "./rollout-edits.js";
import { StoreCore, type NodeTelemetry } from "./store-core.js";

export interface FileStoreOptions {
  dir: string;
  clock: () => number;
  logger?: Logger;
  /** Longest time best-effort telemetry (lastHello, lastReport) stays only in memory (default 5 s). */
  telemetryFlushMs?: number;
  memoryEvents?: number;
  rotateEventBytes?: number;
}

/**
 * Durable on resolve: enrollment, desired/applied, leases, queue, fencing counter, rollout,
 * secrets, events. Best-effort: lastHello/lastReport, written with the next durable change or
 * within `telemetryFlushMs`, so a burst of reports from thousands of agents costs one write.
 */
export class FileStore extends StoreCore implements Store {
  private readonly commit: GroupCommit;
  private version = 0;
  private writtenVersion = 0;
  private telemetryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly opts: FileStoreOptions & { logger: Logger },
    private readonly state: StoreState,
    private readonly events: EventLog,
    private readonly secrets: SecretFile,
    private readonly lock: PidLock,
  ) {
    super();
    this.commit = new GroupCommit(() => this.writeState(), join(opts.dir, STATE_FILE));
  }

  static async open(options: FileStoreOptions): Promise<FileStore> {
    const opts = { ...options, logger: options.logger ?? silentLogger() };
    await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    // secrets.json and the tokens live here: nobody else may list or enter it, however it was created.
    if (((await stat(opts.dir)).mode & 0o077) !== 0) {
      opts.logger.warn({ dir: opts.dir }, "state directory was open to others; setting mode 0700");
      await chmod(opts.dir, 0o700);
    }
    const lock = await lockStateDir(opts.dir);
    let events: EventLog | undefined;
    try {
      await removeStaleTemps(opts.dir, STATE_FILE);
      await removeStaleTemps(opts.dir, SECRETS_FILE);
      events = await EventLog.open({ dir: opts.dir, clock: opts.clock, logger: opts.logger, memoryEvents: opts.memoryEvents, rotateBytes: opts.rotateEventBytes });
      const state = await loadState(join(opts.dir, STATE_FILE), events.seq);
      const secrets = await SecretFile.open(opts.dir, opts.clock, opts.logger);
      return new FileStore(opts, state, events, secrets, lock);
    } catch (err) {
      await events?.close();
      await lock.release().catch((e: unknown) => opts.logger.warn({ err: e }, "could not remove the state dir's lock"));
      throw err;
    }
  }

  /** State writes so far, for tests and metrics. */
  get stateWriteCount(): number {
    return this.commit.writeCount;
  }

  get eventWriteCount(): number {
    return this.events.writeCount;
  }

  // Nodes.

  protected async storeEnrollment(name: string, tokenHash: string): Promise<void> {
    await this.durable((s) => applyEnroll(s, name, tokenHash, this.now()));
  }

  async verifyNodeToken(name: string, token: string): Promise<boolean> {
    this.assertUsable();
    return verifyToken(this.state.nodes.get(name)?.tokenHash, token);
  }

  getNode(name: string): Promise<NodeRecord | undefined> {
    return this.read((s) => s.nodes.get(name));
  }

  listNodes(): Promise<NodeRecord[]> {
    return this.read((s) => [...s.nodes.values()].sort((a, b) => (a.name < b.name ? -1 : 1)));
  }

  removeNode(name: string): Promise<boolean> {
    return this.durable((s) => {
      applyDequeue(s, name);
      return s.nodes.delete(name);
    }, (removed) => removed);
  }

  protected async storeDesired(refs: ReadonlyArray<{ node: string; ref: RevisionRef }>, guard?: DesiredGuard): Promise<string[]> {
    const unknown: string[] = [];
    await this.durable((s) => {
      if (guard) assertRolloutAt(s.rollout, guard);
      return applySetDesired(s, refs, unknown);
    }, (changed) => changed);
    return unknown;
  }

  // Leases.

  nextFencingToken(): Promise<number> {
    return this.durable(issueToken);
  }

  grantLease(lease: LeaseGrant, expected: GrantExpectation, edit?: LeaseRolloutEdit): Promise<GrantResult> {
    return this.durable((s) => applyGrant(s, lease, expected, edit), (r) => r.ok);
  }

  updateLease(node: string, fencingToken: number, patch: LeasePatch): Promise<LeaseResult> {
    return this.durable((s) => applyUpdate(s, node, fencingToken, patch), (r) => r.ok);
  }

  protected storeRelease(node: string, fencingToken: number | "force", rollout: LeaseRolloutEdit): Promise<LeaseResult> {
    return this.durable((s) => applyRelease(s, node, fencingToken, rollout), (r) => r.ok);
  }

  getLease(node: string): Promise<LeaseRecord | undefined> {
    return this.read((s) => s.leases.get(node));
  }

  listLeases(): Promise<LeaseRecord[]> {
    return this.read((s) => [...s.leases.values()].sort((a, b) => a.fencingToken - b.fencingToken));
  }

  enqueue(request: LeaseRequestInput): Promise<EnqueueResult> {
    return this.durable((s) => applyEnqueue(s, request, this.now()));
  }

  dequeue(node: string): Promise<LeaseRequest | undefined> {
    return this.durable((s) => applyDequeue(s, node), (r) => r !== undefined);
  }

  listQueue(): Promise<LeaseRequest[]> {
    return this.read((s) => s.queue);
  }

  // Rollout.

  getRollout(): Promise<RolloutRecord> {
    return this.read((s) => s.rollout);
  }

  // Secrets and events.

  setSecret(name: string, value: Buffer): Promise<void> {
    this.assertUsable();
    return this.secrets.set(name, value);
  }

  getSecret(name: string): Promise<Buffer | undefined> {
    this.assertUsable();
    return this.secrets.get(name);
  }

  listSecrets(): Promise<SecretInfo[]> {
    this.assertUsable();
    return this.secrets.list();
  }

  deleteSecret(name: string): Promise<boolean> {
    this.assertUsable();
    return this.secrets.delete(name);
  }

  protected storeEvent(event: EventInput): Promise<EventRecord> {
    return this.events.append(event);
  }

  readEvents(options?: ReadEventsOptions): Promise<EventRecord[]> {
    this.assertUsable();
    return this.events.read(options);
  }

  onEvent(listener: EventListener): () => void {
    return this.events.onEvent(listener);
  }

  async flush(): Promise<void> {
    this.assertUsable();
    clearTimeout(this.telemetryTimer);
    this.telemetryTimer = undefined;
    await (this.version !== this.writtenVersion ? this.commit.commit() : this.commit.settled());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.commit.failed) await this.flush();
    } finally {
      this.closed = true;
      await this.events.close();
      await this.secrets.close();
      await this.lock.release().catch((err: unknown) => this.opts.logger.warn({ err }, "could not remove the state dir's lock"));
    }
  }

  // Internals.

  /** Whole milliseconds: the file format stores integers only. */
  protected now(): number {
    return Math.floor(this.opts.clock());
  }

  protected assertUsable(): void {
    if (this.closed) throw new NkError("UNAVAILABLE", `the store at ${this.opts.dir} is closed`);
    if (this.commit.failed) throw this.commit.failed;
  }

  /** Applies `fn` now and resolves after a write containing it; unchanged outcomes only wait for earlier writes. */
  private async durable<T>(fn: (s: StoreState) => T, changed: (result: T) => boolean = () => true): Promise<T> {
    this.assertUsable();
    const result = fn(this.state);
    if (changed(result)) {
      this.version++;
      await this.commit.commit();
    } else {
      await this.commit.settled();
    }
    return result;
  }

  /** Copies out at call time, then waits so that what is returned is on disk. */
  private async read<T>(fn: (s: StoreState) => T): Promise<T> {
    this.assertUsable();
    const value = structuredClone(fn(this.state));
    await this.commit.settled();
    return value;
  }

  protected storeRolloutEdit(fn: RolloutEdit): Promise<RolloutRecord> {
    return this.durable((s) => {
      fn(s.rollout);
      return structuredClone(s.rollout);
    });
  }

  protected async storeTelemetry(name: string, telemetry: NodeTelemetry, ref?: RevisionRef): Promise<void> {
    const node = this.state.nodes.get(name);
    if (!node) throw new NkError("NODE_NOT_ENROLLED", `node ${name} is not enrolled`);
    Object.assign(node, telemetry);
    this.version++;
    if (ref && !sameRef(node.applied, ref)) {
      node.applied = ref;
      await this.commit.commit();
      return;
    }
    this.telemetryTimer ??= setTimeout(() => {
      this.telemetryTimer = undefined;
      if (this.closed || this.commit.failed) return;
      this.commit.commit().catch((err: unknown) => this.opts.logger.error({ err }, "telemetry flush failed"));
    }, this.opts.telemetryFlushMs ?? 5_000).unref();
  }

  private async writeState(): Promise<void> {
    if (this.version === this.writtenVersion) return;
    const version = this.version;
    const text = encodeState(this.state);
    await writeFileAtomic(join(this.opts.dir, STATE_FILE), text, 0o600);
    this.writtenVersion = version;
  }
}
