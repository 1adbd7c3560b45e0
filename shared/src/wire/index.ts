// Public surface of shared/wire: domain types of the wire contract and their codecs.
export { APPLY_PHASES, applyPhaseToWire, applyPhaseFromWire, type ApplyPhaseName } from "./apply-phase.js";
export { desiredToWire, desiredFromWire, type DesiredBundle, type CheckCommandSpec, type PrebuiltSystem } from "./desired-codec.js";
export { encodeDesiredResponse } from "./desired-bytes.js";
export { leaseToWire, leaseFromWire, leaseKindToWire, leaseKindFromWire, leaseStateToWire, leaseStateFromWire, type LeaseInfo, type LeaseKindName, type LeaseStateName } from "./lease-codec.js";
export { AUTH_HEADER, NODE_HEADER, bearer } from "./auth-metadata.js";
export { dropIpServernameWarning } from "./ip-servername-warning.js";
export { FINAL_OUTCOMES, PREVIEW_OUTCOMES, previewOutcomeFromWire, previewOutcomeToWire, type BootChange, type PreviewOutcomeName, type PreviewResult } from "./preview-codec.js";
export { bootPathChanges, bootPathsFromWire, bootPathsToWire, describeChange, storeName, type BootPaths } from "./boot-paths.js";
