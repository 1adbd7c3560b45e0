# The nk package (nk-agent, nk-coordinator, nkctl) built from this repository with nixpkgs' npm tooling.
{ lib, buildNpmPackage, importNpmLock, nodejs_20, makeWrapper }:

let
  root = ../.;
  packageJson = lib.importJSON (root + "/package.json");
  lock = lib.importJSON (root + "/package-lock.json");

  # The lock is written with npm's omit-lockfile-registry-resolved, so entries carry name, version and
  # integrity but no URL; importNpmLock fetches by URL, so each registry tarball's URL is put back here.
  # The integrity hashes in the lock still pin every byte: no hash is kept by hand.
  tarballUrl = path: pkg:
    let
      name = pkg.name or (lib.last (lib.splitString "node_modules/" path));
      base = lib.last (lib.splitString "/" name);
    in
    "https://registry.npmjs.org/${name}/-/${base}-${pkg.version}.tgz";
  lockWithUrls = lock // {
    packages = lib.mapAttrs
      (path: pkg:
        if path == "" || pkg ? resolved || (pkg.link or false) || (pkg.inBundle or false) then pkg
        else pkg // { resolved = tarballUrl path pkg; })
      lock.packages;
  };

  # Only what the build reads: edits to tests, docs or examples do not rebuild the package.
  buildFiles = [
    (root + "/package.json")
    (root + "/package-lock.json")
    (root + "/tsconfig.json")
    (root + "/tsconfig.build.json")
    (root + "/bin")
    (root + "/shared/src")
    (root + "/agent/src")
    (root + "/coordinator/src")
    (root + "/nkctl/src")
    (root + "/proto")
  ];
  src = lib.fileset.toSource {
    inherit root;
    fileset = lib.fileset.unions buildFiles;
  };

  # The flake itself, as the coordinator serves it to nodes for their bundles' default nk input
  # (GET /nk/source, coordinator/src/nk-source: its SOURCE_PATHS name the same files).
  flakeSource = lib.fileset.toSource {
    inherit root;
    fileset = lib.fileset.unions ([ (root + "/flake.nix") (root + "/nixos-module") ] ++ buildFiles);
  };
in
buildNpmPackage {
  pname = "nk";
  inherit (packageJson) version;
  inherit src;
  nodejs = nodejs_20;

  npmDeps = importNpmLock {
    npmRoot = src;
    package = packageJson;
    packageLock = lockWithUrls;
  };
  npmConfigHook = importNpmLock.npmConfigHook;
  # No dependency compiles anything; their install scripts would only try to download binaries that the
  # platform packages in the lock already provide.
  npmRebuildFlags = [ "--ignore-scripts" ];

  # `npm run build` = tsc -p tsconfig.build.json, into dist/; bin/*.js load dist/ when it exists.
  npmBuildScript = "build";

  nativeBuildInputs = [ makeWrapper ];

  # Installed by hand: `npm pack` would follow .gitignore and leave dist/ out.
  installPhase = ''
    runHook preInstall
    npm prune --omit=dev --no-save --ignore-scripts
    dest=$out/lib/node_modules/nk
    mkdir -p "$dest" "$out/bin"
    # proto/: the coordinator loads the .proto files at run time to answer gRPC server reflection.
    cp -r package.json bin dist proto node_modules "$dest/"
    cp -r ${flakeSource} "$dest/source"
    for name in nk-agent nk-coordinator nkctl; do
      flags=""
      # The agent idles on every node: V8 gives up peak speed for memory there (bench/agent-footprint).
      if [ "$name" = nk-agent ]; then flags="--max-semi-space-size=1 --lite-mode "; fi
      makeWrapper ${lib.getExe nodejs_20} "$out/bin/$name" --add-flags "$flags$dest/bin/$name.js"
    done
    runHook postInstall
  '';

  meta = {
    description = "Declarative, safe, pull-based management of bare-metal k3s clusters on NixOS";
    license = lib.licenses.mit;
    mainProgram = "nkctl";
    platforms = lib.platforms.linux;
  };
}
