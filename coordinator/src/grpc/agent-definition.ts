// AgentService as generated, except that WatchDesired also sends a node's desired message encoded at the moment
// grpc-js frames it (encodeDesiredResponse into one scratch buffer), instead of through the generic writer (issue 24).
import type { handleServerStreamingCall } from "@grpc/grpc-js";
import { AgentServiceService, type AgentServiceServer, type WatchDesiredRequest, type WatchDesiredResponse } from "../../../shared/src/proto/gen/nk/v1/agent.js";
import { encodeDesiredResponse, type DesiredBundle } from "../../../shared/src/wire/index.js";

/**
 * A desired message encoded only when grpc-js serializes it, which copies the bytes into its framed buffer at once:
 * so every message is written into the same scratch buffer. A push to 10,000 nodes used to hold 10,000 encoded ~5 KiB
 * buffers besides grpc-js's framed copies; their external memory set off full garbage collections ("external memory
 * pressure") in the middle of the publication.
 */
export class DesiredWire {
  constructor(readonly bundle: () => DesiredBundle) {}
}

/** What the WatchDesired stream writes: a message, its encoding (the same bytes on the wire), or a DesiredWire. */
export type WatchDesiredWire = WatchDesiredResponse | Buffer | DesiredWire;

// Larger messages get a buffer of their own, so one rare big bundle does not keep a big scratch buffer alive.
const SCRATCH_MAX = 1024 * 1024;
let scratch = Buffer.allocUnsafeSlow(16 * 1024);

function intoScratch(size: number): Buffer {
  if (size > SCRATCH_MAX) return Buffer.allocUnsafe(size);
  if (scratch.length < size) scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_MAX, Math.max(size, 2 * scratch.length)));
  return scratch.subarray(0, size);
}

/** The bytes of one WatchDesired message; a DesiredWire's are valid only until the next call (grpc-js copies them). */
export function serializeWatchDesired(value: WatchDesiredWire): Buffer {
  if (value instanceof DesiredWire) return encodeDesiredResponse(value.bundle(), intoScratch);
  return Buffer.isBuffer(value) ? value : AgentServiceService.watchDesired.responseSerialize(value);
}

export type AgentServiceImplementation = Omit<AgentServiceServer, "watchDesired"> & {
  watchDesired: handleServerStreamingCall<WatchDesiredRequest, WatchDesiredWire>;
};

export const AgentServiceDefinition = {
  ...AgentServiceService,
  watchDesired: {
    ...AgentServiceService.watchDesired,
    responseSerialize: serializeWatchDesired,
  },
} as const;
