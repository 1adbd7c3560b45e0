// The transport floor's server (bench:fanout-floor): the coordinator's own gRPC server setup (TLS, options) with a
// WatchDesired that holds each node's stream and, on a push, writes messages encoded before the clock starts. No
// store, render, registry or auth: what it costs is what grpc-js, HTTP/2 and TLS cost for the fan-out alone.
import type { ServerWritableStream } from "@grpc/grpc-js";
import { AgentServiceDefinition } from "../../coordinator/src/grpc/agent-definition.js";
import { startGrpcServer } from "../../coordinator/src/grpc/grpc-server.js";
import { createCa, issueServerCert } from "../../coordinator/src/tls/cert-factory.js";
import { WatchDesiredResponse, type WatchDesiredRequest } from "../../shared/src/proto/gen/nk/v1/agent.js";
import { NODE_HEADER } from "../../shared/src/wire/index.js";

export type FloorRequest = { kind: "listen" } | { kind: "prepare"; revision: string; fileBytes: number } | { kind: "push" };
export type FloorAnswer =
  | { kind: "listening"; port: number; caPem: string }
  | { kind: "prepared"; streams: number; messageBytes: number }
  /** The synchronous write loop's duration: grpc-js frames and queues every message before the loop returns. */
  | { kind: "written"; loopMs: number };

const streams = new Map<string, ServerWritableStream<WatchDesiredRequest, Buffer>>();
let prepared: Array<[ServerWritableStream<WatchDesiredRequest, Buffer>, Buffer]> = [];
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
function prepare(revision: string, fileBytes: number): void {
  const content = Buffer.alloc(fileBytes, "# nix text of a rendered bundle\n");
  prepared = [...streams].map(([node, call]) => [
    call,
    Buffer.from(WatchDesiredResponse.encode(WatchDesiredResponse.fromPartial({ desired: { node, revision, bundleSha256: revision.padEnd(64, "0"), files: [{ path: "configuration.nix", content }] } })).finish()),
  ]);
  send({ kind: "prepared", streams: prepared.length, messageBytes: prepared[0]?.[1].length ?? 0 });
}

process.on("message", (req: FloorRequest) => {
  if (req.kind === "listen") void listen();
  else if (req.kind === "prepare") prepare(req.revision, req.fileBytes);
  else {
    const started = performance.now();
    for (const [call, bytes] of prepared) call.write(bytes);
    send({ kind: "written", loopMs: performance.now() - started });
  }
});
