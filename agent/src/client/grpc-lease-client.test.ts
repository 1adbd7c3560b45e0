// GrpcLeaseClient against a scripted coordinator connection: which stream a late release may close.
import { EventEmitter } from "node:events";
import { describe, expect, it, vi } from "vitest";
import { silentLogger } from "../../../shared/src/log/index.js";
import type { LeaseInfo } from "../../../shared/src/wire/index.js";
import type { CoordinatorClient, ServerStream } from "./coordinator-client.js";
import { GrpcLeaseClient } from "./grpc-lease-client.js";

/** One AcquireLease call as the agent sees it: the test writes the coordinator's answers into it. */
class ScriptedStream extends EventEmitter {
  cancelled = false;
  constructor(readonly fencingToken: number) {
    super();
  }
  cancel(): void {
    this.cancelled = true;
    this.emit("error", Object.assign(new Error("1 CANCELLED: Cancelled on client"), { code: 1 }));
  }
}

/** The calls GrpcLeaseClient makes; releases wait until the test lets them through. */
class ScriptedConnection {
  readonly streams: ScriptedStream[] = [];
  readonly releases: Array<{ fencingToken: number; land: () => void }> = [];
  acquireLease(req: { fencingToken: number }): ServerStream<LeaseInfo> {
    const stream = new ScriptedStream(req.fencingToken);
    this.streams.push(stream);
    return stream as unknown as ServerStream<LeaseInfo>;
  }
  /** Token-0 releases refused as the coordinator does while a lease is held. */
  refuseTokenZero = false;
  readonly reattaches: string[] = [];
  /** What ReattachLease answers. */
  held: LeaseInfo | null = null;
  releaseLease(fencingToken: number): Promise<boolean> {
    if (fencingToken === 0 && this.refuseTokenZero) return Promise.reject(leaseHeld());
    return new Promise((resolve) => this.releases.push({ fencingToken, land: () => resolve(true) }));
  }
  reattachLease(reason: string): Promise<LeaseInfo | null> {
    this.reattaches.push(reason);
    return Promise.resolve(this.held);
  }
  failovers = 0;
  failover(): void {
    this.failovers++;
  }
  readonly renews: Array<[number, string]> = [];
  renewLease(fencingToken: number, state: string): Promise<LeaseInfo> {
    this.renews.push([fencingToken, state]);
    return Promise.resolve(lease(fencingToken, "draining"));
  }
}

const lease = (fencingToken: number, state: LeaseInfo["state"]): LeaseInfo => ({
  node: "n3",
  role: "server",
  kind: "service-restart",
  state,
  fencingToken,
  revision: "r",
  requestedAtMs: 0,
  grantedAtMs: 0,
  phaseDeadlineMs: 0,
  queuePosition: 0,
  waitingReason: "",
});

/** The coordinator's refusal of token 0 while the node holds a lease, as grpc-js delivers it. */
const leaseHeld = (): Error => Object.assign(new Error("9 FAILED_PRECONDITION: n3 holds lease #9 (draining)"), { code: 9, metadata: { get: (key: string) => (key === "nk-error-code" ? ["LEASE_HELD"] : []) } });

const request = { kind: "service-restart" as const, revision: "r2", sha256: "b".repeat(64), reason: "switch restarts k3s.service", fencingToken: null };

