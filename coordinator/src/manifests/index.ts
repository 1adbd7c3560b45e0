// Public surface of coordinator/manifests: applying, pruning, diffing and reporting manifests/ through Kubernetes.
export type * from "./manifest-driver.js";
export { ManifestClient, NoManifests } from "./manifest-client.js";
export { defaultApplyTuning, type ApplyTuning } from "./apply-manifests.js";
