// Public surface of coordinator/manifests: applying, pruning, diffing and reporting manifests/ through Kubernetes.
export type * from "./manifest-driver.js";
// ManifestClient (manifest-client.js) is imported by path where Kubernetes is configured: it loads client-node.
export { NoManifests } from "./no-manifests.js";
export { defaultApplyTuning, type ApplyTuning } from "./apply-manifests.js";
export { ManifestSyncer, type ManifestSyncerDeps, type AdoptedRevision } from "./manifest-syncer.js";
export { EMPTY_MANIFESTS_VIEW, type ManifestsView, type ManifestObjectView, type ManifestsState } from "./manifests-view.js";
export { createManifestsAdmin, manifestsToWire, type ManifestsAdmin } from "./manifests-admin.js";
