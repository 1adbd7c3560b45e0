# services.nk-coordinator: the nk coordinator (inventory git repo, renderer, leases, gRPC for agents, HTTP for people).
{ config, lib, pkgs, ... }:

let
  cfg = config.services.nk-coordinator;
  json = pkgs.formats.json { };

  # systemd copies each *File into this directory (LoadCredential), readable only by the service's user, so
  # the originals can stay root 0600 and the dynamic user never needs access to them.
  credentialsDir = "/run/credentials/nk-coordinator.service";
  etcdUsed = cfg.store == "etcd";
  upstreamUsed = cfg.source.kind == "upstream";
  sshUsed = upstreamUsed && cfg.source.sshKeyFile != null;
  # Each *File option that is set: its option name, its credential name and the file.
  credentials = lib.filter (c: c.file != null && c.used) [
    { option = "adminTokenFile"; name = "admin-token"; file = cfg.adminTokenFile; used = true; }
    { option = "kubeconfigFile"; name = "kubeconfig"; file = cfg.kubeconfigFile; used = true; }
    { option = "source.webhookSecretFile"; name = "webhook-secret"; file = cfg.source.webhookSecretFile; used = cfg.source.kind == "upstream"; }
    { option = "source.passwordFile"; name = "upstream-password"; file = cfg.source.passwordFile; used = upstreamUsed; }
    { option = "source.sshKeyFile"; name = "upstream-ssh-key"; file = cfg.source.sshKeyFile; used = upstreamUsed; }
    { option = "etcd.caFile"; name = "etcd-ca"; file = cfg.etcd.caFile; used = etcdUsed; }
    { option = "etcd.certFile"; name = "etcd-cert"; file = cfg.etcd.certFile; used = etcdUsed; }
    { option = "etcd.keyFile"; name = "etcd-key"; file = cfg.etcd.keyFile; used = etcdUsed; }
    { option = "etcd.passwordFile"; name = "etcd-password"; file = cfg.etcd.passwordFile; used = etcdUsed; }
    { option = "etcd.secretsKeyFile"; name = "etcd-secrets-key"; file = cfg.etcd.secretsKeyFile; used = etcdUsed; }
  ];
  credential = name: "${credentialsDir}/${name}";
  # An optional string (most often an absolute path) that is off until set.
  optionalString = description: lib.mkOption { type = lib.types.nullOr lib.types.str; default = null; inherit description; };

  # The coordinator's config file (coordinator/src/config/coordinator-config.ts); `settings` wins over everything.
  coordinatorSettings = lib.recursiveUpdate
    ({
      inherit (cfg) stateDir logLevel;
      grpc.listen = cfg.listen.grpc;
      http = { listen = cfg.listen.http; inherit (cfg) publicStatus; };
      tls.hosts = cfg.tls.hosts;
      store =
        if etcdUsed then
          { kind = "etcd"; inherit (cfg.etcd) endpoints prefix; }
          // lib.optionalAttrs (cfg.etcd.caFile != null) {
            tls = { caFile = credential "etcd-ca"; }
              // lib.optionalAttrs (cfg.etcd.certFile != null) { certFile = credential "etcd-cert"; }
              // lib.optionalAttrs (cfg.etcd.keyFile != null) { keyFile = credential "etcd-key"; };
          }
          // lib.optionalAttrs (cfg.etcd.username != null) { auth = { inherit (cfg.etcd) username; passwordFile = credential "etcd-password"; }; }
          // lib.optionalAttrs (cfg.etcd.secretsKeyFile != null) { secretsKeyFile = credential "etcd-secrets-key"; }
        else { kind = "file"; };
      source =
        if cfg.source.kind == "upstream" then
          { kind = "upstream"; inherit (cfg.source) url branch intervalSeconds; }
          // lib.optionalAttrs (cfg.source.webhookSecretFile != null) { webhookSecretFile = credential "webhook-secret"; }
          // lib.optionalAttrs (cfg.source.passwordFile != null) { passwordFile = credential "upstream-password"; username = cfg.source.username; }
          // lib.optionalAttrs (cfg.source.sshKeyFile != null) { sshKeyFile = credential "upstream-ssh-key"; inherit (cfg.source) sshKnownHostsFile; }
        else { kind = "origin"; };
    }
    // lib.optionalAttrs (cfg.adminTokenFile != null) { adminTokenFile = credential "admin-token"; }
    // lib.optionalAttrs (cfg.kubeconfigFile != null) { kubeconfigFile = credential "kubeconfig"; }
    // lib.optionalAttrs (cfg.kube != null) { inherit (cfg) kube; })
    cfg.settings;
  configFile = pkgs.writeText "nk-coordinator.json" (builtins.toJSON coordinatorSettings);

  hostPortRegex = "([[][0-9a-fA-F:.]+[]]|[A-Za-z0-9.-]+):([0-9]{1,5})";
  portOf = address:
    let m = builtins.match hostPortRegex address;
    in if m == null then null else lib.toInt (builtins.elemAt m 1);
  ports = builtins.filter (p: p != null) [ (portOf cfg.listen.grpc) (portOf cfg.listen.http) ];
  privilegedPort = builtins.any (p: p < 1024) ports;

  isAbsolute = p: lib.hasPrefix "/" p;
  badFiles = lib.filter (c: !(isAbsolute c.file) || lib.hasPrefix "/nix/store/" c.file) credentials;
  badEndpoints = lib.filter (e: builtins.match "https?://.+" e == null) cfg.etcd.endpoints;
