// Property test: malformed protobuf sent to every gRPC method of a real coordinator over TLS gets a status, never a crash or UNKNOWN, and it keeps serving.
import { connect as http2Connect, type ClientHttp2Session } from "node:http2";
import { status } from "@grpc/grpc-js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminServiceService, type EnrollNodeRequest, type EnrollNodeResponse, type GetStatusRequest, type GetStatusResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { AgentServiceService, ReportRequest } from "../../shared/src/proto/gen/nk/v1/agent.js";
import { AUTH_HEADER, NODE_HEADER, bearer } from "../../shared/src/wire/index.js";
import { adminCall, startHarness, type Harness } from "../support/coordinator-harness.js";
import { fuzzParams, fuzzTimeout } from "../support/fuzz-runs.js";
import { grpcFrame, rawGrpcCall } from "../support/raw-grpc.js";

interface Method {
  readonly path: string;
  readonly service: "agent" | "admin";
  /** A valid request of this method, encoded: the seed that mutations start from. */
  readonly sample: Buffer;
}

const methods: Method[] = [
  ...Object.values(AgentServiceService).map((m) => ({ path: m.path, service: "agent" as const, sample: m.requestSerialize(m.requestDeserialize(Buffer.alloc(0)) as never) })),
  ...Object.values(AdminServiceService).map((m) => ({ path: m.path, service: "admin" as const, sample: m.requestSerialize(m.requestDeserialize(Buffer.alloc(0)) as never) })),
];

/** Protobuf-shaped bytes: fields with random numbers, wire types and payloads, so many decode and reach the handlers. */
const varint = (n: bigint): number[] => {
  const out: number[] = [];
  let v = n;
  do {
    out.push(Number((v & 0x7fn) | (v > 0x7fn ? 0x80n : 0n)));
    v >>= 7n;
  } while (v > 0n);
  return out;
};
const field = fc.record({
  no: fc.integer({ min: 1, max: 20 }),
  value: fc.oneof(
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => ({ wire: 0, bytes: varint(v) })),
    fc.uint8Array({ maxLength: 48 }).map((b) => ({ wire: 2, bytes: [...varint(BigInt(b.length)), ...b] })),
    fc.string({ maxLength: 24 }).map((s) => Buffer.from(s)).map((b) => ({ wire: 2, bytes: [...varint(BigInt(b.length)), ...b] })),
    fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => ({ wire: 5, bytes: [...b] })),
    fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => ({ wire: 1, bytes: [...b] })),
    fc.integer({ min: 0, max: 7 }).map((wire) => ({ wire, bytes: [] as number[] })),
  ),
});
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
  fc.array(field, { maxLength: 8 }).map((fields) => Buffer.from(fields.flatMap((f) => [...varint(BigInt((f.no << 3) | f.value.wire)), ...f.value.bytes]))),
);

describe("gRPC request decoders under malformed protobuf", () => {
  let h: Harness;
  let session: ClientHttp2Session;
  let nodeToken = "";

  const stillServes = async (): Promise<void> => {
    const { client, metadata } = h.admin();
    const s = await adminCall<GetStatusRequest, GetStatusResponse>(client.getStatus.bind(client), {}, metadata);
    expect(s.cluster).toBe("homelab");
    expect((await h.agent("n1", nodeToken).report(ReportRequest.fromPartial({ agentVersion: "0.1.0" }))).haltDisruption).toBe(false);
  };

  beforeAll(async () => {
    h = await startHarness();
    const { client, metadata } = h.admin();
    await adminCall(client.setSecret.bind(client), { name: "k3s-token", value: Buffer.from("fuzz-k3s-token") }, metadata);
    nodeToken = (await adminCall<EnrollNodeRequest, EnrollNodeResponse>(client.enrollNode.bind(client), { node: "n1" }, metadata)).token;
    await h.push("initial");
    session = http2Connect(`https://127.0.0.1:${h.coordinator.grpcPort}`, { ca: h.coordinator.caPem });
    session.on("error", () => undefined);
    await stillServes();
  }, 120_000);

  afterAll(async () => {
    session?.close();
    await h?.close();
  });

  it("every method answers a status for any bytes (never UNKNOWN: no handler throws on what it decoded), and the coordinator keeps serving", async () => {
    // Agent calls carry n1's real credentials (so decoded garbage reaches the handlers) or none; admin calls
    // a node token or none: the admin token would let garbage enroll nodes and set secrets, and test nothing more.
    const auth = fc.constantFrom("node", "none");
    const seen = new Map<number, number>();
    const mutated = fc.tuple(fc.constantFrom(...methods), payload, fc.nat(), fc.boolean()).map(([m, extra, at, cut]) => {
      const bytes = Buffer.concat([m.sample, extra]);
      return { method: m, body: cut ? bytes.subarray(0, at % (bytes.length + 1)) : bytes };
    });
    await fc.assert(
      fc.asyncProperty(mutated, auth, async ({ method, body }, who) => {
        const headers: Record<string, string> = who === "node" ? { [AUTH_HEADER]: bearer(nodeToken), [NODE_HEADER]: "n1" } : {};
        // A stream that stays open (a watch) ends at its grpc-timeout.
        const { grpcStatus: code, message } = await rawGrpcCall(session, method.path, { ...headers, "grpc-timeout": "300m" }, grpcFrame(body));
        const answer = { code, message };
        seen.set(answer.code, (seen.get(answer.code) ?? 0) + 1);
        expect(answer.code, `${method.path} (${who}): ${answer.message}`).not.toBe(status.UNKNOWN);
        expect(answer.code).toBeGreaterThanOrEqual(0);
        expect(answer.code).toBeLessThanOrEqual(16);
        if (method.service === "admin") expect(answer.code, `${method.path} without the admin token`).not.toBe(status.OK);
      }),
      fuzzParams(120),
    );
    // Both kinds were exercised: bytes the decoders refused, and decoded requests the handlers answered.
    expect(seen.get(status.INTERNAL) ?? 0, JSON.stringify([...seen])).toBeGreaterThan(0);
    expect([...seen.keys()].filter((c) => c !== status.INTERNAL).length, JSON.stringify([...seen])).toBeGreaterThan(0);
    await stillServes();
  }, fuzzTimeout(120, 400, 60_000));
});
