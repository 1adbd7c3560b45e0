// Leases, fencing and the FIFO queue on etcd: every mutation is one transaction guarded by mod revisions.
import type { ICompare, IKeyValue, IRequestOp } from "etcd3";
import { NkError } from "../../../shared/src/errors/index.js";
import { EtcdKeys, pad } from "./etcd-keys.js";
import { RETRY, casLoop, decode, decodeOpt, del, get, json, modIs, createIs, modOf, only, put, range, prefixEnd, type EtcdKv } from "./etcd-kv.js";
import { decideGrant, decideUpdate, fenced, issuedOne, queuedRequest, type Fencing } from "./lease-rules.js";
import { checkLeaseRecord, checkLeaseRequest, checkRolloutRecord } from "./state-codec.js";
import type { EnqueueResult, GrantExpectation, GrantResult, LeaseGrant, LeasePatch, LeaseRecord, LeaseRequest, LeaseRequestInput, LeaseResult, LeaseRolloutEdit } from "./store.js";
import { int, obj } from "./validate.js";

/**
 * The leader's election key and its create revision. A grant compares it in the same transaction,
 * so a coordinator deposed mid-grant (its election lease expired) cannot grant anything.
 */
export interface LeaderGuard {
  key: string;
  createRevision: string;
}

const fencingShape = obj({ issued: int, lastGranted: int });

export interface EtcdLeasesDeps {
  kv: EtcdKv;
  keys: EtcdKeys;
  now: () => number;
  /** Absent: no leader fencing (a single coordinator). Returning null: not the leader now. */
  leaderGuard?: (() => LeaderGuard | null) | undefined;
}

/**
 * Fencing tokens come from a counter key written in the grant's own transaction rather than from
 * etcd revisions: tokens must be pre-issuable (nextFencingToken) and checkable against "issued"
 * and "last granted", exactly as in FileStore, and the counter keeps them dense and readable.
 * The counter's mod revision is compared, so two grants can never take the same token.
 */
export class EtcdLeases {
  constructor(private readonly d: EtcdLeasesDeps) {}

  private get k(): EtcdKeys {
    return this.d.keys;
  }

  private fencing(kv: IKeyValue | undefined): Fencing {
    return decodeOpt(fencingShape, kv) ?? { issued: 0, lastGranted: 0 };
  }

  nextFencingToken(): Promise<number> {
    return casLoop("fencing token", async () => {
      const [f] = await this.d.kv.read([get(this.k.fencing())]);
      const next = issuedOne(this.fencing(only(f)));
      const r = await this.d.kv.txn([modIs(this.k.fencing(), modOf(f))], [put(this.k.fencing(), json(next))]);
      return r.succeeded ? next.issued : RETRY;
    });
  }

  /**
   * One snapshot read, the decision, then one transaction that commits only if nothing it decided
   * on has moved. The holder set is compared through `leases-version`, bumped by every grant and
   * release in their own transactions: its mod revision is unchanged iff no lease key was added or
   * removed. Per-holder mod revisions are not compared on purpose: phase updates and renewals of
   * other leases do not change the holder set and must not make grants retry under load. `edit` is applied to the
   * rollout record read here and written in the same transaction, if it changed anything.
   */
  grant(grant: LeaseGrant, expected: GrantExpectation, edit?: LeaseRolloutEdit): Promise<GrantResult> {
    const k = this.k;
    return casLoop("lease grant", async () => {
      const guard = this.guard();
      const reads = [range(k.leases(), prefixEnd(k.leases())), get(k.leasesVersion()), get(k.fencing()), get(k.queueIndex(grant.node)), get(k.rollout())];
      if (guard) reads.push(get(guard.key));
      const [leasesR, versionR, fencingR, indexR, rolloutR, guardR] = await this.d.kv.read(reads);
      if (guard && only(guardR)?.create_revision !== guard.createRevision) throw notLeader();

      const leases = new Map((leasesR?.response_range.kvs ?? []).map((kv) => [EtcdKeys.tail(kv.key, k.leases()), kv]));
      const held = leases.get(grant.node);
      const rollout = decodeOpt(checkRolloutRecord, only(rolloutR)) ?? {};
      const decision = decideGrant({ holders: leases.keys(), held: held && decode(checkLeaseRecord, held), fencing: this.fencing(only(fencingR)), rollout }, grant, expected);
      if (!decision.ok) return decision;
      const { lease } = decision;

      const compare = [
        modIs(k.leasesVersion(), modOf(versionR)),
        modIs(k.fencing(), modOf(fencingR)),
        modIs(k.queueIndex(grant.node), modOf(indexR)),
        createIs(k.lease(grant.node), "0"),
        // The rollout the grant was judged open on: an adoption's mark, a pause or a halt written since wins.
        modIs(k.rollout(), modOf(rolloutR)),
      ];
      if (guard) compare.push(createIs(guard.key, guard.createRevision));
      const version = Number(only(versionR)?.value.toString() ?? "0");
      const success = [
        put(k.fencing(), json(decision.fencing)),
        put(k.lease(grant.node), json(lease)),
        put(k.leasesVersion(), String(version + 1)),
      ];
      const index = only(indexR);
      if (index) success.push(del(k.queueIndex(grant.node)), del(k.queueEntry(index.value.toString())));
      const before = json(rollout);
      edit?.(rollout, lease);
      if (json(rollout) !== before) success.push(put(k.rollout(), json(rollout)));
      const r = await this.d.kv.txn(compare, success);
      return r.succeeded ? { ok: true, lease } : RETRY;
    });
  }

