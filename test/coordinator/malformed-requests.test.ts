// Integration: oversized, malformed and garbage requests to the gRPC and HTTP ports are refused and the coordinator keeps serving.
import { randomBytes } from "node:crypto";
import { connect as http2Connect } from "node:http2";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { status, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CoordinatorClient } from "../../agent/src/client/index.js";
import type { EnrollNodeRequest, EnrollNodeResponse, GetStatusRequest, GetStatusResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { HelloRequest, ReportRequest } from "../../shared/src/proto/gen/nk/v1/agent.js";
import { AUTH_HEADER, NODE_HEADER, bearer } from "../../shared/src/wire/index.js";
import { adminCall, startHarness, type Harness } from "../support/coordinator-harness.js";
import { grpcFrame, rawGrpcCall } from "../support/raw-grpc.js";

const MIB = 1024 * 1024;

/** Resolves when the peer closes the socket (or after `ms`, with false). */
function closedWithin(socket: { once(e: "close", l: () => void): unknown; destroy(): void }, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, ms);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** One gRPC call by hand on its own HTTP/2 session. */
async function rawGrpc(port: number, ca: string, path: string, headers: Record<string, string>, body: Buffer): Promise<{ grpcStatus: number; message: string }> {
  const session = http2Connect(`https://127.0.0.1:${port}`, { ca });
  try {
    return await new Promise((resolve, reject) => {
      session.on("error", reject);
      rawGrpcCall(session, path, headers, body).then(resolve, reject);
    });
  } finally {
    session.close();
  }
}

describe("malformed and oversized requests", () => {
  let h: Harness;
  let agent: CoordinatorClient;
  let token = "";
  let nodeHeaders: Record<string, string>;

  /** The coordinator still answers gRPC (admin and agent) and HTTP. */
  const stillServes = async (): Promise<void> => {
    const { client, metadata } = h.admin();
    const s = await adminCall<GetStatusRequest, GetStatusResponse>(client.getStatus.bind(client), {}, metadata);
    expect(s.cluster).toBe("homelab");
    expect((await agent.report(ReportRequest.fromPartial({ agentVersion: "0.1.0" }))).haltDisruption).toBe(false);
    const health = await h.fetch("/healthz");
    expect(health.status).toBe(200);
  };

  beforeAll(async () => {
    h = await startHarness();
    const { client, metadata } = h.admin();
    await adminCall(client.setSecret.bind(client), { name: "k3s-token", value: Buffer.from("malformed-k3s-token") }, metadata);
    token = (await adminCall<EnrollNodeRequest, EnrollNodeResponse>(client.enrollNode.bind(client), { node: "n1" }, metadata)).token;
    await h.push("initial");
    agent = h.agent("n1", token);
    nodeHeaders = { [AUTH_HEADER]: bearer(token), [NODE_HEADER]: "n1" };
    await stillServes();
  });

  afterAll(async () => {
    await h?.close();
  });

  it("a Report with a field over 1 MiB is RESOURCE_EXHAUSTED and does not land", async () => {
    const err = await agent.report(ReportRequest.fromPartial({ error: "x".repeat(MIB + 10) })).then(
      () => null,
      (e: ServiceError) => e,
    );
    expect(err?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err?.details).toMatch(/larger than max/);
    const { client, metadata } = h.admin();
    const s = await adminCall<GetStatusRequest, GetStatusResponse>(client.getStatus.bind(client), {}, metadata);
    expect(s.nodes.find((n) => n.name === "n1")?.lastError).toBe("");
    // Just under the limit is accepted, and the stored error is capped.
    await agent.report(ReportRequest.fromPartial({ error: "y".repeat(MIB - 1024) }));
    const after = await adminCall<GetStatusRequest, GetStatusResponse>(client.getStatus.bind(client), {}, metadata);
    expect(after.nodes.find((n) => n.name === "n1")?.lastError).toBe("y".repeat(4000));
    await stillServes();
  });

  it("hand-made gRPC frames: undecodable protobuf, a lying length prefix, an unknown method", async () => {
    const port = h.coordinator.grpcPort;
    const ca = h.coordinator.caPem;
    const garbage = await rawGrpc(port, ca, "/nk.v1.AgentService/Hello", nodeHeaders, grpcFrame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x34])));
    expect(garbage.grpcStatus).toBe(status.INTERNAL);
    const lying = await rawGrpc(port, ca, "/nk.v1.AgentService/Hello", nodeHeaders, grpcFrame(Buffer.from(HelloRequest.encode(HelloRequest.fromPartial({ node: "n1" })).finish()), 512 * MIB));
    expect(lying.grpcStatus).toBe(status.RESOURCE_EXHAUSTED);
    const unknown = await rawGrpc(port, ca, "/nk.v1.AgentService/DropTables", nodeHeaders, grpcFrame(Buffer.alloc(0)));
    expect(unknown.grpcStatus).toBe(status.UNIMPLEMENTED);
    const valid = await rawGrpc(port, ca, "/nk.v1.AgentService/Hello", nodeHeaders, grpcFrame(Buffer.from(HelloRequest.encode(HelloRequest.fromPartial({ node: "n1", agentVersion: "raw" })).finish())));
    expect(valid.grpcStatus).toBe(status.OK);
    await stillServes();
  });

  it("an HTTP/2 connection that sends garbage frames after the preface is dropped", async () => {
    const socket = tlsConnect({ host: "127.0.0.1", port: h.coordinator.grpcPort, ca: h.coordinator.caPem, ALPNProtocols: ["h2"], servername: "localhost" });
    socket.on("error", () => undefined);
    await new Promise<void>((resolve) => socket.once("secureConnect", () => resolve()));
    expect(socket.alpnProtocol).toBe("h2");
    socket.on("data", () => undefined);
    socket.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), randomBytes(4096)]));
    expect(await closedWithin(socket, 5_000)).toBe(true);
    await stillServes();
  });

  it("random bytes on the gRPC port (no TLS) are dropped", async () => {
    for (let i = 0; i < 3; i++) {
      const socket = netConnect({ host: "127.0.0.1", port: h.coordinator.grpcPort });
      socket.on("error", () => undefined);
      socket.on("data", () => undefined);
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      socket.write(randomBytes(64 * 1024));
      expect(await closedWithin(socket, 5_000)).toBe(true);
    }
    // Plaintext HTTP/2 (h2c) to the TLS port gets no answer but a closed connection.
    const session = http2Connect(`http://127.0.0.1:${h.coordinator.grpcPort}`);
    session.on("error", () => undefined);
    const req = session.request({ ":method": "POST", ":path": "/nk.v1.AgentService/Hello", "content-type": "application/grpc" });
    const failed = await new Promise<boolean>((resolve) => {
      req.on("response", () => resolve(false));
      req.on("error", () => resolve(true));
      req.on("close", () => resolve(true));
    });
    session.destroy();
    expect(failed).toBe(true);
    await stillServes();
  });

  it("the HTTP admin API answers a huge JSON body with 413, garbage JSON with 400", async () => {
    const auth = { authorization: `Bearer ${h.coordinator.adminToken}`, "content-type": "application/json" };
    const huge = await h.fetch("/api/v1/rollout/pause", { method: "POST", headers: auth, body: JSON.stringify({ reason: "r".repeat(8 * MIB) }) });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toEqual({ code: "TOO_LARGE", message: "Request body is too large" });
    const garbage = await h.fetch("/api/v1/rollout/pause", { method: "POST", headers: auth, body: "{ not json" });
    expect(garbage.status).toBe(400);
    const wrongShape = await h.fetch("/api/v1/rollout/pause", { method: "POST", headers: auth, body: JSON.stringify({ reason: 42, extra: true }) });
    expect(wrongShape.status).toBe(400);
    // Nothing of it paused the rollout.
    const { client, metadata } = h.admin();
    const s = await adminCall<GetStatusRequest, GetStatusResponse>(client.getStatus.bind(client), {}, metadata);
    expect(s.rollout?.paused).toBe(false);
    await stillServes();
  });

  it("oversized metadata is refused without taking the server down", async () => {
    const big = { ...nodeHeaders, "x-padding": "p".repeat(64 * 1024) };
    const outcome = await rawGrpc(h.coordinator.grpcPort, h.coordinator.caPem, "/nk.v1.AgentService/Hello", big, grpcFrame(Buffer.alloc(0))).then(
      (r) => r.grpcStatus,
      () => "refused",
    );
    expect(outcome).not.toBe(status.OK);
    await stillServes();
  });
});
