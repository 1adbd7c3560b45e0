// The agent's side of leases over gRPC: queue and wait for a grant, drain through the coordinator, renew, release.
import { NkError, errorMessage } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import { leaseKindToWire, type LeaseInfo, type LeaseStateName } from "../../../shared/src/wire/index.js";
import type { LeaseAnswer, LeaseClient, LeaseRequest, RenewPhase } from "../apply/index.js";
import { Backoff } from "./backoff.js";
import { isUnavailable, nkCodeOf, type CoordinatorClient, type ServerStream } from "./coordinator-client.js";

export interface GrpcLeaseClientDeps {
  readonly client: CoordinatorClient;
  readonly bootId: () => Promise<string>;
  /** The coordinator took the lease away (operator force-release, revoked): the state machine must know. */
  readonly onLost: (fencingToken: number, reason: string) => void;
  readonly log: Logger;
  readonly random?: () => number;
  /** How often a holder renews, so the coordinator notices a dead holder outside reboots. */
  readonly renewEveryMs?: number;
  /** A queued request's stream that says nothing for this long is opened again (default 60 s). */
  readonly quietMs?: number;
}

type Waiter = (lease: LeaseInfo) => boolean;

const PAST_DRAIN: ReadonlySet<LeaseStateName> = new Set(["drained", "rebooting", "verifying"]);

/** Why a lease stream ended when this coordinator cannot serve it (down, a follower, deposed): another address may lead. */
const LEADER_ELSEWHERE = /UNAVAILABLE|NOT_LEADER|does not lead/;

/** Waits `ms`, or less when `signal` aborts first. */
function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

function fenced(err: unknown): boolean {
  const code = nkCodeOf(err);
  return code === "LEASE_FENCED" || code === "LEASE_UNKNOWN";
}

export class GrpcLeaseClient implements LeaseClient {
  private stream: ServerStream<LeaseInfo> | null = null;
  private streamToken = 0;
  private readonly waiters = new Set<Waiter>();
  private held: { token: number; state: LeaseStateName } | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  /** The newest view of a held lease the coordinator sent. */
  private seen: LeaseInfo | null = null;
  private withdrawal: Promise<void> | null = null;
  /** The nk error code that ended the newest AcquireLease stream, if any. */
  private streamErrorCode: string | undefined;
  /** When the current stream last said anything (or opened). */
  private streamHeardAt = 0;
  /** Counts acquire calls: only the newest may withdraw. */
  private acquisitions = 0;
  private closed = false;

  constructor(private readonly deps: GrpcLeaseClientDeps) {}

  private backoff(): Backoff {
    return new Backoff({ initialMs: 250, maxMs: 10_000, random: this.deps.random ?? Math.random });
  }

  /** One AcquireLease stream at a time; updates go to whoever waits for them. Re-opened on disconnect. */
  private openStream(request: Omit<LeaseRequest, "fencingToken"> & { fencingToken: number }): void {
    this.stream?.cancel();
    const stream = this.deps.client.acquireLease({ kind: leaseKindToWire(request.kind), revision: request.revision, bundleSha256: request.sha256, reason: request.reason, fencingToken: request.fencingToken, k3sNext: request.k3sNext ?? "" });
    this.stream = stream;
    this.streamToken = request.fencingToken;
    this.streamHeardAt = Date.now();
    stream.on("data", (lease) => {
      if (this.stream === stream) this.streamHeardAt = Date.now();
      this.heard(lease);
    });
    stream.on("error", (err) => {
      if (this.stream !== stream) return;
      this.stream = null;
      this.streamErrorCode = nkCodeOf(err);
      const reason = errorMessage(err);
      for (const waiter of [...this.waiters]) if (waiter({ state: "revoked", waitingReason: `stream ended: ${reason}`, fencingToken: -1 } as LeaseInfo)) this.waiters.delete(waiter);
    });
    stream.on("end", () => {
      if (this.stream === stream) this.stream = null;
    });
  }

