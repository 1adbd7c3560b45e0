// Public surface of shared/nix: helpers that run Nix tools (I/O; not for pure folders).
export { parseNixFiles, parseNixSources, type NixParseOptions, type NixParseResult, type NixSource } from "./nix-parse.js";