in
{
  options.services.nk-coordinator = {
    enable = lib.mkEnableOption "the nk coordinator, which hosts the inventory repo and steers every nk agent";

    # pkgs.nk comes from the nk flake's overlay, which nk.nixosModules.* apply; without the flake, set this.
    package = lib.mkPackageOption pkgs "nk" { };

    listen = {
      grpc = lib.mkOption {
        type = lib.types.str;
        default = "0.0.0.0:7443";
        description = "host:port of the gRPC API (agents and nkctl; TLS with the coordinator's own CA).";
      };
      http = lib.mkOption {
        type = lib.types.str;
        default = "0.0.0.0:7080";
        description = "host:port of the HTTPS side (certificate signed by the coordinator's own CA, <stateDir>/tls/ca.crt): status page, JSON API, metrics and the inventory git remote. Plain HTTP only through settings.http.plaintext on a loopback address.";
      };
    };

    stateDir = lib.mkOption {
      type = lib.types.str;
      default = "/var/lib/nk-coordinator";
      description = "State directory (bare repo, state file, events, tls/ca.crt), under /var/lib.";
    };

    tls.hosts = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      example = [ "coordinator.lan" "172.30.190.2" ];
      description = "Names and addresses agents use to reach the coordinator (server certificate SANs); localhost is always included.";
    };

    # Secrets are plain strings, not paths: a Nix path would be copied into the world-readable store.
    adminTokenFile = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "/etc/nk/admin.token";
      description = ''
        Absolute path of the admin token (nkctl, git push), passed in with LoadCredential. Null: the
        coordinator generates one into stateDir/admin.token.
      '';
    };

    kubeconfigFile = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "/etc/rancher/k3s/k3s.yaml";
      description = "Absolute path of a kubeconfig for drains and node readiness (LoadCredential; read at start). Either this or kube = \"none\" is required.";
    };

    kube = lib.mkOption {
      type = lib.types.nullOr (lib.types.enum [ "none" ]);
      default = null;
      description = ''
        "none": run without Kubernetes access on purpose. Nodes are then rebooted without a drain and judged
        back without a Kubernetes Ready check; the coordinator warns at start and on its status page.
        Either this or kubeconfigFile is required.
      '';
    };

    store = lib.mkOption {
      type = lib.types.enum [ "file" "etcd" ];
      default = "file";
      description = "Where leases and state live: one state directory, or etcd (several coordinators, leader election).";
    };

    etcd = {
      endpoints = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        example = [ "http://10.0.0.1:2379" ];
        description = "etcd client URLs, for store = \"etcd\".";
      };
      prefix = lib.mkOption {
        type = lib.types.str;
        default = "/nk/";
        description = "Key prefix in etcd.";
      };
      caFile = optionalString "Absolute path of the CA that signed etcd's server certificate (turns on TLS).";
      certFile = optionalString "Absolute path of a client certificate for etcd (with caFile).";
      keyFile = optionalString "Absolute path of the client certificate's key (LoadCredential).";
      username = optionalString "etcd user, with passwordFile.";
      passwordFile = optionalString "Absolute path of the etcd user's password (LoadCredential).";
      secretsKeyFile = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        example = "/etc/nk/secrets.key";
        description = ''
          Absolute path of a 256-bit key (32 raw bytes, 64 hex digits or base64; e.g.
          `head -c 32 /dev/urandom | base64`) that seals secret values in etcd with AES-256-GCM
          (LoadCredential). Give every coordinator the same file. Null: secrets are stored in etcd in
          clear, and the coordinator warns about it.
        '';
      };
    };

    source = {
      kind = lib.mkOption {
        type = lib.types.enum [ "origin" "upstream" ];
        default = "origin";
        description = "origin: operators push to this coordinator. upstream: it follows another git remote (poll + webhook).";
      };
      url = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        description = "The upstream remote, for kind = \"upstream\". No credentials in it: it lands in the world-readable store.";
      };
      branch = lib.mkOption {
        type = lib.types.str;
        default = "main";
        description = "The upstream branch to follow.";
      };
      intervalSeconds = lib.mkOption {
        type = lib.types.ints.positive;
        default = 60;
        description = "Seconds between polls of the upstream (at least 5).";
      };
      webhookSecretFile = optionalString "Absolute path of the webhook secret (GitHub/GitLab), passed in with LoadCredential.";
      username = lib.mkOption {
        type = lib.types.str;
        default = "git";
        description = "HTTP user name sent with passwordFile (forges accept any name with an access token).";
      };
      passwordFile = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        example = "/etc/nk/upstream.token";
        description = ''
          Absolute path of the upstream's HTTP password or access token (first line), passed in with
          LoadCredential; git gets it from an askpass script, never on a command line or in the store.
        '';
      };
      sshKeyFile = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        example = "/etc/nk/upstream_ed25519";
        description = "Absolute path of the private key for an ssh:// upstream (LoadCredential); needs sshKnownHostsFile.";
      };
      sshKnownHostsFile = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        example = "/etc/nk/upstream_known_hosts";
        description = "known_hosts holding the upstream's host key (public: may be in the store); ssh checks it strictly.";
      };
    };

    publicStatus = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = "Serve the status page, read-only JSON and metrics without a token (a homelab convenience for a wall screen); off unless set. The admin API always needs a token.";
    };

    openFirewall = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = "Open the gRPC and HTTP ports in the firewall.";
    };

    logLevel = lib.mkOption {
      type = lib.types.enum [ "trace" "debug" "info" "warn" "error" "fatal" "silent" ];
      default = "info";
      description = "Log level (pino), logged as JSON to the journal.";
    };

    extraArgs = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      description = "Extra command-line arguments for nk-coordinator.";
    };

    settings = lib.mkOption {
      type = json.type;
      default = { };
      example = { heartbeatSeconds = 5; };
      description = "Escape hatch: merged last into the coordinator's JSON config (see coordinator/src/config/coordinator-config.ts).";
    };
  };

  config = lib.mkIf cfg.enable (lib.mkMerge [
    {
      assertions = [
        {
          assertion = cfg.store != "etcd" || cfg.etcd.endpoints != [ ];
          message = "services.nk-coordinator.store = \"etcd\" needs services.nk-coordinator.etcd.endpoints (e.g. [ \"http://127.0.0.1:2379\" ]).";
        }
        {
          assertion = cfg.store != "etcd" || cfg.source.kind == "upstream";
          message = "services.nk-coordinator.store = \"etcd\" needs source.kind = \"upstream\": several coordinators must follow one upstream repo (a push to one coordinator's own repo would not reach the others).";
        }
        {
          assertion = !etcdUsed || ((cfg.etcd.certFile == null) == (cfg.etcd.keyFile == null) && (cfg.etcd.certFile == null || cfg.etcd.caFile != null));
          message = "services.nk-coordinator.etcd: certFile and keyFile go together, and need caFile.";
        }
        {
          assertion = !etcdUsed || ((cfg.etcd.username == null) == (cfg.etcd.passwordFile == null));
          message = "services.nk-coordinator.etcd: username and passwordFile go together.";
        }
        {
          assertion = badEndpoints == [ ];
          message = "services.nk-coordinator.etcd.endpoints must be http:// or https:// URLs; got ${builtins.toJSON badEndpoints}.";
        }
        {
          assertion = (cfg.kubeconfigFile == null) != (cfg.kube == null);
          message = "services.nk-coordinator: set exactly one of kubeconfigFile (drains, cordons and node readiness through Kubernetes) or kube = \"none\" (nodes are then rebooted without a drain or a Ready check).";
        }
        {
          assertion = cfg.source.kind != "upstream" || cfg.source.url != null;
          message = "services.nk-coordinator.source.kind = \"upstream\" needs services.nk-coordinator.source.url.";
        }
        {
          assertion = !upstreamUsed || ((cfg.source.sshKeyFile == null) == (cfg.source.sshKnownHostsFile == null));
          message = "services.nk-coordinator.source: sshKeyFile and sshKnownHostsFile go together (ssh checks the upstream's host key strictly).";
        }
        {
          assertion = !upstreamUsed || cfg.source.url == null || builtins.match "[a-zA-Z][a-zA-Z0-9+.-]*://[^/@]*:[^/@]*@.*" cfg.source.url == null;
          message = "services.nk-coordinator.source.url must not carry a password (it would be in the world-readable store and on git's command line): use source.passwordFile.";
        }
        {
          assertion = cfg.source.intervalSeconds >= 5;
          message = "services.nk-coordinator.source.intervalSeconds must be at least 5.";
        }
        {
          assertion = badFiles == [ ];
          message = "services.nk-coordinator: ${lib.concatStringsSep ", " (map (c: c.option) badFiles)} must be absolute paths outside the Nix store (which every user can read); got ${builtins.toJSON (map (c: c.file) badFiles)}.";
        }
        {
          assertion = portOf cfg.listen.grpc != null && portOf cfg.listen.http != null;
          message = "services.nk-coordinator.listen.grpc and listen.http must be host:port, e.g. 0.0.0.0:7443 or [::]:7080; got \"${cfg.listen.grpc}\", \"${cfg.listen.http}\".";
        }
        {
          assertion = builtins.match "/var/lib/[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*" cfg.stateDir != null;
          message = "services.nk-coordinator.stateDir must be a plain directory under /var/lib/ (systemd's StateDirectory); got \"${cfg.stateDir}\".";
        }
      ];

      environment.etc."nk/coordinator.json".source = configFile;

      systemd.services.nk-coordinator = {
        description = "nk coordinator: inventory repo, rollouts and leases for nk agents";
        wantedBy = [ "multi-user.target" ];
        wants = [ "network-online.target" ];
        after = [ "network-online.target" ] ++ lib.optional (config.services.etcd.enable or false) "etcd.service";
        # git serves the inventory remote (git-http-backend sits in git's libexec, found with `git --exec-path`);
        # nix-instantiate --parse checks the .nix files of every push.
        path = [ pkgs.git config.nix.package ] ++ lib.optional sshUsed pkgs.openssh;
        environment = {
          HOME = cfg.stateDir;
          XDG_CACHE_HOME = "/var/cache/nk-coordinator";
        };
        serviceConfig = {
          ExecStart = lib.concatStringsSep " " ([ "${cfg.package}/bin/nk-coordinator" "--config" "${configFile}" ] ++ map lib.escapeShellArg cfg.extraArgs);
          Restart = "on-failure";
          RestartSec = 5;
          # Its own user, allocated by systemd: nothing else on the host can read the repo, state or CA key.
          DynamicUser = true;
          User = "nk-coordinator";
          Group = "nk-coordinator";
          StateDirectory = lib.removePrefix "/var/lib/" cfg.stateDir;
          StateDirectoryMode = "0700";
          CacheDirectory = "nk-coordinator";
          CacheDirectoryMode = "0700";
          WorkingDirectory = cfg.stateDir;
          LoadCredential = map (c: "${c.name}:${c.file}") credentials;
          UMask = "0077";

          # Hardening: the coordinator needs only its state directory, the network and child processes (git).
          ProtectSystem = "strict";
          ProtectHome = true;
          PrivateTmp = true;
          PrivateDevices = true;
          NoNewPrivileges = true;
          ProtectKernelTunables = true;
          ProtectKernelModules = true;
          ProtectKernelLogs = true;
          ProtectControlGroups = true;
          ProtectClock = true;
          ProtectHostname = true;
          ProtectProc = "invisible";
          RestrictNamespaces = true;
          RestrictRealtime = true;
          RestrictSUIDSGID = true;
          LockPersonality = true;
          RemoveIPC = true;
          # AF_UNIX: the git hooks talk to the coordinator over <stateDir>/run/hooks.sock; nix talks to nix-daemon.
          RestrictAddressFamilies = [ "AF_UNIX" "AF_INET" "AF_INET6" ];
          SystemCallArchitectures = "native";
          SystemCallFilter = [ "@system-service" ];
          SystemCallErrorNumber = "EPERM";
          # V8's JIT writes and then executes code pages.
          MemoryDenyWriteExecute = false;
          # No capabilities, unless a listen port is below 1024.
          CapabilityBoundingSet = if privilegedPort then [ "CAP_NET_BIND_SERVICE" ] else [ "" ];
          AmbientCapabilities = lib.optionals privilegedPort [ "CAP_NET_BIND_SERVICE" ];
        };
      };
    }

    (lib.mkIf cfg.openFirewall {
      networking.firewall.allowedTCPPorts = ports;
    })
  ]);
}
