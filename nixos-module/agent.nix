# services.nk-agent: the nk agent, which pulls this node's configuration from a coordinator and applies it.
#
# Machine-local files (written by the nk installer or at enrollment; never part of a bundle, so they survive
# every switch to a bundle that does not mention them):
#   /etc/nk/ca.pem             the coordinator CA (caFile)
#   /etc/nk/token              this node's token, root 0600 (tokenFile)
#   /etc/nk/agent.local.json   e.g. {"coordinators": ["coord.lan:7443"]}: settings this module leaves unset
#                              (bundles never name the coordinator), merged under the module's JSON at start.
#
# Self-update guard: the file contract between nk-agent and nk-agent-guard (paths under stateDir):
#   alive.json      written by nk-agent once per process start, as soon as it has loaded its config and state
#                   and completed one Hello with a coordinator; atomically (alive.json.tmp, fsync, rename), mode
#                   0600. Content: {"package":"<NK_AGENT_PACKAGE>","version":"<nk version>","pid":<pid>,
#                   "at":"<ISO-8601 UTC>"}. "package" is the NK_AGENT_PACKAGE environment variable this unit
#                   sets (the agent's store path), copied verbatim; without the variable the agent writes nothing.
#   guard/rolled-back.json  written by the guard when it rolled back: {"from":"<system>","to":"<system>",
#                   "package":"<agent package that never came up>","at":<epoch seconds>,"reason":"<text>"}.
#                   nk-agent reads it at start, rests rolled back on the generation before the bundle whose
#                   system is "from" (or ends that apply, if it was still applying it), reports that bundle as
#                   rolled back with the reason, refuses it until it changes, and deletes the file once saved.
#   guard/armed, guard/confirmed, guard/last-rollback-to: the guard's own; the agent never touches them.
# How the guard works (see agent-guard.sh): every activation (switch or boot) runs `nk-agent-guard arm`, which
# records "this system, this agent package, since this uptime of this boot" unless the package is the last confirmed
# one (the first agent a machine runs is confirmed at once: there is no older one to go back to). A timer
# runs `nk-agent-guard check`: once alive.json names the armed package, that package is confirmed; if the
# deadline passes first, the guard rolls the system profile back one generation, switches to it, restarts
# nk-agent and writes guard/rolled-back.json. It never guards the system it rolled back to, so a bad agent
# costs one rollback, not a cascade. The deadline must cover the old agent's switch and verification of the new
# system plus its own restart (bundles set it from the inventory's deadlines): after confirming a switch, nk-agent compares realpath(/etc/systemd/system/nk-agent.service)
# with the one it saw at start and, if the unit changed, exits 76 so systemd (Restart=always) starts the new definition.
{ config, lib, pkgs, ... }:

