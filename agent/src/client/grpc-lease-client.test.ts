// GrpcLeaseClient against a scripted coordinator connection: which stream a late release may close.
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
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
  releaseLease(fencingToken: number): Promise<boolean> {
    return new Promise((resolve) => this.releases.push({ fencingToken, land: () => resolve(true) }));
  }
  failover(): void {}
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
});
