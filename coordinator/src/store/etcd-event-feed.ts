// Events on etcd: batched appends numbered by a counter in the same transaction, a watch that feeds listeners in seq order.
import type { Watcher } from "etcd3";
import type { Logger } from "../../../shared/src/log/index.js";
import { watchGapless } from "./etcd-gapless-watch.js";
import type { EtcdKeys } from "./etcd-keys.js";
import { RETRY, TXN_CHUNK, casLoop, decode, delRange, get, json, modIs, modOf, only, prefixEnd, put, type EtcdKv } from "./etcd-kv.js";
import type { EventInput, EventListener, EventRecord, ReadEventsOptions } from "./store.js";
import { int, obj, optional, str, strMap, type Check } from "./validate.js";

const eventShape: Check<EventRecord> = obj({ seq: int, timeMs: int, kind: str, node: optional(str), revision: optional(str), message: str, fields: optional(strMap) });
const REWATCH_MS = 1_000;
/** Old events are trimmed when the seq crosses a multiple of this. */
const TRIM_EVERY = 1_000;

export interface EtcdEventFeedOptions {
  kv: EtcdKv;
  keys: EtcdKeys;
  clock: () => number;
  logger: Logger;
  /** Events kept in etcd; older ones are deleted. */
  maxEvents: number;
}

interface Pending {
  event: Omit<EventRecord, "seq">;
  resolve: (e: EventRecord) => void;
  reject: (err: unknown) => void;
}

/**
 * Every coordinator watches the events prefix, so events appended by any of them reach every
 * listener. Delivery is gap-free and in seq order: a watch notification or a local append that
 * jumps ahead first reads the missing range. A local append resolves after its listeners ran.
 */
export class EtcdEventFeed {
  private readonly listeners = new Set<EventListener>();
  private pending: Pending[] = [];
  private writing: Promise<void> | undefined;
  private chain: Promise<void> = Promise.resolve();
  private watcher: Watcher | undefined;
  private rewatchTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly o: EtcdEventFeedOptions,
    /** Highest seq handed to listeners (or skipped while there were none). */
    private delivered: number,
  ) {}

  static async open(options: EtcdEventFeedOptions): Promise<EtcdEventFeed> {
    const feed = new EtcdEventFeed(options, 0);
    feed.delivered = await feed.startWatch();
    return feed;
  }

  append(input: EventInput): Promise<EventRecord> {
    const event: Omit<EventRecord, "seq"> = { timeMs: Math.floor(this.o.clock()), kind: input.kind, message: input.message };
    if (input.node !== undefined) event.node = input.node;
    if (input.revision !== undefined) event.revision = input.revision;
    if (input.fields !== undefined) event.fields = { ...input.fields };
    return new Promise((resolve, reject) => {
      this.pending.push({ event, resolve, reject });
      this.kick();
    });
  }

  async read(options: ReadEventsOptions = {}): Promise<EventRecord[]> {
    const from = this.o.keys.event((options.afterSeq ?? 0) + 1);
    const to = prefixEnd(this.o.keys.events());
    if (options.tail !== undefined) return options.tail <= 0 ? [] : (await this.o.kv.rangeLast(from, to, options.tail)).map((kv) => decode(eventShape, kv));
    return (await this.o.kv.rangeAll(from, to)).kvs.map((kv) => decode(eventShape, kv));
  }

  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.rewatchTimer);
    while (this.writing) await this.writing;
    await this.watcher?.cancel().catch(() => undefined);
    await this.chain;
  }

  /** One writer drains the pending appends in batches: one transaction per batch. */
  private kick(): void {
    if (this.writing) return;
    this.writing = this.writeLoop().finally(() => {
      this.writing = undefined;
      if (this.pending.length > 0) this.kick();
    });
  }

  private async writeLoop(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, TXN_CHUNK - 2);
      try {
        const records = await casLoop("event append", () => this.writeBatch(batch));
        await this.deliver(records[records.length - 1]!.seq, records);
        batch.forEach((p, i) => p.resolve(records[i]!));
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
  }

  private async writeBatch(batch: Pending[]): Promise<EventRecord[] | typeof RETRY> {
    const k = this.o.keys;
    const [seqR] = await this.o.kv.read([get(k.eventsSeq())]);
    const last = Number(only(seqR)?.value.toString() ?? "0");
    const records = batch.map((p, i) => ({ seq: last + 1 + i, ...p.event }));
    const newLast = last + batch.length;
    const ops = [put(k.eventsSeq(), String(newLast)), ...records.map((r) => put(k.event(r.seq), json(r)))];
    if (Math.floor(newLast / TRIM_EVERY) !== Math.floor(last / TRIM_EVERY) && newLast > this.o.maxEvents) {
      ops.push(delRange(k.events(), k.event(newLast - this.o.maxEvents + 1)));
    }
    const r = await this.o.kv.txn([modIs(k.eventsSeq(), modOf(seqR))], ops);
    return r.succeeded ? records : RETRY;
  }

  /** Hands every event up to `upTo` to the listeners once, in order; `known` saves a read. Never rejects. */
  private deliver(upTo: number, known: EventRecord[] = []): Promise<void> {
    const run = this.chain
      .then(async () => {
        if (upTo <= this.delivered) return;
        if (this.listeners.size === 0) {
          this.delivered = upTo;
          return;
        }
        let events = known.filter((e) => e.seq > this.delivered && e.seq <= upTo);
        if (events.length !== upTo - this.delivered) events = (await this.read({ afterSeq: this.delivered })).filter((e) => e.seq <= upTo);
        for (const e of events) this.emit(e);
        this.delivered = upTo;
      })
      .catch((err: unknown) => this.o.logger.warn({ err, upTo }, "event delivery deferred; the next event retries it"));
    this.chain = run;
    return run;
  }

  private emit(event: EventRecord): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.o.logger.error({ err, seq: event.seq }, "event listener failed");
      }
    }
  }

  /** Reads the current seq and watches from just after that revision; returns the seq. */
  private async startWatch(): Promise<number> {
    const k = this.o.keys;
    const r = await this.o.kv.txn([], [get(k.eventsSeq())]);
    const seq = Number(only(r.responses[0])?.value.toString() ?? "0");
    const watcher = await watchGapless(this.o.kv.client.watch().prefix(k.events()), BigInt(r.header.revision) + 1n, (w) => {
      let created = false;
      w.once("connected", () => void (created = true));
      w.on("put", (kv) => {
        try {
          const e = decode(eventShape, kv);
          void this.deliver(e.seq, [e]);
        } catch (err) {
          this.o.logger.error({ err }, "unreadable event in etcd");
        }
      });
      w.on("error", (err) => {
        // A watch etcd refuses at creation rejects watchGapless instead, and its caller retries.
        if (!created) return;
        this.o.logger.warn({ err }, "etcd event watch failed; re-watching");
        void w.cancel().catch(() => undefined);
        this.scheduleRewatch();
      });
    });
    if (this.closed) await watcher.cancel();
    else this.watcher = watcher;
    return seq;
  }

  /** After a lost watch (e.g. compaction): watch again from now and catch up on what was missed. */
  private scheduleRewatch(): void {
    if (this.closed) return;
    this.rewatchTimer = setTimeout(() => {
      this.startWatch()
        .then((seq) => this.deliver(seq))
        .catch((err: unknown) => {
          this.o.logger.warn({ err }, "etcd event re-watch failed; retrying");
          this.scheduleRewatch();
        });
    }, REWATCH_MS);
    this.rewatchTimer.unref();
  }
}
