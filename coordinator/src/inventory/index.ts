// Public surface of coordinator/inventory: the desired bundles of the adopted revision.
export { DesiredCatalog, type NodeDesired, type AdoptResult } from "./desired-catalog.js";
export { RevisionRenderer, type RepoReader, type RenderedRevision } from "./revision-renderer.js";
