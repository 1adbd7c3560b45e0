# Evaluates one nixos-module/*.nix without nixpkgs: stub lib and pkgs, option defaults filled in, definitions
# type-checked, mkIf/mkMerge resolved. A tiny model of the NixOS module system, enough for nk's own modules.
{ module, settings ? { }, hostName ? "stub-host", pkgsOverride ? { } }:
let
  lib = import ./stub-lib.nix;
  pkgs = import ./stub-pkgs.nix { inherit lib; } // pkgsOverride;
  inherit (builtins) attrNames concatStringsSep elemAt filter foldl' genList head isAttrs isList length mapAttrs toJSON;

  isOption = v: isAttrs v && (v._type or null) == "option";
  show = v: if isAttrs v && v ? outPath then v.outPath else if builtins.isPath v then "path ${toString v}" else toJSON v;

  subOptions = m: (if builtins.isFunction m then m { inherit lib pkgs; config = { }; name = "<name>"; } else m).options or { };

  # A definition after its type's check, with nested submodule defaults filled in (as the module system would).
  checked = path: type: value:
    if !(type.check value) then throw "The option `${path}' has a value that is not of type ${type.description}: ${show value}"
    else normalized path type value;
  normalized = path: type: value:
    if type.name == "submodule" then resolveOptions path (subOptions type.module) value
    else if type.name == "listOf" then genList (i: normalized "${path}.[${toString i}]" type.elemType (elemAt value i)) (length value)
    else if type.name == "attrsOf" then mapAttrs (n: normalized "${path}.${n}" type.elemType) value
    else if type.name == "nullOr" then (if value == null then null else normalized path type.elemType value)
    else value;

  resolveOptions = path: decls: defs:
    let unknown = filter (n: !(decls ? ${n})) (attrNames defs);
    in
    if unknown != [ ] then throw "The option `${path}.${head unknown}' does not exist."
    else mapAttrs
      (n: d:
        let p = "${path}.${n}";
        in
        if isOption d then
          (if defs ? ${n} then checked p d.type defs.${n}
          else if d ? default then normalized p d.type d.default
          else throw "The option `${p}' is used but not defined.")
        else resolveOptions p d (defs.${n} or { }))
      decls;

  # Flat "a.b.c" -> { type; default?; description } for every declared option.
  describe = path: decls: foldl'
    (acc: n:
      let d = decls.${n}; p = if path == "" then n else "${path}.${n}";
      in acc // (if isOption d
        then { ${p} = { type = d.type.description; description = d.description or null; } // (if d ? default then { inherit (d) default; } else { }); }
        else describe p d))
    { }
    (attrNames decls);

  absent = { _absent = true; };
  isAbsent = v: isAttrs v && v ? _absent;
  merge = a: b:
    if isAttrs a && isAttrs b && !(a ? outPath) && !(b ? outPath) then
      foldl' (acc: n: acc // { ${n} = if acc ? ${n} then merge acc.${n} b.${n} else b.${n}; }) a (attrNames b)
    else if isList a && isList b then a ++ b
    else if a == b then a
    else throw "conflicting definitions: ${show a} and ${show b}";
  resolve = v:
    if isList v then filter (x: !(isAbsent x)) (map resolve v)
    else if !(isAttrs v) || v ? outPath then v
    else if (v._type or null) == "if" then (if v.condition then resolve v.content else absent)
    else if (v._type or null) == "merge" then foldl' merge { } (filter (x: !(isAbsent x)) (map resolve v.contents))
    else if (v._type or null) == "override" then resolve v.content
    else let r = mapAttrs (_: resolve) v; in removeAttrs r (filter (n: isAbsent r.${n}) (attrNames r));

  config = {
    networking.hostName = hostName;
    nix.package = { type = "derivation"; name = "nix"; outPath = "/stub/nix"; };
    systemd.package = { type = "derivation"; name = "systemd"; outPath = "/stub/systemd"; };
    system.build.nixos-rebuild = { type = "derivation"; name = "nixos-rebuild"; outPath = "/stub/nixos-rebuild"; };
    # keepalived and k3s stand for the node's own services, which nk's modules only read.
    services = resolveOptions "services" evaluated.options.services (removeAttrs (settings.services or { }) [ "keepalived" "k3s" ])
      // { keepalived.enable = settings.services.keepalived.enable or false; k3s.enable = settings.services.k3s.enable or false; };
    # The machine's boot loader, as the node's own configuration sets it (nk's modules only read it).
    boot.loader.grub.enable = settings.boot.loader.grub.enable or false;
  };
  # The module and everything it imports, each applied to the module arguments.
  args = { inherit config lib pkgs; options = { }; modulesPath = "/stub/modules"; };
  load = m:
    let v = (let f = if builtins.isFunction m || isAttrs m then m else import m; in if builtins.isFunction f then f args else f);
    in [ v ] ++ builtins.concatMap load (v.imports or [ ]);
  modules = load module;
  mergeDecls = a: b: a // mapAttrs (n: v: if a ? ${n} && !(isOption v) && !(isOption a.${n}) then mergeDecls a.${n} v else if a ? ${n} then throw "option ${n} declared twice" else v) b;
  evaluated = {
    options = foldl' mergeDecls { } (map (v: v.options or { }) modules);
    config = { _type = "merge"; contents = map (v: v.config or { }) modules; };
  };
  resolvedConfig = let r = resolve evaluated.config; in if isAbsent r then { } else r;
in
{
  options = describe "" evaluated.options;
  cfg = config.services;
  config = resolvedConfig;
  # The text of each environment.etc file (JSON would show only the stub store path).
  etcText = mapAttrs (_: f: f.source.text or f.text or null) (resolvedConfig.environment.etc or { });
  failedAssertions = map (a: a.message) (filter (a: !a.assertion) (resolvedConfig.assertions or [ ]));
  warnings = resolvedConfig.warnings or [ ];
}
