// Leader election among coordinators with etcd's election recipe (etcd3 Campaign), plus a guard key for fencing grants.
import { performance } from "node:perf_hooks";
import type { Campaign, Election, Etcd3, Watcher } from "etcd3";
import { silentLogger, type Logger } from "../../../shared/src/log/index.js";
import { DEFAULT_ETCD_PREFIX, type LeaderGuard } from "../store/index.js";
import type { Leadership } from "./leadership.js";
import { LeaseClock } from "./lease-clock.js";

export interface LeaderElectionOptions {
  client: Etcd3;
  /** The EtcdStore's prefix: the election lives at <prefix>election/<name>/ (default "/nk/"). */
  prefix?: string;
  /** Default "coordinator". */
  name?: string;
  /** This coordinator's identity (e.g. "host:port"), published as the leader's value. */
  id: string;
  /** etcd lease TTL of the candidacy (default 3 s): a crashed leader is replaced within about this long. */
  ttlSeconds?: number;
  /** Pause before campaigning again after a failed or lost candidacy (default 1 s). */
  retryMs?: number;
  /** A monotonic clock in ms (default performance.now); tests move it to stand for a paused process. */
  now?: () => number;
  logger?: Logger;
}

/**
 * Each coordinator campaigns with a key bound to its own etcd lease; the oldest key leads. When the
 * leader dies its lease expires after `ttlSeconds` and the next candidate is elected at once, so
 * takeover takes about one TTL. A leader leads only while etcd is known to keep its lease alive: each
 * keepalive etcd acknowledges proves the lease lives until its send time plus the TTL (LeaseClock), and the
 * leader steps aside a sixth of a TTL before that unless a later keepalive came back. So a leader cut off
 * from etcd (packets dropped, not refused) or paused stops before etcd can elect another, without
 * waiting for any call's deadline: drains and uncordons, which etcd cannot fence, stop with it. Stepping
 * aside keeps the candidacy: a late keepalive (a blocked event loop, an etcd leader change) makes it
 * leader again, announced, while its key stands; a lease really gone ends the candidacy. It also
 * checks its key every TTL/3 and steps down when the key is gone. Grants carry a harder guarantee
 * besides: `leaderGuard()` is compared inside their transaction.
 */
export class LeaderElection implements Leadership {
  private readonly election: Election;
  private readonly o: Required<Omit<LeaderElectionOptions, "logger">> & { logger: Logger };
  private readonly listeners = new Set<(leader: boolean) => void>();
  private campaign: Campaign | undefined;
  private guard: LeaderGuard | null = null;
  private watcher: Watcher | undefined;
  private observed: string | undefined;
  private refreshing = false;
  private refreshAgain = false;
  private leaseClock: LeaseClock | undefined;
  /** The key this candidacy won, kept while it steps aside for a late keepalive (guard is null then). */
  private held: LeaderGuard | null = null;
  /** The lease clock ran out while leading: isLeader() is false from then on, until announced and won back. */
  private lapsed = false;
  private resuming = false;
  private expiry: NodeJS.Timeout | undefined;
  /** Armed while stepped aside: a candidacy that cannot lead again in time gives way to one that can. */
  private giveUp: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  private constructor(options: LeaderElectionOptions) {
    this.o = { prefix: DEFAULT_ETCD_PREFIX, name: "coordinator", ttlSeconds: 3, retryMs: 1_000, now: () => performance.now(), logger: silentLogger(), ...options };
    this.election = this.o.client.namespace(this.o.prefix).election(this.o.name, this.o.ttlSeconds);
  }

  /** Starts campaigning and observing; leadership is reported through isLeader/onChange. */
  static start(options: LeaderElectionOptions): LeaderElection {
    const le = new LeaderElection(options);
    le.campaignOnce();
    le.observe();
    return le;
  }

  isLeader(): boolean {
    if (this.guard === null || this.lapsed) return false;
    if (this.msLeft() > 0) return true;
    // Asked after the clock ran out but before its timer ran (a paused process): answer no, and never take it back
    // silently; the step aside is announced, and leading again too.
    this.lapse();
    return false;
  }

  leaderId(): string | undefined {
    return this.isLeader() ? this.o.id : this.observed;
  }

