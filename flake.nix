# nk as a Nix flake: the package, NixOS modules for the agent and the coordinator, nkctl as an app, a dev shell and a VM test.
{
  description = "nk: declarative, safe, pull-based management of bare-metal k3s clusters on NixOS";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";

  outputs = { self, nixpkgs }:
    let
      lib = nixpkgs.lib;
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: lib.genAttrs systems (system: f (import nixpkgs {
        inherit system;
        overlays = [ self.overlays.default ];
      }));

      # The modules default `package` to pkgs.nk; this adds it (once, however many nk modules are imported).
      # Hosts whose pkgs is read-only (nixpkgs.pkgs set) apply nk.overlays.default themselves or set `package`.
      overlayModule = {
        key = "nk#overlay";
        nixpkgs.overlays = [ self.overlays.default ];
      };
    in
    {
      # Built with the host's nixpkgs: bundles set `nk.inputs.nixpkgs.follows = "nixpkgs"`.
      overlays.default = final: _prev: {
        nk = final.callPackage ./nixos-module/package.nix { };
      };

      packages = forAllSystems (pkgs: {
        nk = pkgs.nk;
        default = pkgs.nk;
      });

      nixosModules = {
        agent = { imports = [ overlayModule ./nixos-module/agent.nix ]; };
        coordinator = { imports = [ overlayModule ./nixos-module/coordinator.nix ]; };
        default = { imports = [ self.nixosModules.agent self.nixosModules.coordinator ]; };
      };

      apps = forAllSystems (pkgs: rec {
        nkctl = { type = "app"; program = "${pkgs.nk}/bin/nkctl"; };
        default = nkctl;
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [ pkgs.nodejs_20 pkgs.git pkgs.nix pkgs.etcd pkgs.jq ];
        };
      });

      checks = forAllSystems (pkgs: {
        nk = pkgs.nk;
        vm = import ./nixos-module/vm-test.nix { inherit pkgs; };
      });
    };
}
