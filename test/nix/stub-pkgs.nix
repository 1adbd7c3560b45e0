# Fake derivations and builders for evaluating nixos-module/*.nix without nixpkgs: each is just a recognisable store-like path.
{ lib }:
let
  drv = name: { type = "derivation"; inherit name; outPath = "/stub/${name}"; };
  # Builders keep their text so tests can read what would be written to the store.
  file = name: text: { type = "derivation"; inherit name text; outPath = "/stub/store/${name}"; };
in
{
  nk = drv "nk";
  git = drv "git";
  openssh = drv "openssh";
  coreutils = drv "coreutils";
  util-linux = drv "util-linux";
  jq = drv "jq";
  gnugrep = drv "gnugrep";
  grub2 = drv "grub2";
  writeText = file;
  writeShellScript = file;
  formats.json = { }: { type = lib.types.attrs // { name = "json"; description = "JSON value"; }; };
}