  /** A view of the lease from the coordinator: a stream's message, or a renewal's answer. */
  private heard(lease: LeaseInfo): void {
    if (lease.fencingToken > 0) this.seen = lease;
    if (lease.fencingToken > 0 && (lease.state === "revoked" || lease.state === "released") && this.held?.token === lease.fencingToken) {
      this.stopHolding();
      this.deps.onLost(lease.fencingToken, lease.waitingReason || `lease ${lease.state} by the coordinator`);
    }
    for (const waiter of [...this.waiters]) if (waiter(lease)) this.waiters.delete(waiter);
  }

  /**
   * While a request is queued its stream may rightly say nothing for long, but a coordinator that stopped serving it
   * without ending it (a lost lead it missed, a path that drops without a reset) would hold the agent for good while
   * another coordinator grants the request. So a stream quiet for `quietMs` is ended and the request asked again: the
   * coordinator answers at once with its place in the queue (or, granted meanwhile, LEASE_HELD and the re-attach).
   */
  private watchQuiet(stream: ServerStream<LeaseInfo>): () => void {
    const quietMs = this.deps.quietMs ?? 60_000;
    const timer = setInterval(() => {
      if (this.stream !== stream || Date.now() - this.streamHeardAt < quietMs) return;
      this.stream = null;
      stream.cancel();
      this.heard({ state: "revoked", waitingReason: `stream ended: no word from the coordinator for ${Math.round(quietMs / 1000)} s while queued; asking again`, fencingToken: -1 } as LeaseInfo);
    }, Math.max(10, Math.min(quietMs / 4, 5_000)));
    timer.unref();
    return () => clearInterval(timer);
  }

