// A leader-only stream ends with UNAVAILABLE when leadership is lost, and its cleanup runs once whichever way it ends.
import { EventEmitter } from "node:events";
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../shared/src/log/index.js";
import { endWhenDeposed, type LeadershipListen } from "./end-when-deposed.js";

function leadership() {
  const listeners = new Set<(leader: boolean) => void>();
  let leading = true;
  const listen: LeadershipListen = (l) => (listeners.add(l), () => void listeners.delete(l));
  const set = (leader: boolean): void => {
    leading = leader;
    [...listeners].forEach((l) => l(leader));
  };
  return { listen, isLeader: () => leading, set, count: () => listeners.size };
}

describe("endWhenDeposed", () => {
  it("ends the stream with UNAVAILABLE and cleans up once when this coordinator stops leading", () => {
    const lead = leadership();
    const call = new EventEmitter();
    const errors: Array<{ code?: number; details?: string }> = [];
    call.on("error", (e: { code?: number; details?: string }) => void errors.push(e));
    let done = 0;
    const cleanup = endWhenDeposed(lead.listen, lead.isLeader, call, "AcquireLease", "this coordinator does not lead any more: retry on another coordinator", silentLogger(), () => void done++);
    lead.set(true);
    expect(errors).toEqual([]);
    lead.set(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe(status.UNAVAILABLE);
    expect(errors[0]!.details).toContain("does not lead any more");
    // The stream's own end after the error calls cleanup again: nothing runs twice, nothing stays subscribed.
    cleanup();
    lead.set(false);
    expect(done).toBe(1);
    expect(errors).toHaveLength(1);
    expect(lead.count()).toBe(0);
  });

  it("an agent that ends the stream first leaves no listener behind", () => {
    const lead = leadership();
    let done = 0;
    const cleanup = endWhenDeposed(lead.listen, lead.isLeader, new EventEmitter(), "WatchCheckRequests", "not leader", silentLogger(), () => void done++);
    cleanup();
    lead.set(false);
    expect(done).toBe(1);
    expect(lead.count()).toBe(0);
  });

  it("ends at once a stream whose coordinator stopped leading before it was watched", () => {
    // AcquireLease awaits the lease manager before it watches leadership: a change of leader during that wait fired
    // no listener, and the stream stayed open and silent while the new leader granted the request.
    const lead = leadership();
    lead.set(false);
    const call = new EventEmitter();
    const errors: Array<{ code?: number }> = [];
    call.on("error", (e: { code?: number }) => void errors.push(e));
    let done = 0;
    const cleanup = endWhenDeposed(lead.listen, lead.isLeader, call, "AcquireLease", "this coordinator does not lead any more: retry on another coordinator", silentLogger(), () => void done++);
    expect(errors.map((e) => e.code)).toEqual([status.UNAVAILABLE]);
    expect(done).toBe(1);
    expect(lead.count()).toBe(0);
    cleanup();
    expect(done).toBe(1);
  });
});
