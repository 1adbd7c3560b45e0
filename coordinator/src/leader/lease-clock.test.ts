// LeaseClock: how long etcd is known to keep a lease alive, from keepalives sent and acknowledged.
import { describe, expect, it } from "vitest";
import { LeaseClock } from "./lease-clock.js";

describe("LeaseClock", () => {
  it("counts the TTL from when the grant was sent until a keepalive comes back", () => {
    const clock = new LeaseClock(3_000, 100);
    expect(clock.expiresNoEarlierThanMs).toBe(3_100);
    clock.sent(1_000);
    expect(clock.expiresNoEarlierThanMs).toBe(3_100);
    clock.acknowledged(3, 1_100);
    expect(clock.expiresNoEarlierThanMs).toBe(4_000);
  });

  it("credits each reply to the oldest keepalive still unanswered, so a slow reply never extends past its send", () => {
    const clock = new LeaseClock(3_000, 0);
    clock.sent(1_000);
    clock.sent(2_000);
    clock.acknowledged(3, 2_100);
    expect(clock.expiresNoEarlierThanMs).toBe(4_000);
    clock.acknowledged(3, 2_200);
    expect(clock.expiresNoEarlierThanMs).toBe(5_000);
  });

  it("extends nothing for a reply it cannot match, one after a broken stream, or one naming an expired lease", () => {
    const clock = new LeaseClock(3_000, 0);
    clock.acknowledged(3, 100);
    clock.sent(1_000);
    clock.streamLost(1_500);
    clock.acknowledged(3, 1_600);
    clock.sent(2_000);
    clock.acknowledged(0, 2_100);
    expect(clock.expiresNoEarlierThanMs).toBe(3_000);
  });

  it("credits a reply after a broken stream with no later than that stream's oldest unanswered send, for one TTL", () => {
    const clock = new LeaseClock(3_000, 0);
    clock.sent(1_000);
    clock.sent(2_000);
    clock.streamLost(3_000);
    // The new stream's first send; the reply that comes may be the old stream's, late.
    clock.sent(3_100);
    clock.acknowledged(3, 3_200);
    expect(clock.expiresNoEarlierThanMs).toBe(4_000);
    // Once the old stream's replies can no longer matter, replies count from their own sends again.
    clock.sent(6_100);
    clock.acknowledged(3, 6_200);
    expect(clock.expiresNoEarlierThanMs).toBe(9_100);
  });

  it("never trusts a reply's TTL beyond the lease's own, and never moves backwards", () => {
    const clock = new LeaseClock(3_000, 0);
    clock.sent(5_000);
    clock.acknowledged(60, 5_100);
    expect(clock.expiresNoEarlierThanMs).toBe(8_000);
    clock.sent(4_000);
    clock.acknowledged(3, 5_200);
    expect(clock.expiresNoEarlierThanMs).toBe(8_000);
  });
});
