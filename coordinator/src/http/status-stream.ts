// Fans StatusSource changes out to the status page's SSE clients: one render per burst, at most every `minIntervalMs`.
import type { ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { Logger } from "../../../shared/src/log/index.js";
import type { EventView, StatusSource } from "../status/index.js";
import { errorMessage } from "../../../shared/src/errors/index.js";
import { renderEvents } from "./render-events.js";
import { ROLLOUT_HISTORY_LIMIT } from "./render-rollouts.js";
import { pageTitle, renderStatusFragment } from "./render-status-page.js";

export interface StatusStreamOptions {
  readonly status: StatusSource;
  readonly log: Logger;
  /** Wall clock for ages on the page. */
  readonly now?: () => number;
  /** Coalescing window: bursts of changes become one update per window (default 250 ms, ~4 updates/s). */
  readonly minIntervalMs?: number;
  /** Events kept and shown (default 50). */
  readonly eventLimit?: number;
  /** Comment lines keep idle proxies from closing the stream (default 25 s). */
  readonly keepAliveMs?: number;
  /** A client this far behind is dropped; it reconnects and gets a full update (default 4 MiB). */
  readonly maxBufferedBytes?: number;
  /** While a rollout is in progress its open timeline bars grow: re-rendered this often without a change (default 2 s). */
  readonly rolloutRefreshMs?: number;
}

interface Update {
  now: number;
  title?: string;
  status?: string;
  events?: string;
}

export class StatusStream {
  private readonly clients = new Set<ServerResponse>();
  private readonly now: () => number;
  private readonly minIntervalMs: number;
  private readonly eventLimit: number;
  private readonly keepAliveMs: number;
  private readonly maxBufferedBytes: number;
  private events: EventView[] = [];
  private eventsReady: Promise<void> | null = null;
  private unsubscribe: (() => void)[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private keepAliveTimer: NodeJS.Timeout | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private rolloutOpen = false;
  private lastFlushAt = -Infinity;
  /** A render in flight (rollouts are read asynchronously); changes meanwhile schedule one more. */
  private rendering = false;
  private dirty = false;
  /** Bumped by stop(): a render started for clients that are all gone is dropped. */
  private generation = 0;
  private last: Required<Omit<Update, "now">> = { title: "", status: "", events: "" };
  private closed = false;

  constructor(private readonly opts: StatusStreamOptions) {
    this.now = opts.now ?? Date.now;
    this.minIntervalMs = opts.minIntervalMs ?? 250;
    this.eventLimit = opts.eventLimit ?? 50;
    this.keepAliveMs = opts.keepAliveMs ?? 25_000;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 4 * 1024 * 1024;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Takes over a response whose SSE headers are written; sends a full update at once. */
  async attach(res: ServerResponse): Promise<void> {
    if (this.closed) {
      res.end();
      return;
    }
    this.clients.add(res);
    res.on("close", () => this.detach(res));
    if (this.clients.size === 1) this.start();
    res.write("retry: 2000\n\n");
    await this.eventsReady;
    if (!this.clients.has(res)) return;
    const full = await this.renderAll().catch((err: unknown) => {
      this.opts.log.error({ err: errorMessage(err) }, "status stream: rendering failed");
      return null;
    });
    if (!full || !this.clients.has(res)) return;
    this.send(res, { ...full, now: this.now() });
    this.refreshWhileRollingOut();
  }

  /** Ends every stream; used when the server shuts down (open SSE responses would hold it open). */
  close(): void {
    this.closed = true;
    for (const res of [...this.clients]) res.end();
    this.stop();
  }

  private detach(res: ServerResponse): void {
    if (!this.clients.delete(res)) return;
    if (this.clients.size === 0) this.stop();
  }

  private start(): void {
    const { status } = this.opts;
    this.unsubscribe = [
      status.subscribe(() => this.schedule()),
      status.subscribeEvents((e) => {
        this.addEvents([e]);
        this.schedule();
      }),
    ];
    this.eventsReady = status.recentEvents(this.eventLimit).then(
      (events) => this.addEvents(events),
      (err: unknown) => this.opts.log.warn({ err: errorMessage(err) }, "status stream: loading recent events failed"),
    );
    this.keepAliveTimer = setInterval(() => this.broadcastRaw(": keep-alive\n\n"), this.keepAliveMs);
    this.keepAliveTimer.unref();
  }

  private stop(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.flushTimer = null;
    this.keepAliveTimer = null;
    this.events = [];
    this.eventsReady = null;
    this.generation += 1;
    this.dirty = false;
    this.last = { title: "", status: "", events: "" };
  }

  private addEvents(events: readonly EventView[]): void {
    const bySeq = new Map(this.events.map((e) => [e.seq, e]));
    for (const e of events) bySeq.set(e.seq, e);
    this.events = [...bySeq.values()].sort((a, b) => a.seq - b.seq).slice(-this.eventLimit);
  }

  private schedule(): void {
    if (this.flushTimer || this.clients.size === 0) return;
    if (this.rendering) {
      this.dirty = true;
      return;
    }
    const wait = Math.max(0, this.lastFlushAt + this.minIntervalMs - performance.now());
    // Even a zero wait goes through the timer, so a synchronous burst of changes renders once.
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.flush();
    }, wait);
  }

  private async renderAll(): Promise<Required<Omit<Update, "now">>> {
    const rollouts = await this.opts.status.rollouts(ROLLOUT_HISTORY_LIMIT);
    this.rolloutOpen = rollouts[0]?.endedAtMs === null;
    const snapshot = this.opts.status.snapshot();
    return { title: pageTitle(snapshot), status: renderStatusFragment(snapshot, this.now(), rollouts), events: renderEvents(this.events) };
  }

  private flush(): void {
    this.lastFlushAt = performance.now();
    this.rendering = true;
    const generation = this.generation;
    this.renderAll().then(
      (next) => {
        if (generation !== this.generation) return;
        this.publish(next);
        this.refreshWhileRollingOut();
      },
      (err: unknown) => this.opts.log.error({ err: errorMessage(err) }, "status stream: rendering failed"),
    ).finally(() => {
      this.rendering = false;
      if (!this.dirty) return;
      this.dirty = false;
      this.schedule();
    });
  }

  private refreshWhileRollingOut(): void {
    if (!this.rolloutOpen || this.refreshTimer || this.clients.size === 0) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      this.schedule();
    }, this.opts.rolloutRefreshMs ?? 2000);
    this.refreshTimer.unref();
  }

  private publish(next: Required<Omit<Update, "now">>): void {
    // Only the parts that changed travel; ages are recomputed by the page's script.
    const update: Update = { now: this.now() };
    if (next.title !== this.last.title) update.title = next.title;
    if (next.status !== this.last.status) update.status = next.status;
    if (next.events !== this.last.events) update.events = next.events;
    this.last = next;
    if (update.title === undefined && update.status === undefined && update.events === undefined) return;
    for (const res of [...this.clients]) this.send(res, update);
  }

  private send(res: ServerResponse, update: Update): void {
    this.write(res, `event: update\ndata: ${JSON.stringify(update)}\n\n`);
  }

  private broadcastRaw(text: string): void {
    for (const res of [...this.clients]) this.write(res, text);
  }

  private write(res: ServerResponse, text: string): void {
    if (res.writableLength > this.maxBufferedBytes) {
      this.opts.log.warn({ buffered: res.writableLength }, "status stream: dropping a client that does not keep up");
      this.detach(res);
      res.destroy();
      return;
    }
    res.write(text);
  }
}
