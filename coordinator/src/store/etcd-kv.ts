// Thin layer over etcd's raw KV RPCs: op and compare builders, snapshot reads, paged ranges, errors as NkError.
import { ClientRuntimeError, GRPCInvalidArgumentError, type Etcd3, type ICompare, type IKeyValue, type IRangeRequest, type IRequestOp, type IResponseOp, type ITxnResponse } from "etcd3";
import { NkError } from "../../../shared/src/errors/index.js";
import { TickBatcher } from "./tick-batcher.js";
import { ShapeError, type Check } from "./validate.js";

/** etcd's default --max-txn-ops is 128; chunks stay well below it. */
export const TXN_CHUNK = 100;
const PAGE = 500;
/** Reads of at most this many operations are coalesced with concurrent ones into one transaction. */
const COALESCE_OPS = 16;
/** Coalesced read transactions in flight at once. */
const READS_IN_FLIGHT = 4;

type Key = string | Buffer;
const buf = (k: Key): Buffer => (typeof k === "string" ? Buffer.from(k, "utf8") : k);

/** The first key after every key starting with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: Key): Buffer {
  const b = Buffer.from(buf(prefix));
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      b[i]! += 1;
      return b.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

export const put = (key: Key, value: string | Buffer): IRequestOp => ({ request_put: { key: buf(key), value: typeof value === "string" ? buf(value) : value } });
export const del = (key: Key, prevKv = false): IRequestOp => ({ request_delete_range: { key: buf(key), prev_kv: prevKv } });
export const delPrefix = (prefix: Key): IRequestOp => ({ request_delete_range: { key: buf(prefix), range_end: prefixEnd(prefix) } });
export const delRange = (from: Key, to: Key): IRequestOp => ({ request_delete_range: { key: buf(from), range_end: buf(to) } });
export const get = (key: Key): IRequestOp => ({ request_range: { key: buf(key) } });
export const range = (from: Key, to: Key, extra: Omit<IRangeRequest, "key" | "range_end"> = {}): IRequestOp => ({
  request_range: { key: buf(from), range_end: buf(to), ...extra },
});
/** A nested transaction: lets one round trip carry many independent compare-and-set steps. */
export const subTxn = (compare: ICompare[], success: IRequestOp[]): IRequestOp => ({ request_txn: { compare, success, failure: [] } });

/** Mod revision equals `rev`; "0" means the key must not exist. */
export const modIs = (key: string, rev: string): ICompare => ({ key: buf(key), target: "Mod", result: "Equal", mod_revision: rev });
export const createIs = (key: string, rev: string): ICompare => ({ key: buf(key), target: "Create", result: "Equal", create_revision: rev });
export const exists = (key: string): ICompare => ({ key: buf(key), target: "Create", result: "NotEqual", create_revision: "0" });

/** The single key of a range response, if present. */
export function only(res: IResponseOp | undefined): IKeyValue | undefined {
  return res?.response_range?.kvs[0];
}

/** Mod revision of a single-key read ("0" when absent), for modIs. */
export function modOf(res: IResponseOp | undefined): string {
  return only(res)?.mod_revision ?? "0";
}

/** Parses a stored JSON value with a shape check; damage is STATE_CORRUPT naming the key. */
export function decode<T>(check: Check<T>, kv: IKeyValue): T {
  const key = kv.key.toString("utf8");
  try {
    return check(JSON.parse(kv.value.toString("utf8")), "");
  } catch (err) {
    const why = err instanceof ShapeError ? err.message : `not JSON (${(err as Error).message})`;
    throw new NkError("STATE_CORRUPT", `etcd key ${key}: ${why}`, { cause: err });
  }
}

export function decodeOpt<T>(check: Check<T>, kv: IKeyValue | undefined): T | undefined {
  return kv ? decode(check, kv) : undefined;
}

export const json = (value: unknown): string => JSON.stringify(value);

/** etcd failures become NkError: unreachable, timed out or refused → UNAVAILABLE; malformed requests → INTERNAL. */
export function etcdError(err: unknown, what: string): NkError {
  if (err instanceof NkError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof GRPCInvalidArgumentError || err instanceof ClientRuntimeError ? "INTERNAL" : "UNAVAILABLE";
  return new NkError(code, `etcd ${what} failed: ${message}`, { cause: err });
}

export class EtcdKv {
  /**
   * Small concurrent reads share one transaction (one snapshot, one round trip): a fleet of agents connecting,
   * or thousands of enrolments, each read a key or two; one round trip per read left etcd's latency in series.
   */
  private readonly reads = new TickBatcher<IRequestOp[], IResponseOp[]>((batch) => this.readMerged(batch), {
    maxWeight: TXN_CHUNK,
    parallel: READS_IN_FLIGHT,
    weight: (ops) => ops.length,
  });

  constructor(readonly client: Etcd3) {}

  async txn(compare: ICompare[], success: IRequestOp[], failure: IRequestOp[] = []): Promise<ITxnResponse> {
    try {
      return await this.client.kv.txn({ compare, success, failure });
    } catch (err) {
      throw etcdError(err, "transaction");
    }
  }

  /** Several reads from one consistent (linearizable) snapshot: a transaction without compares. */
  async read(ops: IRequestOp[]): Promise<IResponseOp[]> {
    if (ops.length > COALESCE_OPS) return (await this.txn([], ops)).responses;
    return this.reads.submit(ops);
  }

  /** One transaction for several callers' reads; each gets its own slice of the responses. */
  private async readMerged(batch: IRequestOp[][]): Promise<IResponseOp[][]> {
    const responses = (await this.txn([], batch.flat())).responses;
    let at = 0;
    return batch.map((ops) => responses.slice(at, (at += ops.length)));
  }

  async get(key: Key): Promise<IKeyValue | undefined> {
    return only((await this.read([get(key)]))[0]);
  }

  /** A range in pages at one revision, so large ranges never exceed gRPC's message limit. */
  async rangeAll(from: Key, to: Key, revision?: string): Promise<{ kvs: IKeyValue[]; revision: string }> {
    const kvs: IKeyValue[] = [];
    let start = buf(from);
    let rev = revision;
    for (;;) {
      let res;
      try {
        res = await this.client.kv.range({ key: start, range_end: buf(to), limit: PAGE, ...(rev ? { revision: rev } : {}) });
      } catch (err) {
        throw etcdError(err, "range");
      }
      rev ??= res.header.revision;
      kvs.push(...res.kvs);
      const last = res.kvs[res.kvs.length - 1];
      if (!res.more || !last) return { kvs, revision: rev };
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  /** Keys in reverse order, at most `limit` (for tails). */
  async rangeLast(from: Key, to: Key, limit: number): Promise<IKeyValue[]> {
    try {
      const res = await this.client.kv.range({ key: buf(from), range_end: buf(to), limit, sort_order: "Descend", sort_target: "Key" });
      return res.kvs.reverse();
    } catch (err) {
      throw etcdError(err, "range");
    }
  }
}

/** Returned by a compare-and-set step whose transaction lost a race: read again and retry. */
export const RETRY: unique symbol = Symbol("retry");

/** Runs a compare-and-set step until it commits or decides; bounded so a livelock surfaces as an error. */
export async function casLoop<T>(what: string, step: () => Promise<T | typeof RETRY>, attempts = 64): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const result = await step();
    if (result !== RETRY) return result;
  }
  throw new NkError("UNAVAILABLE", `etcd ${what}: still contended after ${attempts} attempts`);
}
