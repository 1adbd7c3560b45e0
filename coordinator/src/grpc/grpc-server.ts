// Hosts AgentService and AdminService on one TLS port (plaintext only when explicitly asked, for tests).
import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { NkError } from "../../../shared/src/errors/index.js";

export interface GrpcServerOptions {
  /** host:port, e.g. "0.0.0.0:7443" or "127.0.0.1:0". */
  readonly address: string;
  readonly tls: { readonly caPem: string; readonly certPem: string; readonly keyPem: string } | "insecure";
  readonly services: ReadonlyArray<{ definition: ServiceDefinition; implementation: UntypedServiceImplementation }>;
  /** Largest request a client may send; bundles only flow to agents, so requests stay small. */
  readonly maxRequestBytes?: number;
}

export interface RunningGrpcServer {
  readonly port: number;
  readonly server: Server;
  /** Graceful stop with a deadline, then forced. */
  stop(graceMs?: number): Promise<void>;
}

export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const server = new Server({
    "grpc.max_receive_message_length": options.maxRequestBytes ?? 1024 * 1024,
    "grpc.max_send_message_length": 64 * 1024 * 1024,
    // Detects dead agents (power cut, cable pulled) without waiting for TCP timeouts.
    "grpc.keepalive_time_ms": 20_000,
    "grpc.keepalive_timeout_ms": 10_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.http2.min_ping_interval_without_data_ms": 5_000,
    "grpc.max_concurrent_streams": 64,
  });
  for (const s of options.services) server.addService(s.definition, s.implementation);
  const credentials =
    options.tls === "insecure"
      ? ServerCredentials.createInsecure()
      : ServerCredentials.createSsl(Buffer.from(options.tls.caPem), [{ private_key: Buffer.from(options.tls.keyPem), cert_chain: Buffer.from(options.tls.certPem) }], false);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.address, credentials, (err, bound) => (err ? reject(new NkError("UNAVAILABLE", `cannot listen on ${options.address}: ${err.message}`, { cause: err })) : resolve(bound))),
  );
  return {
    port,
    server,
    stop: (graceMs = 2_000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
