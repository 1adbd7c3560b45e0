// The transport floor's server (bench:fanout-floor): the coordinator's own gRPC server setup (TLS, options) with a
// WatchDesired that holds each node's stream and, on a push, writes messages encoded before the clock starts (or, with
// encodeAtPush, encodes each with the coordinator's own encoder first). No store, render, registry or auth: what it
// costs is what grpc-js, HTTP/2 and TLS (and the encoding) cost for the fan-out alone.
import type { ServerWritableStream } from "@grpc/grpc-js";
import { AgentServiceDefinition } from "../../coordinator/src/grpc/agent-definition.js";
import { startGrpcServer } from "../../coordinator/src/grpc/grpc-server.js";
import { createCa, issueServerCert } from "../../coordinator/src/tls/cert-factory.js";
import type { WatchDesiredRequest } from "../../shared/src/proto/gen/nk/v1/agent.js";
import { NODE_HEADER, encodeDesiredResponse, type DesiredBundle } from "../../shared/src/wire/index.js";

export type FloorRequest = { kind: "listen" } | { kind: "prepare"; revision: string; fileBytes: number; encodeAtPush: boolean } | { kind: "push" };
export type FloorAnswer =
  | { kind: "listening"; port: number; caPem: string }
  | { kind: "prepared"; streams: number; messageBytes: number }
  /** The synchronous write loop's duration: grpc-js frames and queues every message before the loop returns. */
  | { kind: "written"; loopMs: number };

type Call = ServerWritableStream<WatchDesiredRequest, Buffer>;
const streams = new Map<string, Call>();
let prepared: Array<{ call: Call; bundle: DesiredBundle; bytes: Buffer | null }> = [];
const send = (answer: FloorAnswer): void => void process.send!(answer);

async function listen(): Promise<void> {
  const now = Date.now();
  const ca = await createCa(now, 1);
  const cert = await issueServerCert(ca, [{ kind: "ip", value: "127.0.0.1" }], now, 1);
  const server = await startGrpcServer({
    address: "127.0.0.1:0",
    tls: { caPem: ca.certPem, certPem: cert.certPem, keyPem: cert.keyPem },
    services: [
      {
        definition: { watchDesired: AgentServiceDefinition.watchDesired },
        implementation: {
          watchDesired: (call: ServerWritableStream<WatchDesiredRequest, Buffer>) => {
            const node = String(call.metadata.get(NODE_HEADER)[0] ?? "");
            streams.set(node, call);
            call.on("cancelled", () => streams.delete(node));
          },
        },
      },
    ],
  });
  send({ kind: "listening", port: server.port, caPem: ca.certPem });
}

/** One message per node, each naming its node and the revision (what the simulated agents read), of a real size. */
function prepare(revision: string, fileBytes: number, encodeAtPush: boolean): void {
  const content = "# nix text of a rendered bundle\n".repeat(Math.ceil(fileBytes / 32)).slice(0, fileBytes);
  prepared = [...streams].map(([node, call]) => {
    const bundle: DesiredBundle = {
      node,
      revision,
      sha256: revision.padEnd(64, "0"),
      files: [{ path: "configuration.nix", content }],
      agentVersion: "0.1.0",
      rebootPolicy: "auto",
      checks: [],
      secretNames: [],
      healthDeadlineMs: 300_000,
      activationTimeoutMs: 0,
      createdAtMs: Date.now(),
      prebuilt: null,
    };
    return { call, bundle, bytes: encodeAtPush ? null : encodeDesiredResponse(bundle) };
  });
  const first = prepared[0];
  send({ kind: "prepared", streams: prepared.length, messageBytes: first ? encodeDesiredResponse(first.bundle).length : 0 });
}

process.on("message", (req: FloorRequest) => {
  if (req.kind === "listen") void listen();
  else if (req.kind === "prepare") prepare(req.revision, req.fileBytes, req.encodeAtPush);
  else {
    const started = performance.now();
    for (const { call, bundle, bytes } of prepared) call.write(bytes ?? encodeDesiredResponse(bundle));
    send({ kind: "written", loopMs: performance.now() - started });
  }
});
