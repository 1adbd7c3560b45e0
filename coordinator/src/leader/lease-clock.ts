// The latest moment this coordinator can be sure etcd has not expired its candidacy's lease, from the keepalives
// etcd acknowledged: past it, another coordinator may lead, so this one must stop acting as leader.

/**
 * etcd restarts a lease's TTL when a keepalive reaches it, which is after the keepalive was sent: so a keepalive sent
 * at `s` and acknowledged keeps the lease alive until at least `s + TTL`, by the coordinator's own monotonic clock.
 * A reply cannot be matched to its request by content (one lease, one stream), so replies are matched in order to
 * the sends still unanswered; a reply that cannot be matched extends nothing. Times are milliseconds of a
 * monotonic clock (performance.now()), never wall time, which can step.
 */
export class LeaseClock {
  private unanswered: number[] = [];
  private aliveUntilMs: number;
  /** A broken stream's oldest unanswered send, and until when its late replies may still arrive. */
  private orphan: { sentAtMs: number; untilMs: number } | null = null;

  /** `grantSentAtMs`: a time at or before the lease's grant was sent (etcd counts its TTL from the grant). */
  constructor(
    private readonly ttlMs: number,
    grantSentAtMs: number,
  ) {
    this.aliveUntilMs = grantSentAtMs + ttlMs;
  }

  /** A keepalive is about to be sent. */
  sent(atMs: number): void {
    this.unanswered.push(atMs);
  }

  /** etcd acknowledged the oldest unanswered keepalive and gave the lease `ttlSeconds` from when it arrived. */
  acknowledged(ttlSeconds: number, atMs: number): void {
    let sentAtMs = this.unanswered.shift();
    if (sentAtMs === undefined || !(ttlSeconds > 0)) return;
    // A reply may be a broken stream's, late (etcd3 half-closes a timed-out stream and still hears it): credit no
    // later than that stream's oldest unanswered send until such replies can no longer matter.
    if (this.orphan && atMs < this.orphan.untilMs) sentAtMs = Math.min(sentAtMs, this.orphan.sentAtMs);
    this.aliveUntilMs = Math.max(this.aliveUntilMs, sentAtMs + Math.min(ttlSeconds * 1_000, this.ttlMs));
  }

  /** The keepalive stream broke (or a new one opened): its unanswered sends leave the queue, their replies may lag. */
  streamLost(atMs: number): void {
    const oldest = this.unanswered[0];
    this.unanswered = [];
    if (oldest === undefined) return;
    const sentAtMs = Math.min(oldest, this.orphan && atMs < this.orphan.untilMs ? this.orphan.sentAtMs : oldest);
    this.orphan = { sentAtMs, untilMs: atMs + this.ttlMs };
  }

  /** etcd keeps the lease at least until then. */
  get expiresNoEarlierThanMs(): number {
    return this.aliveUntilMs;
  }
}