describe("GrpcLeaseClient", () => {
  it("a release retried late does not close the stream of a newer request, whose grant still arrives", async () => {
    // Found by the long chaos run: lease #7's release answer was lost in a network cut; the coordinator had already
    // released it, so the agent went on and queued a new request; the retried release then cancelled the new
    // request's stream, the coordinator granted #11 to nobody listening and the node waited for ever.
    const conn = new ScriptedConnection();
    const lost: number[] = [];
    const client = new GrpcLeaseClient({ client: conn as unknown as CoordinatorClient, bootId: async () => "boot-1", onLost: (t) => lost.push(t), log: silentLogger() });
    const first = client.acquire({ ...request, revision: "r1" }, new AbortController().signal);
    conn.streams[0]!.emit("data", lease(7, "granted"));
    expect(await first).toEqual({ granted: true, fencingToken: 7 });

    const release = client.release(7, true, "confirmed");
    // The coordinator released #7 (the stream says so) but the answer to the release call is still on its way.
    conn.streams[0]!.emit("data", lease(7, "released"));
    expect(lost).toEqual([7]);

    const second = client.acquire(request, new AbortController().signal);
    expect(conn.streams).toHaveLength(2);
    conn.streams[1]!.emit("data", { ...lease(0, "queued"), queuePosition: 4 });
    conn.releases[0]!.land();
    await release;
    expect(conn.streams[1]!.cancelled).toBe(false);

    conn.streams[1]!.emit("data", lease(11, "granted"));
    expect(await second).toEqual({ granted: true, fencingToken: 11 });
    client.close();
  });

  it("an agent without its token is refused (LEASE_HELD), re-attaches explicitly, and presents the token it got", async () => {
    const conn = new ScriptedConnection();
    conn.held = lease(9, "draining");
    const client = new GrpcLeaseClient({ client: conn as unknown as CoordinatorClient, bootId: async () => "boot-1", onLost: () => undefined, log: silentLogger() });
    const acquired = client.acquire(request, new AbortController().signal);
    expect(conn.streams.map((s) => s.fencingToken)).toEqual([0]);
    conn.streams[0]!.emit("error", leaseHeld());
    await vi.waitFor(() => expect(conn.streams).toHaveLength(2));
    expect(conn.reattaches).toEqual(["service-restart lease wanted without its token (switch restarts k3s.service)"]);
    expect(conn.streams[1]!.fencingToken).toBe(9);
    conn.streams[1]!.emit("data", lease(9, "draining"));
    expect(await acquired).toEqual({ granted: true, fencingToken: 9 });
    client.close();
  });

  it("a withdrawal refused because a grant landed meanwhile re-attaches and hands the unstarted lease back by its token", async () => {
    const conn = new ScriptedConnection();
    conn.refuseTokenZero = true;
    conn.held = lease(12, "granted");
    const client = new GrpcLeaseClient({ client: conn as unknown as CoordinatorClient, bootId: async () => "boot-1", onLost: () => undefined, log: silentLogger() });
    const withdrawn = client.withdraw("superseded");
    await vi.waitFor(() => expect(conn.releases).toHaveLength(1));
    expect(conn.reattaches).toEqual(["withdrawing a request whose grant was not heard: superseded"]);
    expect(conn.releases[0]!.fencingToken).toBe(12);
    conn.releases[0]!.land();
    await withdrawn;
    // A lease already past its grant stays with its phases: nothing is released.
    conn.held = lease(13, "draining");
    await client.withdraw("superseded again");
    expect(conn.releases).toHaveLength(1);
    client.close();
  });

  it("a drain wait whose stream a deposed leader ends moves to the next coordinator and hears drained there", async () => {
    // Found by the HA chaos run (seed 24900027): the old leader stopped writing to the stream, the new one drained
    // the node and recorded it, and the agent waited minutes on the silent stream. The deposed leader now ends it.
    const conn = new ScriptedConnection();
    const client = new GrpcLeaseClient({ client: conn as unknown as CoordinatorClient, bootId: async () => "boot-1", onLost: () => undefined, log: silentLogger(), random: () => 0 });
    const acquired = client.acquire({ ...request, kind: "reboot" }, new AbortController().signal);
    conn.streams[0]!.emit("data", { ...lease(21, "granted"), kind: "reboot" });
    expect(await acquired).toEqual({ granted: true, fencingToken: 21 });

    const drained = client.drain(21, new AbortController().signal);
    await vi.waitFor(() => expect(conn.renews).toEqual([[21, "draining"]]));
    conn.streams[0]!.emit("data", { ...lease(21, "draining"), kind: "reboot" });
    const notLeader = Object.assign(new Error("14 UNAVAILABLE: c0 no longer leads; lease updates come from the new leader"), { code: 14, metadata: { get: (key: string) => (key === "nk-error-code" ? ["NOT_LEADER"] : []) } });
    conn.streams[0]!.emit("error", notLeader);
    // The next stream re-attaches to the held lease by its token, on the next address.
    await vi.waitFor(() => expect(conn.streams).toHaveLength(2));
    expect(conn.failovers).toBe(1);
    expect(conn.streams[1]!.fencingToken).toBe(21);
    conn.streams[1]!.emit("data", { ...lease(21, "drained"), kind: "reboot" });
    expect(await drained).toEqual({ ok: true });
    client.close();
  });

  it("releasing the lease a stream belongs to closes that stream", async () => {
    const conn = new ScriptedConnection();
    const client = new GrpcLeaseClient({ client: conn as unknown as CoordinatorClient, bootId: async () => "boot-1", onLost: () => undefined, log: silentLogger() });
    const acquired = client.acquire(request, new AbortController().signal);
    conn.streams[0]!.emit("data", lease(5, "granted"));
    await acquired;
    const release = client.release(5, true, "confirmed");
    conn.releases[0]!.land();
    await release;
    expect(conn.streams[0]!.cancelled).toBe(true);
    client.close();
  });

  it("asks again when a queued request's stream stays quiet, and hears the grant on the new stream", async () => {
    // A coordinator that stopped serving a stream without ending it (a lead lost while the request was being queued)
    // held the agent for good while the new leader granted the request.
    const conn = new ScriptedConnection();
    const client = new GrpcLeaseClient({ client: conn as unknown as CoordinatorClient, bootId: async () => "boot-1", onLost: () => undefined, log: silentLogger(), quietMs: 40, random: () => 0 });
    const acquired = client.acquire(request, new AbortController().signal);
    conn.streams[0]!.emit("data", { ...lease(0, "queued"), queuePosition: 1 });
    // Each quiet stream is opened again (a loaded machine may see several before it looks): the first is ended.
    await vi.waitFor(() => expect(conn.streams.length).toBeGreaterThanOrEqual(2), { timeout: 2_000 });
    const last = conn.streams.length - 1;
    expect(conn.streams.slice(0, last).map((s) => s.cancelled)).toEqual(Array(last).fill(true));
    // Nothing withdrew the request: the new stream asks for the same thing.
    expect(conn.releases).toEqual([]);
    // The grant goes to the newest stream; on a loaded machine that one may go quiet for 40 ms and be replaced before
    // the grant lands, so it is sent again on whichever stream is newest until the client hears it.
    let result: Awaited<typeof acquired> | undefined;
    void acquired.then((r) => (result = r));
    await vi.waitFor(() => {
      conn.streams.at(-1)!.emit("data", lease(5, "granted"));
      expect(result).toEqual({ granted: true, fencingToken: 5 });
    }, { timeout: 5_000, interval: 20 });
    client.close();
  });

  it("a drain hears 'drained' from a renewal's answer when the stream says nothing", async () => {
    const conn = new ScriptedConnection();
    const client = new GrpcLeaseClient({ client: conn as unknown as CoordinatorClient, bootId: async () => "boot-1", onLost: () => undefined, log: silentLogger(), renewEveryMs: 20 });
    const acquired = client.acquire({ ...request, kind: "reboot" }, new AbortController().signal);
    conn.streams[0]!.emit("data", { ...lease(6, "granted"), kind: "reboot" });
    expect(await acquired).toEqual({ granted: true, fencingToken: 6 });
    // The coordinator drained the node, but its stream went quiet; the heartbeat's answer says so.
    conn.renewLease = (fencingToken: number, state: string) => (conn.renews.push([fencingToken, state]), Promise.resolve({ ...lease(fencingToken, "drained"), kind: "reboot" }));
    expect(await client.drain(6, new AbortController().signal)).toEqual({ ok: true });
    client.close();
  });
});