  private wait<T>(signal: AbortSignal, decide: (lease: LeaseInfo) => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = (lease) => {
        const value = decide(lease);
        if (value === undefined) return false;
        signal.removeEventListener("abort", onAbort);
        resolve(value);
        return true;
      };
      const onAbort = (): void => {
        this.waiters.delete(waiter);
        reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /**
   * Tells the coordinator this node wants no lease: it drops a queued request or takes back a lease granted
   * but not started (never one further along). Retried until delivered: a request or grant left behind by a
   * lost withdrawal would hold the queue, or the slot, for ever. A new acquire waits for it to land first.
   */
  withdraw(reason = "request withdrawn"): Promise<void> {
    const run = (this.withdrawal ?? Promise.resolve()).then(async () => {
      const backoff = this.backoff();
      while (!this.closed) {
        try {
          await this.deps.client.releaseLease(0, false, reason).catch(async (err: unknown) => {
            // Token 0 withdraws only a queued request: a lease granted meanwhile needs its token, taken back explicitly.
            if (nkCodeOf(err) !== "LEASE_HELD") throw err;
            await this.returnUnstarted(reason);
          });
          return;
        } catch (err) {
          if (!isUnavailable(err)) return void this.deps.log.warn({ err: errorMessage(err) }, "lease withdrawal refused");
          // Away, or a follower: the next address may lead.
          this.deps.client.failover();
          await new Promise((r) => setTimeout(r, backoff.next()));
        }
      }
    });
    this.withdrawal = run;
    void run.finally(() => {
      if (this.withdrawal === run) this.withdrawal = null;
    });
    return run;
  }

  /** A lease granted to a request this agent withdrew: re-attached (audited) and handed back unless it already started. */
  private async returnUnstarted(reason: string): Promise<void> {
    const lease = await this.deps.client.reattachLease(`withdrawing a request whose grant was not heard: ${reason}`);
    if (!lease) return;
    if (lease.state !== "granted") return void this.deps.log.warn({ fencingToken: lease.fencingToken, state: lease.state }, "withdrawn lease already started; left to its holder phases");
    await this.deps.client.releaseLease(lease.fencingToken, true, reason);
  }

  /**
   * The node holds a lease this agent has no token for (its state was lost, or the grant was never heard):
   * the explicit, audited re-attach. Resolves to the lease's token, or 0 when no lease is held any more.
   */
  private async reattach(request: LeaseRequest): Promise<number> {
    const lease = await this.deps.client.reattachLease(`${request.kind} lease wanted without its token (${request.reason})`);
    this.deps.log.warn({ fencingToken: lease?.fencingToken ?? null, state: lease?.state ?? null }, "lease re-attached without a token");
    return lease?.fencingToken ?? 0;
  }

  async acquire(request: LeaseRequest, signal: AbortSignal): Promise<LeaseAnswer> {
    const mine = ++this.acquisitions;
    let token = request.fencingToken ?? 0;
    const backoff = this.backoff();
    // Landing after this request, an earlier withdrawal would drop it.
    if (this.withdrawal) await this.withdrawal;
    // Withdrawn: a queued request must not block the FIFO queue for everybody behind it. Once a newer
    // request has replaced this one in the queue, withdrawing would drop that one instead.
    const withdraw = (): void => {
      if (mine !== this.acquisitions) return;
      this.stream?.cancel();
      this.stream = null;
      void this.withdraw();
    };
    while (!signal.aborted) {
      this.openStream({ ...request, fencingToken: token });
      const unwatch = this.stream ? this.watchQuiet(this.stream) : () => undefined;
      const outcome = await this.wait<{ granted: number } | { denied: string } | { retry: string } | { reattach: true }>(signal, (lease) => {
        if (lease.fencingToken === -1 && token === 0 && this.streamErrorCode === "LEASE_HELD") return { reattach: true };
        if (lease.fencingToken === -1) return /stream ended/.test(lease.waitingReason) && /(FAILED_PRECONDITION|LEASE_FENCED|NOT_FOUND|not in the adopted)/.test(lease.waitingReason) ? { denied: lease.waitingReason } : { retry: lease.waitingReason };
        if (lease.state === "queued") {
          this.deps.log.debug({ position: lease.queuePosition, why: lease.waitingReason }, "lease queued");
          return undefined;
        }
        if (lease.state === "revoked" || lease.state === "released") return { denied: lease.waitingReason || `lease ${lease.state}` };
        return { granted: lease.fencingToken };
      })
        .catch((err: unknown) => {
          withdraw();
          throw err;
        })
        .finally(unwatch);
      if ("granted" in outcome) {
        // The open stream now belongs to the granted lease: drain() listens on it for "drained".
        this.streamToken = outcome.granted;
        this.startHolding(outcome.granted, "granted");
        return { granted: true, fencingToken: outcome.granted };
      }
      if ("denied" in outcome) return { granted: false, reason: outcome.denied };
      if ("reattach" in outcome) {
        const found = await this.reattach(request).catch((err: unknown) => (this.deps.log.warn({ err: errorMessage(err) }, "lease re-attach failed; retrying"), 0));
        // With the token the next stream is the lease's own; without (released meanwhile) it is a new request.
        if (found > 0) {
          token = found;
          continue;
        }
        await sleepUnlessAborted(backoff.next(), signal);
        continue;
      }
      this.deps.log.warn({ reason: outcome.retry }, "lease stream interrupted; retrying");
      // A coordinator that is down or only follows cannot grant: the next address may lead.
      if (LEADER_ELSEWHERE.test(outcome.retry)) this.deps.client.failover();
      await sleepUnlessAborted(backoff.next(), signal);
    }
    // Withdrawn between two attempts: the request is still queued from the last one.
    withdraw();
    throw signal.reason instanceof Error ? signal.reason : new Error("aborted");
  }

  private startHolding(token: number, state: LeaseStateName): void {
    this.held = { token, state };
    if (this.renewTimer) return;
    this.renewTimer = setInterval(() => {
      const held = this.held;
      if (!held || held.state === "rebooting") return;
      const phase = held.state === "drained" ? "draining" : held.state;
      // The answer goes to whoever waits (a drain waiting for "drained"), as a stream's message would.
      void this.renewOnce(held.token, phase as RenewPhase).then(
        (lease) => this.heard(lease),
        (err: unknown) => this.deps.log.debug({ err: errorMessage(err) }, "lease heartbeat failed"),
      );
    }, this.deps.renewEveryMs ?? 30_000);
    this.renewTimer.unref();
  }

  private stopHolding(): void {
    this.held = null;
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = null;
  }

  private async renewOnce(token: number, state: RenewPhase, etcdSnapshot = ""): Promise<LeaseInfo> {
    return this.deps.client.renewLease(token, state, await this.deps.bootId(), etcdSnapshot);
  }

  async renew(fencingToken: number, state: RenewPhase, etcdSnapshot?: string): Promise<void> {
    const backoff = this.backoff();
    for (let attempt = 0; ; attempt++) {
      try {
        const lease = await this.renewOnce(fencingToken, state, etcdSnapshot);
        this.startHolding(fencingToken, lease.state);
        this.heard(lease);
        return;
      } catch (err) {
        if (fenced(err)) throw new NkError("LEASE_FENCED", errorMessage(err), { cause: err });
        if (!isUnavailable(err) || attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, backoff.next()));
      }
    }
  }

  async drain(fencingToken: number, signal: AbortSignal): Promise<{ ok: true } | { ok: false; error: string }> {
    const backoff = this.backoff();
    while (!signal.aborted) {
      // A lease kept from a stuck apply and presented again may be past its drain already: the stream told so
      // once, at the grant, and will not repeat it.
      // Only a reboot lease has been drained; a service-restart slot never was (the coordinator raises it to a reboot).
      if (this.seen?.fencingToken === fencingToken && this.seen.kind === "reboot" && PAST_DRAIN.has(this.seen.state)) return { ok: true };
      // After an agent restart there is no stream yet: re-attach to the held lease to hear "drained".
      if (!this.stream || this.streamToken !== fencingToken) this.openStream({ kind: "reboot", revision: "", sha256: "", reason: "drain", fencingToken });
      const result = this.wait<{ ok: true } | { ok: false; error: string } | { retry: string }>(signal, (lease) => {
        if (lease.fencingToken === -1) return { retry: lease.waitingReason };
        if (lease.fencingToken !== fencingToken) return undefined;
        if (lease.kind === "reboot" && PAST_DRAIN.has(lease.state)) return { ok: true };
        if (lease.state === "draining" && lease.waitingReason.startsWith("drain failed")) return { ok: false, error: lease.waitingReason };
        if (lease.state === "revoked" || lease.state === "released") return { ok: false, error: lease.waitingReason || `lease ${lease.state}` };
        return undefined;
      });
      await this.renew(fencingToken, "draining");
      const outcome = await result;
      if (!("retry" in outcome)) return outcome;
      // A coordinator that stopped leading ended the stream: the next address may lead.
      if (LEADER_ELSEWHERE.test(outcome.retry)) this.deps.client.failover();
      await new Promise((r) => setTimeout(r, backoff.next()));
    }
    throw signal.reason instanceof Error ? signal.reason : new Error("aborted");
  }

  async release(fencingToken: number, success: boolean, reason: string): Promise<void> {
    try {
      const released = await this.deps.client.releaseLease(fencingToken, success, reason);
      if (!released) throw new NkError("UNAVAILABLE", "the coordinator has not released the lease yet (node not back yet)");
    } catch (err) {
      if (!fenced(err)) throw err;
    }
    if (this.held?.token === fencingToken) this.stopHolding();
    // Only this lease's stream: a release retried after an outage can land once a newer request has its own
    // stream open, and cancelling that one would leave its grant unheard while the slot stays taken.
    if (this.streamToken === fencingToken) {
      this.stream?.cancel();
      this.stream = null;
    }
  }

  close(): void {
    this.closed = true;
    this.stopHolding();
    this.stream?.cancel();
    this.stream = null;
  }
}