  onChange(listener: (leader: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** The election key and its create revision while leader, else null; pass to EtcdStore as `leaderGuard`. */
  leaderGuard(): LeaderGuard | null {
    return this.isLeader() ? this.guard : null;
  }

  async resign(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    const campaign = this.campaign;
    this.campaign = undefined;
    this.held = null;
    clearTimeout(this.giveUp);
    this.setGuard(null);
    await campaign?.resign().catch((err: unknown) => this.o.logger.warn({ err }, "resign failed; the candidacy expires with its etcd lease"));
  }

  /** Resigns and stops observing. */
  async close(): Promise<void> {
    await this.resign();
    const watcher = this.watcher;
    this.watcher = undefined;
    // Cancelling talks to etcd, which may be unreachable: do not wait for it long.
    if (watcher) await Promise.race([watcher.cancel().catch(() => undefined), new Promise((r) => setTimeout(r, 2_000).unref())]);
  }

  private campaignOnce(): void {
    if (this.stopped) return;
    let campaign: Campaign;
    // Taken before the campaign sends its lease grant: etcd counts the TTL from the grant's arrival, later.
    const clock = new LeaseClock(this.o.ttlSeconds * 1_000, this.o.now());
    try {
      campaign = this.election.campaign(this.o.id);
    } catch (err) {
      this.o.logger.warn({ err }, "cannot campaign; retrying");
      return this.later(() => this.campaignOnce());
    }
    try {
      this.followKeepalives(campaign, clock);
    } catch (err) {
      // A candidacy this coordinator cannot judge must not hold the election: give it up at once.
      campaign.resign().catch(() => undefined);
      this.o.logger.warn({ err }, "cannot campaign; retrying");
      return this.later(() => this.campaignOnce());
    }
    this.campaign = campaign;
    this.leaseClock = clock;
    campaign.on("elected", () => void this.onElected(campaign));
    // Stays attached after a restart too: a late error from an old candidacy is only logged.
    campaign.on("error", (err) => this.lose(campaign, err));
  }

  private async onElected(campaign: Campaign): Promise<void> {
    try {
      const key = await campaign.getCampaignKey();
      const res = await this.o.client.get(key).exec();
      const kv = res.kvs[0];
      if (campaign !== this.campaign) return;
      if (!kv) throw new Error(`election key ${key} vanished right after the election`);
      this.held = { key, createRevision: kv.create_revision };
      // Elected with no keepalive acknowledged recently enough: the next one makes it leader (resume).
      if (this.msLeft() > 0) this.lead(campaign, "became leader");
    } catch (err) {
      this.lose(campaign, err);
    }
  }

  private lead(campaign: Campaign, message: string): void {
    this.lapsed = false;
    clearTimeout(this.giveUp);
    this.setGuard(this.held);
    this.armExpiry(campaign);
    this.o.logger.info({ id: this.o.id, key: this.held?.key }, message);
    this.watchdog = setInterval(() => void this.confirm(campaign), (this.o.ttlSeconds * 1_000) / 3);
    this.watchdog.unref();
  }

  /** The lease clock ran out: stop leading at once, and tell the listeners right after (not inside a caller's check). */
  private lapse(): void {
    if (this.lapsed || this.guard === null) return;
    this.lapsed = true;
    const campaign = this.campaign;
    setImmediate(() => {
      if (!this.lapsed || this.guard === null || !campaign) return;
      this.o.logger.warn({ id: this.o.id }, `etcd acknowledged none of the keepalives this coordinator sent in the last ${Math.round((this.o.ttlSeconds * 5_000) / 6)} ms: stepping aside before etcd could expire its lease; leading again when one is acknowledged while the election key is still this coordinator's`);
      this.setGuard(null);
      this.lapsed = false;
      // Its key still holds the election: a coordinator whose replies keep coming too late (a starved event loop)
      // would keep every other from leading. After two TTLs aside it gives the candidacy up.
      clearTimeout(this.giveUp);
      this.giveUp = setTimeout(() => {
        if (campaign === this.campaign && this.guard === null) this.lose(campaign, new Error(`stepped aside for ${this.o.ttlSeconds * 2} s without etcd acknowledging a keepalive in time: giving up the candidacy so that another coordinator can lead`));
      }, this.o.ttlSeconds * 2_000);
      this.giveUp.unref();
      // A reply that came while the step aside was pending found it leading still: it resumes now.
      if (this.msLeft() > 0) void this.resume(campaign);
    });
  }

  /** A keepalive came back after a lapse: lead again if the election key is still this candidacy's (the lease lived). */
  private async resume(campaign: Campaign): Promise<void> {
    const held = this.held;
    if (this.resuming || !held) return;
    this.resuming = true;
    try {
      const kv = (await this.o.client.get(held.key).exec()).kvs[0];
      if (campaign !== this.campaign || this.held !== held || this.guard !== null) return;
      if (kv?.create_revision !== held.createRevision) return this.lose(campaign, new Error("the election key is gone"));
      if (this.msLeft() > 0) this.lead(campaign, "leading again: etcd acknowledged a keepalive and the election key is still this coordinator's");
    } catch (err) {
      this.o.logger.debug({ err }, "cannot read the election key; leading again on a later keepalive");
    } finally {
      this.resuming = false;
    }
  }

  /** Confirms the election key still exists with our create revision. */
  private async confirm(campaign: Campaign): Promise<void> {
    const guard = this.guard;
    if (!guard || campaign !== this.campaign) return;
    try {
      const kv = (await this.o.client.get(guard.key).exec()).kvs[0];
      if (kv?.create_revision !== guard.createRevision) return this.lose(campaign, new Error("the election key is gone"));
    } catch (err) {
      // Unreachable etcd is the lease clock's to judge (armExpiry): this read only looks for a key gone.
      this.o.logger.debug({ err }, "cannot read the election key");
    }
  }

  /** Keeps the candidacy's lease clock from its keepalives (etcd3 keeps the lease; only its events are public). */
  private followKeepalives(campaign: Campaign, clock: LeaseClock): void {
    const lease = campaignLease(campaign);
    lease.on("keepaliveFired", () => clock.sent(this.o.now()));
    lease.on("keepaliveSucceeded", (res: { TTL: string }) => {
      // A reply that finds the clock already run out does not take leadership back silently: lapse first.
      if (campaign === this.campaign && this.guard && this.msLeft() <= 0) this.lapse();
      clock.acknowledged(Number(res.TTL), this.o.now());
      if (campaign !== this.campaign) return;
      if (this.guard && !this.lapsed) this.armExpiry(campaign);
      else if (!this.guard && this.held && this.msLeft() > 0) void this.resume(campaign);
    });
    lease.on("keepaliveFailed", () => clock.streamLost(this.o.now()));
    lease.on("keepaliveEstablished", () => clock.streamLost(this.o.now()));
  }

  /** Milliseconds this coordinator may still act as leader: up to a sixth of a TTL before etcd could expire its lease. */
  private msLeft(): number {
    const clock = this.leaseClock;
    if (!clock) return 0;
    return clock.expiresNoEarlierThanMs - (this.o.ttlSeconds * 1_000) / 6 - this.o.now();
  }

  /**
   * Steps aside when the lease clock runs out, unless a keepalive acknowledged meanwhile moved it (re-armed then).
   * Judged in setImmediate: after the event loop was blocked, timers run before sockets are read, and replies that
   * already arrived are credited first. The candidacy stays: etcd expires it if the lease is really gone.
   */
  private armExpiry(campaign: Campaign): void {
    clearTimeout(this.expiry);
    this.expiry = setTimeout(() => {
      setImmediate(() => {
        if (campaign !== this.campaign || !this.guard || this.lapsed) return;
        if (this.msLeft() > 0) this.armExpiry(campaign);
        else this.lapse();
      });
    }, Math.max(1, Math.ceil(this.msLeft())));
    this.expiry.unref();
  }

  /** Steps down (if leading), drops the candidacy, and campaigns again after retryMs. */
  private lose(campaign: Campaign, err: unknown): void {
    if (campaign !== this.campaign) {
      this.o.logger.debug({ err }, "error from a past candidacy");
      return;
    }
    this.o.logger.warn({ err, id: this.o.id, wasLeader: this.guard !== null }, "candidacy lost; campaigning again");
    this.campaign = undefined;
    this.held = null;
    this.lapsed = false;
    clearTimeout(this.giveUp);
    this.setGuard(null);
    campaign.resign().catch(() => undefined);
    this.later(() => this.campaignOnce());
  }

  /**
   * Tracks the leader's id by watching the election prefix and re-reading its oldest key on every
   * change (etcd3's ElectionObserver can latch onto a later candidate when several start at once).
   */
  private observe(): void {
    if (this.stopped) return;
    this.o.client
      .watch()
      .prefix(`${this.o.prefix}election/${this.o.name}/`)
      .create()
      .then((watcher) => {
        if (this.stopped) return void watcher.cancel().catch(() => undefined);
        this.watcher = watcher;
        const refresh = (): void => this.refreshObserved();
        watcher.on("put", refresh).on("delete", refresh).on("connected", refresh);
        watcher.on("error", (err) => {
          this.o.logger.warn({ err }, "election watch failed; watching again");
          this.watcher = undefined;
          void watcher.cancel().catch(() => undefined);
          this.later(() => this.observe());
        });
        refresh();
      })
      .catch((err: unknown) => {
        this.o.logger.warn({ err }, "cannot watch the election; retrying");
        this.later(() => this.observe());
      });
  }

  /** One read in flight at a time; changes during it trigger one more. */
  private refreshObserved(): void {
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = true;
    this.election
      .leader()
      .then((id) => void (this.observed = id))
      .catch((err: unknown) => this.o.logger.warn({ err }, "cannot read the election leader"))
      .finally(() => {
        this.refreshing = false;
        if (this.refreshAgain && !this.stopped) {
          this.refreshAgain = false;
          this.refreshObserved();
        }
      });
  }

  private later(fn: () => void): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, this.o.retryMs);
    t.unref();
    this.timers.add(t);
  }

  private setGuard(guard: LeaderGuard | null): void {
    const was = this.guard !== null;
    this.guard = guard;
    if (!guard) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
      clearTimeout(this.expiry);
      this.expiry = undefined;
    }
    if (was === (guard !== null)) return;
    for (const listener of this.listeners) {
      try {
        listener(guard !== null);
      } catch (err) {
        this.o.logger.error({ err }, "leadership listener failed");
      }
    }
  }
}

interface LeaseEvents {
  on(event: string, listener: (...args: never[]) => void): unknown;
}

/** The etcd3 Campaign's own lease (a private field of etcd3 1.x): its keepalive events are what LeaseClock reads. */
function campaignLease(campaign: Campaign): LeaseEvents {
  const lease = (campaign as unknown as { lease?: Partial<LeaseEvents> }).lease;
  if (typeof lease?.on !== "function") throw new Error("this etcd3 version's Campaign has no lease to follow: nk needs etcd3 1.x");
  return lease as LeaseEvents;
}
