// The HA Store on etcd v3: several coordinators share one key prefix; leases and queue are etcd transactions.
import type { Etcd3, IKeyValue } from "etcd3";
import { NkError } from "../../../shared/src/errors/index.js";
import { silentLogger, type Logger } from "../../../shared/src/log/index.js";
import { EtcdEventFeed } from "./etcd-event-feed.js";
import { DEFAULT_ETCD_PREFIX, EtcdKeys } from "./etcd-keys.js";
import { EtcdKv, RETRY, casLoop, decodeOpt, json, modIs, put } from "./etcd-kv.js";
import { EtcdLeases, type LeaderGuard } from "./etcd-leases.js";
import { EtcdNodes } from "./etcd-nodes.js";
import { EtcdSecrets } from "./etcd-secrets.js";
import type { SecretCipher } from "./secret-cipher.js";
import { checkRolloutRecord } from "./state-codec.js";
import type { RolloutEdit } from "./rollout-edits.js";
import { StoreCore, type NodeTelemetry } from "./store-core.js";
import type {
  DesiredGuard, EnqueueResult, EventInput, GrantExpectation, EventListener, EventRecord, GrantResult, LeaseGrant, LeasePatch, LeaseRecord, LeaseRequest,
  LeaseRequestInput, LeaseResult, LeaseRolloutEdit, NodeRecord, ReadEventsOptions, RevisionRef, RolloutRecord, SecretInfo, Store,
} from "./store.js";

export interface EtcdStoreOptions {
  client: Etcd3;
  /** Key prefix shared by all coordinators of one cluster (default "/nk/"); must end with "/". */
  prefix?: string;
  clock: () => number;
  logger?: Logger;
  /** Leader fencing for grants (LeaderElection.leaderGuard): null means "not the leader", and grants throw NOT_LEADER. */
  leaderGuard?: () => LeaderGuard | null;
  /** Longest time telemetry (lastHello, lastReport) stays only in memory (default 5 s). */
  telemetryFlushMs?: number;
  /** Events kept in etcd; older ones are trimmed (default 100,000). */
  maxEvents?: number;
  /** Close the client in close() (default false: the caller shares it, e.g. with LeaderElection). */
  closeClient?: boolean;
  /** Seals secret values (AES-256-GCM) before they reach etcd; without it they are stored in clear. */
  cipher?: SecretCipher;
}


/**
 * Durability: a call resolves after etcd committed its transaction (raft quorum + fsync), which
 * meets the Store contract; telemetry is the documented best-effort exception. Secrets are stored
 * in etcd too, sealed with `cipher` when one is given; etcd must be secured all the same (see EtcdConnectionOptions).
 */
export class EtcdStore extends StoreCore implements Store {
  private closed = false;

  private constructor(
    private readonly opts: EtcdStoreOptions & { logger: Logger },
    private readonly kv: EtcdKv,
    private readonly keys: EtcdKeys,
    private readonly leases: EtcdLeases,
    private readonly nodes: EtcdNodes,
    private readonly events: EtcdEventFeed,
    private readonly secrets: EtcdSecrets,
  ) {
    super();
  }

  static async open(options: EtcdStoreOptions): Promise<EtcdStore> {
    const opts = { ...options, logger: options.logger ?? silentLogger() };
    const kv = new EtcdKv(opts.client);
    const keys = new EtcdKeys(opts.prefix ?? DEFAULT_ETCD_PREFIX);
    const now = (): number => Math.floor(opts.clock());
    const leases = new EtcdLeases({ kv, keys, now, leaderGuard: opts.leaderGuard });
    const nodes = new EtcdNodes({ kv, keys, leases, now, logger: opts.logger, telemetryFlushMs: opts.telemetryFlushMs ?? 5_000 });
    const secrets = new EtcdSecrets({ kv, keys, now, logger: opts.logger, ...(opts.cipher ? { cipher: opts.cipher } : {}) });
    await secrets.checkAtOpen();
    const events = await EtcdEventFeed.open({ kv, keys, clock: opts.clock, logger: opts.logger, maxEvents: opts.maxEvents ?? 100_000 });
    return new EtcdStore(opts, kv, keys, leases, nodes, events, secrets);
  }

  // Nodes.

  protected storeEnrollment(name: string, tokenHash: string): Promise<void> {
    return this.nodes.enroll(name, tokenHash);
  }

  verifyNodeToken(name: string, token: string): Promise<boolean> {
    return this.use(() => this.nodes.verifyToken(name, token));
  }

