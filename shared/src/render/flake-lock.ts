// flake.lock: the bundle's inputs pinned exactly as Nix writes the file (lock version 7), so Nix uses it as it is.
import type { BundleInputs } from "../lock/index.js";
import { canonicalJson } from "./checks-json.js";

/** Nix writes sorted keys with a two-space indent and a final newline; the same inputs give the same bytes. */
export function renderFlakeLock(inputs: BundleInputs): string {
  return canonicalJson({
    nodes: {
      nixpkgs: { locked: inputs.nixpkgs.locked, original: inputs.nixpkgs.original },
      // flake.nix says nk.inputs.nixpkgs.follows = "nixpkgs": one nixpkgs per system.
      nk: { inputs: { nixpkgs: ["nixpkgs"] }, locked: inputs.nk.locked, original: inputs.nk.original },
      root: { inputs: { nixpkgs: "nixpkgs", nk: "nk" } },
    },
    root: "root",
    version: 7,
  });
}
