// Public surface of coordinator/nk-source: the served nk flake tarball, its NAR hash and its HTTP routes.
export { narHash, type SourceFile } from "./nar-hash.js";
export { sourceTarball } from "./source-tarball.js";
export { defaultSourceRoot, loadServedSource, readSourceFiles, sourceUrl, SOURCE_PATHS, type ServedSource } from "./nk-source.js";
export { memoized, nkSourcePlugin, type NkSourceRoutesOptions } from "./nk-source-routes.js";
export { publicHttpUrl, type PublicUrlSettings } from "./public-url.js";
