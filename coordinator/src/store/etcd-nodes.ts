// The node registry on etcd: records updated by compare-and-set, telemetry coalesced in memory and flushed in batches.
import type { ICompare, IKeyValue, IRequestOp } from "etcd3";
import { NkError } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import { EtcdKeys } from "./etcd-keys.js";
import { TickBatcher } from "./tick-batcher.js";
import { RETRY, TXN_CHUNK, casLoop, decode, decodeOpt, del, delPrefix, exists, get, json, modIs, modOf, only, prefixEnd, put, range, subTxn, type EtcdKv } from "./etcd-kv.js";
import type { EtcdLeases } from "./etcd-leases.js";
import { assertRolloutAt, sameRef } from "./node-ops.js";
import { checkHello, checkReport, checkRevisionRef, checkRolloutRecord } from "./state-codec.js";
import type { DesiredGuard, NodeHello, NodeRecord, NodeReport, RevisionRef } from "./store.js";
import { verifyToken } from "./token-hash.js";
import { int, obj, optional, str, type Check } from "./validate.js";

const SET_DESIRED_PARALLEL = 8;
/** setDesired calls this small (one node enrolled) are coalesced with concurrent ones. */
const COALESCE_DESIRED = 8;

type DesiredRefs = ReadonlyArray<{ node: string; ref: RevisionRef }>;
/** One setDesired call: its refs and the rollout revision they are guarded by (none: unguarded). */
interface DesiredCall {
  readonly refs: DesiredRefs;
  readonly revision: string | undefined;
}
type StoredNode = Omit<NodeRecord, "lastHello" | "lastReport">;
const storedNode: Check<StoredNode> = obj({ name: str, tokenHash: str, enrolledAtMs: int, desired: optional(checkRevisionRef), applied: optional(checkRevisionRef) });

interface Telemetry {
  lastHello?: NodeHello;
  lastReport?: NodeReport;
}

export interface EtcdNodesDeps {
  kv: EtcdKv;
  keys: EtcdKeys;
  leases: EtcdLeases;
  now: () => number;
  logger: Logger;
  telemetryFlushMs: number;
}

/**
 * Telemetry (lastHello, lastReport) lives apart from the record, under telemetry/<node>/, so it is
 * written with blind puts that never contend with enrollment or desired/applied updates; each put
 * is guarded only by "the node still exists". Thousands of reports per interval cost a few
 * batched transactions.
 */
export class EtcdNodes {
  private pending = new Map<string, Telemetry>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;
  /** Concurrent enrolments share transactions: 10,000 nodes enrolled one round trip pair each took 13 s. */
  private readonly enrolments = new TickBatcher<{ name: string; tokenHash: string }, void>((batch) => this.enrollBatch(batch), {
    maxWeight: TXN_CHUNK,
    parallel: SET_DESIRED_PARALLEL,
  });
  /** Small setDesired calls (a node's ref when it is enrolled) share chunks the same way, each call whole. */
  private readonly desiredWrites = new TickBatcher<DesiredCall, string[] | Error>((batch) => this.setDesiredBatch(batch), {
    maxWeight: TXN_CHUNK,
    parallel: SET_DESIRED_PARALLEL,
    weight: (call) => call.refs.length,
  });

  constructor(private readonly d: EtcdNodesDeps) {}

  private get k(): EtcdKeys {
    return this.d.keys;
  }

  enroll(name: string, tokenHash: string): Promise<void> {
    return this.enrolments.submit({ name, tokenHash });
  }

  private enrollOne(name: string, tokenHash: string): Promise<void> {
    return casLoop("enroll", async () => {
      const kv = await this.d.kv.get(this.k.node(name));
      const r = await this.d.kv.txn([modIs(this.k.node(name), kv?.mod_revision ?? "0")], [put(this.k.node(name), json(this.enrolled(name, tokenHash, kv)))]);
      return r.succeeded ? undefined : RETRY;
    });
  }

  private enrolled(name: string, tokenHash: string, kv: IKeyValue | undefined): StoredNode {
    return { ...(decodeOpt(storedNode, kv) ?? { name }), tokenHash, enrolledAtMs: Math.floor(this.d.now()) };
  }

  /**
   * One read and one transaction for a batch: each node's put is its own nested compare-and-set, so a record
   * changed meanwhile only sends that node through the one-by-one loop. A name twice in the batch (etcd
   * refuses two puts of a key in one transaction) is enrolled again after, in submission order.
   */
  private async enrollBatch(batch: ReadonlyArray<{ name: string; tokenHash: string }>): Promise<void[]> {
    const seen = new Set<string>();
    const first: Array<{ name: string; tokenHash: string }> = [];
    const again: typeof first = [];
    for (const e of batch) {
      (seen.has(e.name) ? again : first).push(e);
      seen.add(e.name);
    }
    const reads = await this.d.kv.read(first.map((e) => get(this.k.node(e.name))));
    const r = await this.d.kv.txn(
      [],
      first.map((e, i) => subTxn([modIs(this.k.node(e.name), modOf(reads[i]))], [put(this.k.node(e.name), json(this.enrolled(e.name, e.tokenHash, only(reads[i]))))])),
    );
    const lost = first.filter((_, i) => !r.responses[i]?.response_txn.succeeded);
    for (const e of [...lost, ...again]) await this.enrollOne(e.name, e.tokenHash);
    return batch.map(() => undefined);
  }

