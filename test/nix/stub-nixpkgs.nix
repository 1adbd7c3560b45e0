# A stand-in for `import nixpkgs { system; overlays; }` (and its lib), enough to evaluate this repo's flake.nix
# without nixpkgs: builders return their arguments so tests can read what would be built.
{ system ? "x86_64-linux", overlays ? [ ] }:
let
  lib = import ./stub-lib.nix;
  drv = name: extra: { type = "derivation"; inherit name; outPath = "/stub/${name}"; } // extra;
  base = import ./stub-pkgs.nix { inherit lib; } // {
    inherit lib system;
    nodejs_20 = drv "nodejs-20" { meta.mainProgram = "node"; };
    makeWrapper = drv "make-wrapper" { };
    nix = drv "nix" { };
    etcd = drv "etcd" { };
    curl = drv "curl" { };
    buildNpmPackage = args: drv "${args.pname}-${args.version}" { inherit args; };
    importNpmLock = {
      __functor = _self: args: drv "npm-deps" { inherit args; };
      npmConfigHook = drv "npm-config-hook" { };
    };
    mkShell = args: drv "shell" { inherit args; };
    testers.runNixOSTest = test: drv "nixos-test-${test.name}" { inherit test; };
  };
  callPackage = final: fn: extra:
    let f = import fn;
    in f (builtins.intersectAttrs (builtins.functionArgs f) final // extra);
  final = builtins.foldl' (prev: overlay: prev // overlay final prev) (base // { callPackage = callPackage final; }) overlays;
in
final
