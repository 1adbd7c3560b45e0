# A small stand-in for nixpkgs' lib with only what nixos-module/*.nix use; types carry a name so tests can assert them.
let
  inherit (builtins) all any concatStringsSep filter foldl' isAttrs isBool isInt isList isString match replaceStrings;

  mkType = name: description: check: extra: { _type = "option-type"; inherit name description check; } // extra;

  types = rec {
    str = mkType "str" "string" isString { };
    nonEmptyStr = mkType "nonEmptyStr" "non-empty string" (v: isString v && match "[ \t\n]*" v == null) { };
    bool = mkType "bool" "boolean" isBool { };
    int = mkType "int" "signed integer" isInt { };
    port = mkType "port" "16 bit unsigned integer" (v: isInt v && v >= 0 && v <= 65535) { };
    path = mkType "path" "path" (v: builtins.isPath v || (isString v && match "/.*" v != null)) { };
    package = mkType "package" "package" (v: isString v || (isAttrs v && v ? outPath)) { };
    lines = mkType "lines" "strings concatenated with \"\\n\"" isString { };
    attrs = mkType "attrs" "attribute set" isAttrs { };
    ints = {
      positive = mkType "positiveInt" "positive integer, meaning >0" (v: isInt v && v > 0) { };
      unsigned = mkType "unsignedInt" "unsigned integer, meaning >=0" (v: isInt v && v >= 0) { };
    };
    listOf = t: mkType "listOf" "list of ${t.description}" (v: isList v && all t.check v) { elemType = t; };
    attrsOf = t: mkType "attrsOf" "attribute set of ${t.description}" (v: isAttrs v && all t.check (builtins.attrValues v)) { elemType = t; };
    nullOr = t: mkType "nullOr" "null or ${t.description}" (v: v == null || t.check v) { elemType = t; };
    enum = values: mkType "enum" "one of ${concatStringsSep ", " (map builtins.toJSON values)}" (v: builtins.elem v values) { inherit values; };
    # The module is kept so the harness can fill in the submodule's own defaults.
    submodule = m: mkType "submodule" "submodule" isAttrs { module = m; };
  };

  escapeShellArg = arg:
    let s = toString arg;
    in if match "[[:alnum:],._+:@%/-]+" s == null then "'${replaceStrings [ "'" ] [ "'\\''" ] s}'" else s;
in
rec {
  inherit types escapeShellArg concatStringsSep all any filter;

  mkOption = attrs: attrs // { _type = "option"; };
  mkEnableOption = name: mkOption { type = types.bool; default = false; description = "Whether to enable ${name}."; };
  mkPackageOption = pkgs: name: args: mkOption ({ type = types.package; default = pkgs.${name}; } // builtins.removeAttrs args [ "default" "extraDescription" ]);
  literalExpression = text: { _type = "literalExpression"; inherit text; };
  literalMD = text: { _type = "literalMD"; inherit text; };

  mkIf = condition: content: { _type = "if"; inherit condition content; };
  mkMerge = contents: { _type = "merge"; inherit contents; };
  mkDefault = content: { _type = "override"; priority = 1000; inherit content; };
  mkForce = content: { _type = "override"; priority = 50; inherit content; };

  optional = cond: x: if cond then [ x ] else [ ];
  optionals = cond: xs: if cond then xs else [ ];
  optionalString = cond: s: if cond then s else "";
  optionalAttrs = cond: a: if cond then a else { };
  escapeShellArgs = args: concatStringsSep " " (map escapeShellArg args);
  hasPrefix = prefix: s: builtins.substring 0 (builtins.stringLength prefix) s == prefix;
  removePrefix = prefix: s:
    if hasPrefix prefix s then builtins.substring (builtins.stringLength prefix) (builtins.stringLength s) s else s;
  mapAttrsToList = f: a: map (n: f n a.${n}) (builtins.attrNames a);
  concatMap = f: xs: builtins.concatLists (map f xs);
  makeBinPath = pkgs: concatStringsSep ":" (map (p: "${p}/bin") pkgs);
  toInt = s: let m = match "0*([0-9]+)" s; in if m == null then throw "toInt: not an integer: ${s}" else builtins.fromJSON (builtins.head m);
  mapAttrs = builtins.mapAttrs;
  genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
  importJSON = p: builtins.fromJSON (builtins.readFile p);
  last = l: builtins.elemAt l (builtins.length l - 1);
  escapeRegex = replaceStrings [ "\\" "[" "]" "{" "}" "(" ")" "." "*" "+" "?" "^" "$" "|" ]
    [ "\\\\" "\\[" "\\]" "\\{" "\\}" "\\(" "\\)" "\\." "\\*" "\\+" "\\?" "\\^" "\\$" "\\|" ];
  splitString = sep: s: filter isString (builtins.split (escapeRegex sep) s);
  getExe = p: "${p}/bin/${p.meta.mainProgram or p.name}";
  # Keeps the file list instead of copying anything into a store.
  fileset = {
    unions = l: l;
    toSource = { root, fileset }: { type = "fileset-source"; outPath = toString root; files = map toString fileset; };
  };
  licenses.mit = "mit";
  platforms.linux = [ "x86_64-linux" "aarch64-linux" ];
  recursiveUpdate = lhs: rhs:
    foldl' (acc: n: acc // { ${n} = if isAttrs (acc.${n} or null) && isAttrs rhs.${n} then recursiveUpdate acc.${n} rhs.${n} else rhs.${n}; }) lhs (builtins.attrNames rhs);
}
