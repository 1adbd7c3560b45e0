// AgentService as generated, except that WatchDesired also sends bytes encoded beforehand: a push encodes each node's
// message once with encodeDesiredResponse instead of through the generic writer (issue 24).
import type { handleServerStreamingCall } from "@grpc/grpc-js";
import { AgentServiceService, type AgentServiceServer, type WatchDesiredRequest, type WatchDesiredResponse } from "../../../shared/src/proto/gen/nk/v1/agent.js";

/** What the WatchDesired stream writes: a message, or its encoding (the same bytes on the wire). */
export type WatchDesiredWire = WatchDesiredResponse | Buffer;

export type AgentServiceImplementation = Omit<AgentServiceServer, "watchDesired"> & {
  watchDesired: handleServerStreamingCall<WatchDesiredRequest, WatchDesiredWire>;
};

export const AgentServiceDefinition = {
  ...AgentServiceService,
  watchDesired: {
    ...AgentServiceService.watchDesired,
    responseSerialize: (value: WatchDesiredWire): Buffer => (Buffer.isBuffer(value) ? value : AgentServiceService.watchDesired.responseSerialize(value)),
  },
} as const;
