// The embedded Store: one state dir with state.json (atomic, group-committed), events.jsonl and secrets.json.
import { chmod, mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { NkError } from "../../../shared/src/errors/index.js";
import { silentLogger, type Logger } from "../../../shared/src/log/index.js";
import { removeStaleTemps, writeFileAtomic } from "../../../shared/src/fs/index.js";
import { DirLock } from "./dir-lock.js";
import { EventLog } from "./event-log.js";
import { GroupCommit } from "./group-commit.js";
import { applyDequeue, applyEnqueue, applyGrant, applyRelease, applyUpdate, checkedInput, issueToken } from "./lease-ops.js";
import { SECRETS_FILE, SecretFile } from "./secret-file.js";
import { applyEnroll, applySetDesired, sameRef } from "./node-ops.js";
import { checkHello, checkReport, checkRevisionRef, encodeState, type StoreState } from "./state-codec.js";
import { STATE_FILE, loadState } from "./state-file.js";
import type {
  EnqueueResult, EventInput, EventListener, EventRecord, GrantResult, LeaseGrant, LeasePatch, LeaseRecord, LeaseRequest,
  LeaseRequestInput, LeaseResult, NodeHello, NodeRecord, NodeReport, ReadEventsOptions, RevisionRef, RolloutRecord, SecretInfo, Store, CanaryRecord,
} from "./store.js";
import { generateToken, hashToken, verifyToken } from "./token-hash.js";
import { obj, optional, str, strMap } from "./validate.js";
import { rolloutEdits } from "./rollout-edits.js";
import { assertNodeName } from "../../../shared/src/names/index.js";

export interface FileStoreOptions {
  dir: string;
  clock: () => number;
  logger?: Logger;
  /** Longest time best-effort telemetry (lastHello, lastReport) stays only in memory (default 5 s). */
  telemetryFlushMs?: number;
  memoryEvents?: number;
  rotateEventBytes?: number;
}

const checkEventInput = obj({ kind: str, node: optional(str), revision: optional(str), message: str, fields: optional(strMap) });

/**
 * Durable on resolve: enrollment, desired/applied, leases, queue, fencing counter, rollout,
 * secrets, events. Best-effort: lastHello/lastReport, written with the next durable change or
 * within `telemetryFlushMs`, so a burst of reports from thousands of agents costs one write.
 */
export class FileStore implements Store {
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
    private readonly lock: DirLock,
  ) {
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
    const lock = await DirLock.acquire(opts.dir);
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
      await lock.release();
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

  async enrollNode(name: string): Promise<string> {
    assertNodeName(name);
    const token = generateToken();
    await this.durable((s) => applyEnroll(s, name, hashToken(token), this.now()));
    return token;
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

  recordHello(name: string, hello: NodeHello, applied?: RevisionRef): Promise<void> {
    const h = checkedInput(checkHello, hello, "hello");
    return this.recordTelemetry(name, (n) => void (n.lastHello = h), applied);
  }

  recordReport(name: string, report: NodeReport, applied?: RevisionRef): Promise<void> {
    const r = checkedInput(checkReport, report, "report");
    return this.recordTelemetry(name, (n) => void (n.lastReport = r), applied);
  }

  async setDesired(entries: ReadonlyArray<{ node: string } & RevisionRef>): Promise<{ unknown: string[] }> {
    const refs = entries.map((e) => ({ node: e.node, ref: checkedInput(checkRevisionRef, e, `desired.${e.node}`) }));
    const unknown: string[] = [];
    await this.durable((s) => applySetDesired(s, refs, unknown), (changed) => changed);
    return { unknown };
  }

  // Leases.

  nextFencingToken(): Promise<number> {
    return this.durable(issueToken);
  }

  grantLease(lease: LeaseGrant, expected: { holders: readonly string[] }): Promise<GrantResult> {
    return this.durable((s) => applyGrant(s, lease, expected), (r) => r.ok);
  }

  updateLease(node: string, fencingToken: number, patch: LeasePatch): Promise<LeaseResult> {
    return this.durable((s) => applyUpdate(s, node, fencingToken, patch), (r) => r.ok);
  }

  releaseLease(node: string, fencingToken: number): Promise<LeaseResult> {
    return this.durable((s) => applyRelease(s, node, fencingToken, this.now()), (r) => r.ok);
  }

  async forceReleaseLease(node: string): Promise<{ ok: true; lease: LeaseRecord } | { ok: false; reason: "not-held" }> {
    const r = await this.durable((s) => applyRelease(s, node, "force", this.now()), (x) => x.ok);
    return r.ok ? r : { ok: false, reason: "not-held" };
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

  setRolloutRevision(revision: string): Promise<RolloutRecord> {
    return this.rollout(rolloutEdits.revision(revision));
  }

  pauseRollout(reason: string): Promise<RolloutRecord> {
    return this.rollout(rolloutEdits.pause(reason, this.now()));
  }

  resumeRollout(): Promise<RolloutRecord> {
    return this.rollout(rolloutEdits.resume());
  }

  haltRollout(reason: string, revision: string): Promise<RolloutRecord> {
    return this.rollout(rolloutEdits.halt(reason, revision, this.now()));
  }

  clearHalt(): Promise<RolloutRecord> {
    return this.rollout(rolloutEdits.clearHalt());
  }

  setCanary(canary: CanaryRecord): Promise<RolloutRecord> {
    return this.rollout(rolloutEdits.canary(canary));
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

  appendEvent(input: EventInput): Promise<EventRecord> {
    this.assertUsable();
    return this.events.append(checkedInput(checkEventInput, input, "event"));
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
      await this.lock.release();
    }
  }

  // Internals.

  /** Whole milliseconds: the file format stores integers only. */
  private now(): number {
    return Math.floor(this.opts.clock());
  }

  private assertUsable(): void {
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

  private async rollout(fn: (r: RolloutRecord) => void): Promise<RolloutRecord> {
    return this.durable((s) => {
      fn(s.rollout);
      return structuredClone(s.rollout);
    });
  }

  private async recordTelemetry(name: string, set: (n: NodeRecord) => void, applied?: RevisionRef): Promise<void> {
    this.assertUsable();
    const ref = applied && checkedInput(checkRevisionRef, applied, "applied");
    const node = this.state.nodes.get(name);
    if (!node) throw new NkError("NODE_NOT_ENROLLED", `node ${name} is not enrolled`);
    set(node);
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