  async verifyToken(name: string, token: string): Promise<boolean> {
    return verifyToken(decodeOpt(storedNode, await this.d.kv.get(this.k.node(name)))?.tokenHash, token);
  }

  async get(name: string): Promise<NodeRecord | undefined> {
    const [nodeR, telR] = await this.d.kv.read([get(this.k.node(name)), range(this.k.telemetry(name), prefixEnd(this.k.telemetry(name)))]);
    const node = decodeOpt(storedNode, only(nodeR));
    return node && this.merge(node, telR?.response_range.kvs ?? []);
  }

  /** Records and telemetry read at one revision, sorted by name. */
  async list(): Promise<NodeRecord[]> {
    const nodes = await this.d.kv.rangeAll(this.k.nodes(), prefixEnd(this.k.nodes()));
    const tel = await this.d.kv.rangeAll(this.k.telemetryAll(), prefixEnd(this.k.telemetryAll()), nodes.revision);
    const byNode = new Map<string, IKeyValue[]>();
    for (const kv of tel.kvs) {
      const name = EtcdKeys.tail(kv.key, this.k.telemetryAll()).split("/")[0] ?? "";
      byNode.set(name, [...(byNode.get(name) ?? []), kv]);
    }
    return nodes.kvs.map((kv) => decode(storedNode, kv)).map((n) => this.merge(n, byNode.get(n.name) ?? []));
  }

  /** Deletes the record, its telemetry and its queue entry in one transaction. */
  remove(name: string): Promise<boolean> {
    return casLoop("remove node", async () => {
      const q = await this.d.leases.queueRemoval(name);
      const r = await this.d.kv.txn(q.compare, [del(this.k.node(name)), delPrefix(this.k.telemetry(name)), ...q.ops]);
      if (!r.succeeded) return RETRY;
      this.pending.delete(name);
      return r.responses[0]?.response_delete_range.deleted !== "0";
    });
  }

  /** Buffers telemetry for the next flush; a changed `applied` is written durably now. */
  async recordTelemetry(name: string, telemetry: Telemetry, applied?: RevisionRef): Promise<void> {
    const node = decodeOpt(storedNode, await this.d.kv.get(this.k.node(name)));
    if (!node) throw new NkError("NODE_NOT_ENROLLED", `node ${name} is not enrolled`);
    this.pending.set(name, { ...this.pending.get(name), ...telemetry });
    if (applied && !sameRef(node.applied, applied)) await this.setApplied(name, applied);
    this.armFlush();
  }

