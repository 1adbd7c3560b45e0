// Public surface of coordinator/fleet: node registry, desired fan-out and revision adoption.
export { ChangeSignal } from "./change-signal.js";
export { NodeRegistry } from "./node-registry.js";
export { DesiredStream, type DesiredStreamDeps } from "./desired-stream.js";
export { DesiredFeed, NodeFeed, type DesiredListener } from "./desired-feed.js";
export { RevisionAdopter, type AdoptOutcome, type RevisionAdopterDeps } from "./revision-adopter.js";
export { TelemetrySync, type TelemetrySyncDeps } from "./telemetry-sync.js";
export { RevisionHandOff, type RevisionHandOffDeps } from "./revision-hand-off.js";
export { NodeEnrollment, type NodeEnrollmentDeps } from "./node-enrollment.js";
