// The nk version every component reports and every bundle pins; kept equal to package.json by a test.
export const NK_VERSION = "0.1.0";

/** Where bundles import the nk flake from unless the inventory says otherwise. */
export const DEFAULT_NK_FLAKE = `github:nk-project/nk/v${NK_VERSION}`;
