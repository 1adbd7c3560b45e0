// Public surface of shared/version.
export { NK_VERSION } from "./version.js";
