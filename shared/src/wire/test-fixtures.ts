// Desired bundles for the wire codecs' tests, and the generated encoder's bytes to compare with.
import { WatchDesiredResponse } from "../proto/gen/nk/v1/agent.js";
import { desiredToWire, type DesiredBundle } from "./desired-codec.js";

/** A plain node's bundle: its files as given, the rest at common values. */
export function sampleDesired(node: string, files: DesiredBundle["files"]): DesiredBundle {
  return {
    node,
    revision: "0123456789abcdef0123456789abcdef01234567",
    sha256: "f".repeat(64),
    files,
    agentVersion: "0.1.0",
    rebootPolicy: "auto",
    checks: [],
    secretNames: ["k3s-token"],
    healthDeadlineMs: 600_000,
    activationTimeoutMs: 0,
    createdAtMs: 0,
    prebuilt: null,
  };
}

/** What `WatchDesiredResponse.encode` writes for a response carrying only `d`. */
export function generatedDesiredBytes(d: DesiredBundle): Buffer {
  return Buffer.from(WatchDesiredResponse.encode({ desired: desiredToWire(d), preview: undefined }).finish());
}