  getNode(name: string): Promise<NodeRecord | undefined> {
    return this.use(() => this.nodes.get(name));
  }

  listNodes(): Promise<NodeRecord[]> {
    return this.use(() => this.nodes.list());
  }

  removeNode(name: string): Promise<boolean> {
    return this.use(() => this.nodes.remove(name));
  }

  protected storeTelemetry(name: string, telemetry: NodeTelemetry, applied?: RevisionRef): Promise<void> {
    return this.nodes.recordTelemetry(name, telemetry, applied);
  }

  protected storeDesired(refs: ReadonlyArray<{ node: string; ref: RevisionRef }>, guard?: DesiredGuard): Promise<string[]> {
    return this.nodes.setDesired(refs, guard);
  }

  // Leases.

  nextFencingToken(): Promise<number> {
    return this.use(() => this.leases.nextFencingToken());
  }

  grantLease(lease: LeaseGrant, expected: GrantExpectation, edit?: LeaseRolloutEdit): Promise<GrantResult> {
    return this.use(() => this.leases.grant(lease, expected, edit));
  }

  updateLease(node: string, fencingToken: number, patch: LeasePatch): Promise<LeaseResult> {
    return this.use(() => this.leases.update(node, fencingToken, patch));
  }

  protected storeRelease(node: string, fencingToken: number | "force", rollout: LeaseRolloutEdit): Promise<LeaseResult> {
    return this.leases.release(node, fencingToken, rollout);
  }

  getLease(node: string): Promise<LeaseRecord | undefined> {
    return this.use(() => this.leases.get(node));
  }

  listLeases(): Promise<LeaseRecord[]> {
    return this.use(() => this.leases.list());
  }

  enqueue(request: LeaseRequestInput): Promise<EnqueueResult> {
    return this.use(() => this.leases.enqueue(request));
  }

  dequeue(node: string): Promise<LeaseRequest | undefined> {
    return this.use(() => this.leases.dequeue(node));
  }

  listQueue(): Promise<LeaseRequest[]> {
    return this.use(() => this.leases.listQueue());
  }

  // Rollout.

  async getRollout(): Promise<RolloutRecord> {
    return this.use(async () => decodeOpt(checkRolloutRecord, await this.kv.get(this.keys.rollout())) ?? {});
  }

  // Secrets (etcd-secrets.ts: sealed with the configured key, or in clear without one).

  setSecret(name: string, value: Buffer): Promise<void> {
    return this.use(() => this.secrets.set(name, value));
  }

  getSecret(name: string): Promise<Buffer | undefined> {
    return this.use(() => this.secrets.get(name));
  }

  listSecrets(): Promise<SecretInfo[]> {
    return this.use(() => this.secrets.list());
  }

  deleteSecret(name: string): Promise<boolean> {
    return this.use(() => this.secrets.delete(name));
  }

  // Events.

  protected storeEvent(event: EventInput): Promise<EventRecord> {
    return this.events.append(event);
  }

  readEvents(options?: ReadEventsOptions): Promise<EventRecord[]> {
    return this.use(() => this.events.read(options));
  }

  onEvent(listener: EventListener): () => void {
    return this.events.onEvent(listener);
  }

  flush(): Promise<void> {
    return this.use(() => this.nodes.flush());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.nodes.flush().catch((err: unknown) => this.opts.logger.warn({ err }, "telemetry not written at close"));
    } finally {
      this.closed = true;
      this.nodes.close();
      await this.events.close();
      if (this.opts.closeClient) this.opts.client.close();
    }
  }

  // Internals.

  protected now(): number {
    return Math.floor(this.opts.clock());
  }

  protected assertUsable(): void {
    if (this.closed) throw new NkError("UNAVAILABLE", `the etcd store at ${this.keys.prefix} is closed`);
  }

  private async use<T>(fn: () => Promise<T>): Promise<T> {
    this.assertUsable();
    return fn();
  }

  protected storeRolloutEdit(edit: RolloutEdit): Promise<RolloutRecord> {
    const key = this.keys.rollout();
    return casLoop("rollout update", async () => {
      const kv: IKeyValue | undefined = await this.kv.get(key);
      const next = decodeOpt(checkRolloutRecord, kv) ?? {};
      const before = json(next);
      edit(next);
      // An edit that changes nothing (a mark another adoption cleared already) leaves the record's mod revision be:
      // grants and desired writes compare it.
      if (kv && json(next) === before) return next;
      const r = await this.kv.txn([modIs(key, kv?.mod_revision ?? "0")], [put(key, json(next))]);
      return r.succeeded ? next : RETRY;
    });
  }
}