  update(node: string, fencingToken: number, patch: LeasePatch): Promise<LeaseResult> {
    return casLoop("lease update", async () => {
      const kv = await this.d.kv.get(this.k.lease(node));
      const updated = decideUpdate(decodeOpt(checkLeaseRecord, kv), fencingToken, patch);
      if (!updated.ok) return updated;
      const next = updated.lease;
      const r = await this.d.kv.txn([modIs(this.k.lease(node), kv?.mod_revision ?? "0")], [put(this.k.lease(node), json(next))]);
      return r.succeeded ? { ok: true, lease: next } : RETRY;
    });
  }

  /** Deletes the lease, bumps the holder-set version and applies `edit` to the rollout record, atomically. */
  release(node: string, fencingToken: number | "force", edit: LeaseRolloutEdit): Promise<LeaseResult> {
    return casLoop("lease release", async () => {
      const [leaseR, versionR, rolloutR] = await this.d.kv.read([get(this.k.lease(node)), get(this.k.leasesVersion()), get(this.k.rollout())]);
      const held = fenced(decodeOpt(checkLeaseRecord, only(leaseR)), fencingToken);
      if (!held.ok) return held;
      const rollout = decodeOpt(checkRolloutRecord, only(rolloutR)) ?? {};
      edit(rollout, held.lease);
      const version = Number(only(versionR)?.value.toString() ?? "0");
      const r = await this.d.kv.txn(
        [modIs(this.k.lease(node), modOf(leaseR)), modIs(this.k.leasesVersion(), modOf(versionR)), modIs(this.k.rollout(), modOf(rolloutR))],
        [del(this.k.lease(node)), put(this.k.leasesVersion(), String(version + 1)), put(this.k.rollout(), json(rollout))],
      );
      return r.succeeded ? held : RETRY;
    });
  }

  async get(node: string): Promise<LeaseRecord | undefined> {
    return decodeOpt(checkLeaseRecord, await this.d.kv.get(this.k.lease(node)));
  }

  async list(): Promise<LeaseRecord[]> {
    const { kvs } = await this.d.kv.rangeAll(this.k.leases(), prefixEnd(this.k.leases()));
    return kvs.map((kv) => decode(checkLeaseRecord, kv)).sort((a, b) => a.fencingToken - b.fencingToken);
  }

  /** A new node gets the next queue seq; a queued node keeps its place and its first request time. */
  enqueue(input: LeaseRequestInput): Promise<EnqueueResult> {
    return casLoop("enqueue", async () => {
      const [indexR, seqR] = await this.d.kv.read([get(this.k.queueIndex(input.node)), get(this.k.queueSeq())]);
      const index = only(indexR);
      if (index) {
        const entryKey = this.k.queueEntry(index.value.toString());
        const entry = await this.d.kv.get(entryKey);
        if (!entry) return RETRY; // dequeued between the two reads
        const request = queuedRequest(decode(checkLeaseRequest, entry), input, Math.floor(this.d.now()));
        const r = await this.d.kv.txn(
          [modIs(this.k.queueIndex(input.node), index.mod_revision), modIs(entryKey, entry.mod_revision)],
          [range(this.k.queue(), `${entryKey}\0`, { count_only: true }), put(entryKey, json(request))],
        );
        return r.succeeded ? { position: Number(r.responses[0]?.response_range.count), added: false, request } : RETRY;
      }
      const request = queuedRequest(undefined, input, Math.floor(this.d.now()));
      const next = Number(only(seqR)?.value.toString() ?? "0") + 1;
      const r = await this.d.kv.txn(
        [modIs(this.k.queueSeq(), modOf(seqR)), modIs(this.k.queueIndex(input.node), "0")],
        [
          // The count runs before the puts: the new entry is last, so its position is count + 1.
          range(this.k.queue(), prefixEnd(this.k.queue()), { count_only: true }),
          put(this.k.queueSeq(), String(next)),
          put(this.k.queueEntry(pad(next)), json(request)),
          put(this.k.queueIndex(input.node), pad(next)),
        ],
      );
      return r.succeeded ? { position: Number(r.responses[0]?.response_range.count) + 1, added: true, request } : RETRY;
    });
  }

  dequeue(node: string): Promise<LeaseRequest | undefined> {
    return casLoop("dequeue", async () => {
      const index = await this.d.kv.get(this.k.queueIndex(node));
      if (!index) return undefined;
      const r = await this.d.kv.txn(
        [modIs(this.k.queueIndex(node), index.mod_revision)],
        [del(this.k.queueIndex(node)), del(this.k.queueEntry(index.value.toString()), true)],
      );
      if (!r.succeeded) return RETRY;
      return decodeOpt(checkLeaseRequest, r.responses[1]?.response_delete_range.prev_kvs[0]);
    });
  }

  async listQueue(): Promise<LeaseRequest[]> {
    const { kvs } = await this.d.kv.rangeAll(this.k.queue(), prefixEnd(this.k.queue()));
    return kvs.map((kv) => decode(checkLeaseRequest, kv));
  }

  /** Compares and deletes for removing a node's queue entry inside another transaction. */
  async queueRemoval(node: string): Promise<{ compare: ICompare[]; ops: IRequestOp[] }> {
    const index = await this.d.kv.get(this.k.queueIndex(node));
    const compare = [modIs(this.k.queueIndex(node), index?.mod_revision ?? "0")];
    return { compare, ops: index ? [del(this.k.queueIndex(node)), del(this.k.queueEntry(index.value.toString()))] : [] };
  }

  private guard(): LeaderGuard | undefined {
    if (!this.d.leaderGuard) return undefined;
    const guard = this.d.leaderGuard();
    if (!guard) throw notLeader();
    return guard;
  }
}

function notLeader(): NkError {
  return new NkError("NOT_LEADER", "this coordinator is not the leader (its election key is gone or replaced); lease grants are refused");
}