  /**
   * A failed flush keeps its telemetry and tries again on the next tick: waiting for the node's next report here
   * would never come once the agent reports to another coordinator, and the old buffered copy would linger (found
   * by the HA chaos run: after an etcd restart the leader kept a node's pre-outage report and called it stale).
   */
  private armFlush(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush().catch((err: unknown) => this.d.logger.error({ err }, "telemetry flush failed; retrying"));
    }, this.d.telemetryFlushMs).unref();
  }

  /**
   * Sets desired refs in chunks (etcd caps operations per transaction); returns unknown nodes. With a guard each
   * chunk also compares the rollout record it read, which names the guard's revision (ROLLOUT_MOVED otherwise).
   */
  async setDesired(refs: ReadonlyArray<{ node: string; ref: RevisionRef }>, guard?: DesiredGuard): Promise<string[]> {
    const revision = guard?.revision;
    if (refs.length <= COALESCE_DESIRED) {
      const out = await this.desiredWrites.submit({ refs, revision });
      if (out instanceof Error) throw out;
      return out;
    }
    const chunks: Array<ReadonlyArray<{ node: string; ref: RevisionRef }>> = [];
    for (let i = 0; i < refs.length; i += TXN_CHUNK) chunks.push(refs.slice(i, i + TXN_CHUNK));
    // Chunks touch disjoint keys: a few in flight at once turn a fleet-wide push from 2 round trips per 100 nodes
    // in sequence into a handful of parallel streams (10,000 nodes: 200 sequential round trips otherwise).
    const unknown: string[][] = new Array(chunks.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < chunks.length) {
        const i = next++;
        unknown[i] = await this.setDesiredChunk(chunks[i]!, revision);
      }
    };
    await Promise.all(Array.from({ length: Math.min(SET_DESIRED_PARALLEL, chunks.length) }, worker));
    return unknown.flat();
  }

  /**
   * Coalesced calls in one transaction per guard (each call still all or nothing); a node named twice gets the later
   * ref, as in series. Each group answers for itself: a call whose guard no longer holds gets ROLLOUT_MOVED, and a
   * failed transaction fails only its own group's calls, never one whose write already landed.
   */
  private async setDesiredBatch(batch: readonly DesiredCall[]): Promise<Array<string[] | Error>> {
    const out: Array<string[] | Error> = new Array(batch.length);
    const byRevision = new Map<string | undefined, number[]>();
    batch.forEach((call, i) => byRevision.set(call.revision, [...(byRevision.get(call.revision) ?? []), i]));
    for (const [revision, calls] of byRevision) {
      const last = new Map(calls.flatMap((i) => batch[i]!.refs).map((e) => [e.node, e]));
      try {
        const missing = new Set(await this.setDesiredChunk([...last.values()], revision));
        for (const i of calls) out[i] = batch[i]!.refs.filter((e) => missing.has(e.node)).map((e) => e.node);
      } catch (err) {
        for (const i of calls) out[i] = err instanceof Error ? err : new NkError("INTERNAL", String(err));
      }
    }
    return out;
  }

  /** `revision`: written only while the rollout record names it, compared by the record's mod revision. */
  private setDesiredChunk(chunk: ReadonlyArray<{ node: string; ref: RevisionRef }>, revision: string | undefined): Promise<string[]> {
    return casLoop("set desired", async () => {
      const guarded = revision !== undefined;
      const reads = await this.d.kv.read([...chunk.map((e) => get(this.k.node(e.node))), ...(guarded ? [get(this.k.rollout())] : [])]);
      const missing: string[] = [];
      const compare: ICompare[] = [];
      const ops: IRequestOp[] = [];
      if (guarded) {
        const rolloutR = reads[chunk.length];
        assertRolloutAt(decodeOpt(checkRolloutRecord, only(rolloutR)) ?? {}, { revision });
        compare.push(modIs(this.k.rollout(), modOf(rolloutR)));
      }
      chunk.forEach(({ node, ref }, j) => {
        const rec = decodeOpt(storedNode, only(reads[j]));
        if (!rec) missing.push(node);
        else if (!sameRef(rec.desired, ref)) {
          compare.push(modIs(this.k.node(node), modOf(reads[j])));
          ops.push(put(this.k.node(node), json({ ...rec, desired: ref })));
        }
      });
      if (ops.length === 0) return missing;
      // A failed compare (a node record or the rollout record changed) reads again: a moved rollout throws above.
      return (await this.d.kv.txn(compare, ops)).succeeded ? missing : RETRY;
    });
  }

  /** Writes buffered telemetry; one nested transaction per chunk, each node guarded by its existence. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const run = this.flushing.catch(() => undefined).then(() => this.writePending());
    this.flushing = run;
    run.catch(() => {
      if (!this.closed) this.armFlush();
    });
    return run;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async writePending(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    const entries = [...batch];
    try {
      for (let i = 0; i < entries.length; i += TXN_CHUNK) {
        const ops = entries.slice(i, i + TXN_CHUNK).map(([name, t]) => {
          const puts: IRequestOp[] = [];
          if (t.lastHello) puts.push(put(this.k.hello(name), json(t.lastHello)));
          if (t.lastReport) puts.push(put(this.k.report(name), json(t.lastReport)));
          return subTxn([exists(this.k.node(name))], puts);
        });
        await this.d.kv.txn([], ops);
      }
    } catch (err) {
      // Keep what was not written, unless something newer arrived meanwhile.
      for (const [name, t] of batch) this.pending.set(name, { ...t, ...this.pending.get(name) });
      throw err;
    }
  }

  private setApplied(name: string, applied: RevisionRef): Promise<void> {
    return casLoop("record applied", async () => {
      const kv = await this.d.kv.get(this.k.node(name));
      const node = decodeOpt(storedNode, kv);
      if (!node) throw new NkError("NODE_NOT_ENROLLED", `node ${name} is not enrolled`);
      if (sameRef(node.applied, applied)) return undefined;
      const r = await this.d.kv.txn([modIs(this.k.node(name), kv?.mod_revision ?? "0")], [put(this.k.node(name), json({ ...node, applied }))]);
      return r.succeeded ? undefined : RETRY;
    });
  }

  /** Stored telemetry, overlaid with what this coordinator has buffered but not yet written. */
  private merge(node: StoredNode, telemetry: IKeyValue[]): NodeRecord {
    const out: NodeRecord = { ...node };
    for (const kv of telemetry) {
      const key = kv.key.toString("utf8");
      if (key === this.k.hello(node.name)) out.lastHello = decode(checkHello, kv);
      if (key === this.k.report(node.name)) out.lastReport = decode(checkReport, kv);
    }
    // Buffered telemetry wins only when newer: another coordinator may have heard from the node since.
    const buffered = this.pending.get(node.name);
    if (buffered?.lastHello && buffered.lastHello.atMs >= (out.lastHello?.atMs ?? 0)) out.lastHello = structuredClone(buffered.lastHello);
    if (buffered?.lastReport && buffered.lastReport.atMs >= (out.lastReport?.atMs ?? 0)) out.lastReport = structuredClone(buffered.lastReport);
    return out;
  }
}