let
  cfg = config.services.nk-agent;
  json = pkgs.formats.json { };

  secretsDir = "/run/nk/secrets";
  runtimeConfig = "/run/nk/agent.json";
  isAbsolute = p: lib.hasPrefix "/" p;
  inStore = p: lib.hasPrefix "/nix/store/" p;

  healthCheckModule = {
    options = {
      name = lib.mkOption { type = lib.types.nonEmptyStr; description = "Name shown in reports."; };
      command = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        description = "Command and arguments (no shell); it passes when it exits 0 and its output contains `expect`.";
        example = [ "zpool" "status" "-x" ];
      };
      expect = lib.mkOption { type = lib.types.str; default = ""; description = "Text the output must contain; empty accepts any output."; };
      timeoutSeconds = lib.mkOption { type = lib.types.ints.positive; default = 30; description = "Seconds before the check counts as failed."; };
    };
  };

  # The agent's config file (agent/src/config/agent-config.ts); `settings` wins over everything.
  agentSettings = lib.recursiveUpdate
    ({
      node = cfg.nodeName;
      inherit (cfg) caFile tokenFile stateDir healthChecks logLevel;
      inherit secretsDir;
      system = { kind = "nixos"; hardwareConfig = "/etc/nixos/hardware-configuration.nix"; };
    } // lib.optionalAttrs (cfg.coordinators != [ ]) { inherit (cfg) coordinators; })
    cfg.settings;
  configFile = pkgs.writeText "nk-agent.json" (builtins.toJSON agentSettings);

  # Merges the machine-local file under the module's JSON into /run/nk (0700): the module's values win.
  prepareConfig = pkgs.writeShellScript "nk-agent-prepare-config" ''
    set -euo pipefail
    umask 077
    local_file=${lib.escapeShellArg (if cfg.localConfigFile == null then "" else cfg.localConfigFile)}
    if [ -n "$local_file" ] && [ -e "$local_file" ]; then
      ${pkgs.jq}/bin/jq -s '.[0] * .[1]' "$local_file" ${configFile} > ${runtimeConfig}.tmp
    else
      cat ${configFile} > ${runtimeConfig}.tmp
    fi
    mv -f ${runtimeConfig}.tmp ${runtimeConfig}
  '';

  hostPortRegex = "([[][0-9a-fA-F:.]+[]]|[A-Za-z0-9.-]+):[0-9]{1,5}";
  badCoordinators = builtins.filter (c: builtins.match hostPortRegex c == null) cfg.coordinators;
in
{
  # The self-update guard (nk-agent-guard): its options, activation hook, unit and timer.
  imports = [ ./agent-guard.nix ];

  options.services.nk-agent = {
    enable = lib.mkEnableOption "the nk agent, which applies this node's configuration from an nk coordinator";

    # pkgs.nk comes from the nk flake's overlay, which nk.nixosModules.* apply; without the flake, set this.
    package = lib.mkPackageOption pkgs "nk" { };

    coordinator = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "coordinator.lan:7443";
      description = "The coordinator's gRPC address (host:port); shorthand for a one-element `coordinators`.";
    };

    coordinators = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = lib.optional (cfg.coordinator != null) cfg.coordinator;
      defaultText = lib.literalExpression "lib.optional (cfg.coordinator != null) cfg.coordinator";
      description = ''
        Every coordinator's gRPC address (host:port); the agent fails over between them. Empty leaves them to
        `localConfigFile`, which is how bundles work: they never name the coordinator.
      '';
    };

    # Secrets are plain strings, not paths: a Nix path would be copied into the world-readable store.
    caFile = lib.mkOption {
      type = lib.types.str;
      default = "/etc/nk/ca.pem";
      description = "Absolute path of the coordinator CA's PEM (a string, so it is never copied into the Nix store).";
    };

    tokenFile = lib.mkOption {
      type = lib.types.str;
      default = "/etc/nk/token";
      description = ''
        Absolute path of this node's token (`nkctl node enroll`), readable by root only. A string, not a path:
        a path would be copied into the world-readable Nix store.
      '';
    };

    localConfigFile = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = "/etc/nk/agent.local.json";
      description = ''
        Machine-local JSON merged under this module's settings when the agent starts (it may be absent).
        The installer writes `coordinators` here, so a node keeps its coordinator under any bundle.
      '';
    };

    nodeName = lib.mkOption {
      type = lib.types.str;
      default = config.networking.hostName;
      defaultText = lib.literalExpression "config.networking.hostName";
      description = "This node's name in the inventory (a DNS label).";
    };

    stateDir = lib.mkOption {
      type = lib.types.str;
      default = "/var/lib/nk-agent";
      description = "Where the agent keeps state.json, its history and the guard's files (under /var/lib).";
    };

    healthChecks = lib.mkOption {
      type = lib.types.listOf (lib.types.submodule healthCheckModule);
      default = [ ];
      description = "Extra checks run on this node after every activation, besides the inventory's node checks.";
    };

    logLevel = lib.mkOption {
      type = lib.types.enum [ "trace" "debug" "info" "warn" "error" "fatal" "silent" ];
      default = "info";
      description = "Log level (pino), logged as JSON to the journal.";
    };

    extraArgs = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      description = "Extra command-line arguments for nk-agent.";
    };

    settings = lib.mkOption {
      type = json.type;
      default = { };
      example = { reportIntervalSeconds = 10; };
      description = "Escape hatch: merged last into the agent's JSON config (see agent/src/config/agent-config.ts).";
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = builtins.match "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?" cfg.nodeName != null;
        message = "services.nk-agent.nodeName must be the node's inventory name, a DNS label (lower-case letters, digits, '-'); got \"${cfg.nodeName}\".";
      }
      {
        assertion = cfg.coordinators != [ ] || cfg.localConfigFile != null;
        message = "services.nk-agent: set coordinator (or coordinators), or keep localConfigFile so the machine-local file can name them.";
      }
      {
        assertion = badCoordinators == [ ];
        message = "services.nk-agent.coordinators: expected host:port, e.g. coordinator.lan:7443; got ${builtins.toJSON badCoordinators}.";
      }
      {
        assertion = isAbsolute cfg.caFile && isAbsolute cfg.tokenFile;
        message = "services.nk-agent.caFile and tokenFile must be absolute paths (got \"${cfg.caFile}\", \"${cfg.tokenFile}\").";
      }
      {
        assertion = !(inStore cfg.tokenFile);
        message = "services.nk-agent.tokenFile must not be in the Nix store, which every user can read; keep it under /etc/nk or /run.";
      }
      {
        assertion = cfg.localConfigFile == null || isAbsolute cfg.localConfigFile;
        message = "services.nk-agent.localConfigFile must be an absolute path or null.";
      }
      {
        assertion = builtins.match "/var/lib/[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*" cfg.stateDir != null;
        message = "services.nk-agent.stateDir must be a plain directory under /var/lib/ (systemd's StateDirectory); got \"${cfg.stateDir}\".";
      }
    ];

    # What this module configured, for people to read; the agent runs on the merge in /run/nk/agent.json.
    environment.etc."nk/agent.json".source = configFile;
    # `sudo nk-agent retry` on the node: the way out of a stuck rollback or a refused bundle (it reads /run/nk/agent.json).
    environment.systemPackages = [ cfg.package ];

    # keepalived (on a node carrying the API VIP) reads its VRRP password from the agent's runtime secrets, which are
    # on tmpfs: after a boot it fails until the agent has reached a coordinator and written them. nixpkgs restarts it
    # every second, so it hit systemd's start limit (5 in 10 s) and stayed dead; after a power loss of the whole
    # rack, so did the VIP on every carrier. It keeps trying instead.
    systemd.services.keepalived = lib.mkIf (config.services.keepalived.enable or false) {
      startLimitIntervalSec = 0;
      serviceConfig.RestartSec = lib.mkForce "5s";
    };
    # k3s reads its token from the same place; nixpkgs waits 5 s between its restarts, but a start limit must never
    # be what keeps a node out of the cluster after a power loss either.
    systemd.services.k3s = lib.mkIf (config.services.k3s.enable or false) { startLimitIntervalSec = 0; };

    systemd.services.nk-agent = {
      description = "nk agent: applies this node's configuration from the nk coordinator";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" "nix-daemon.socket" ];
      # A switch must never stop or restart the agent mid-activation: it restarts itself once it has
      # confirmed the new system (DESIGN §5). The guard covers a new agent that then fails to come up.
      restartIfChanged = false;
      stopIfChanged = false;
      # Never give up restarting: a node without its agent cannot be repaired remotely.
      startLimitIntervalSec = 0;
      path = [
        config.system.build.nixos-rebuild
        config.nix.package
        pkgs.git
        config.systemd.package
        pkgs.coreutils
        pkgs.util-linux
        # Health checks run the system's own tools (k3s kubectl, zpool, ceph...) and its wrappers.
        "/run/wrappers"
        "/run/current-system/sw"
      ]
      # Trial boots arm GRUB's next entry with grub-reboot, which the system does not install when GRUB only writes
      # its menu (grub-efi: devices = [ "nodev" ]).
      ++ lib.optional (config.boot.loader.grub.enable or false) pkgs.grub2;
      environment = {
        NK_AGENT_PACKAGE = "${cfg.package}";
        # Builds go to nix-daemon, outside this unit's sandbox, instead of root's direct store access.
        NIX_REMOTE = "daemon";
        # Bundles are flakes: a plain NixOS (no experimental-features in nix.settings) must still build them, with
        # nixos-rebuild and with any nix command the agent runs. `extra-` adds to what the machine enables.
        NIX_CONFIG = "extra-experimental-features = nix-command flakes";
        HOME = cfg.stateDir;
        XDG_CACHE_HOME = "/var/cache/nk-agent";
      };
      serviceConfig = {
        # Root: the agent builds and switches the whole system, reboots it and writes k3s's secrets.
        User = "root";
        ExecStartPre = "${prepareConfig}";
        ExecStart = lib.concatStringsSep " " ([ "${cfg.package}/bin/nk-agent" "--config" runtimeConfig ] ++ map lib.escapeShellArg cfg.extraArgs);
        Restart = "always";
        RestartSec = 5;
        TimeoutStopSec = 30;
        WorkingDirectory = cfg.stateDir;
        StateDirectory = lib.removePrefix "/var/lib/" cfg.stateDir;
        StateDirectoryMode = "0700";
        CacheDirectory = "nk-agent";
        CacheDirectoryMode = "0700";
        # /run/nk/secrets holds fetched secrets (k3s token...) on tmpfs; kept across agent restarts because
        # k3s reads them while the agent restarts itself.
        RuntimeDirectory = [ "nk" "nk/secrets" ];
        RuntimeDirectoryMode = "0700";
        RuntimeDirectoryPreserve = "yes";

        # Hardening that leaves switching intact. The agent runs switch-to-configuration in its own transient unit
        # (systemd-run), but `nixos-rebuild build`, `nix-env --set` and the boot loader's one-shot entries (bootctl
        # writes EFI variables, grub-reboot /boot/grub/grubenv) run here: what they need must stay possible.
        NoNewPrivileges = true;
        ProtectKernelLogs = true;
        ProtectControlGroups = true;
        RestrictRealtime = true;
        LockPersonality = true;
        SystemCallArchitectures = "native";
        # AF_NETLINK: system facts and activation's network setup read links and addresses.
        RestrictAddressFamilies = [ "AF_UNIX" "AF_INET" "AF_INET6" "AF_NETLINK" ];
        # V8's JIT writes and then executes code pages.
        MemoryDenyWriteExecute = false;
        # Exceptions, each needed by activation or by the system work the agent exists for:
        # - ProtectSystem off: activation writes /etc, /boot (bootloader) and /nix/var/nix/profiles.
        # - ProtectHome off: activation creates users' home directories.
        # - PrivateTmp off: transient units (systemd-run) must see the paths the agent hands them.
        # - ProtectHostname off: activation sets the hostname.
        # - ProtectKernelTunables/ProtectKernelModules off: activation applies sysctls and loads modules.
        # - RestrictSUIDSGID off: activation creates the setuid wrappers in /run/wrappers.
        # - PrivateDevices off: system facts read disks; activation may format and mount (fileSystems).
        # - ProtectClock off: it can bring a device allow-list (DeviceAllow=char-rtc) that would hide the disks.
        # - no SystemCallFilter/RestrictNamespaces: activation mounts, swaps on and loads modules, and
        #   operators' health checks (crictl, nsenter, ceph tools) may enter namespaces.
        # - no CapabilityBoundingSet: a root that switches systems needs every capability.
      };
    };
  };
}
