# Evaluates this repo's flake.nix against the stub nixpkgs (no fetching, no store): its outputs, for tests to inspect.
let
  flake = import ../../flake.nix;
  nixpkgs = { outPath = ./stub-nixpkgs.nix; lib = import ./stub-lib.nix; };
  self = flake.outputs { inherit self nixpkgs; };
in
self // { inherit (flake) inputs description; }
