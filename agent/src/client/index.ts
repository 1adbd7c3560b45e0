// Public surface of agent/client: the connection to the coordinator.
export { CoordinatorClient, isUnavailable, nkCodeOf, type CoordinatorClientOptions, type DesiredOrPreview, type ServerStream } from "./coordinator-client.js";
export { Backoff, type BackoffOptions } from "./backoff.js";
export { GrpcLeaseClient, type GrpcLeaseClientDeps } from "./grpc-lease-client.js";
export { ReportSender, type ReportSenderDeps, type NodeHealthNow } from "./report-sender.js";
export { newestOnly } from "./newest-only.js";
export { keepStreaming, STREAM_PROVEN_MS, type KeepStreamingOptions } from "./keep-streaming.js";
export { AgentHello, type AgentHelloDeps, type MachineView } from "./agent-hello.js";
