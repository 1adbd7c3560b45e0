// Public surface of shared/version.
export { NK_VERSION, DEFAULT_NK_FLAKE } from "./version.js";
