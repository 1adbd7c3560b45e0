# services.nk-agent.guard: rolls the system back when a switch replaced the nk agent and the new one never came up.
# The file contract with the agent is at the top of agent.nix; the logic is in agent-guard.sh.
{ config, lib, pkgs, ... }:

let
  cfg = config.services.nk-agent;

  guardEnv = {
    NK_GUARD_STATE_DIR = cfg.stateDir;
    NK_GUARD_PACKAGE = "${cfg.package}";
    NK_GUARD_DEADLINE = toString cfg.guard.deadlineSeconds;
    NK_GUARD_PROFILE = "/nix/var/nix/profiles/system";
    NK_GUARD_CURRENT = "/run/current-system";
  };
  guardPath = [ pkgs.coreutils pkgs.jq config.nix.package config.systemd.package ];
  guardScript = pkgs.writeShellScript "nk-agent-guard" ''
    export PATH=${lib.makeBinPath guardPath}:"$PATH"
    ${builtins.readFile ./agent-guard.sh}
  '';
  guardEnvPrefix = lib.concatStringsSep " " (lib.mapAttrsToList (n: v: "${n}=${lib.escapeShellArg v}") guardEnv);
in
{
  options.services.nk-agent.guard = {
    enable = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Roll the system back when a switch replaced the agent and the new agent never reported alive.";
    };
    deadlineSeconds = lib.mkOption {
      type = lib.types.ints.positive;
      default = 900;
      description = ''
        Seconds a new agent package has, from the activation that brought it, to write alive.json. Must cover
        the old agent's switch and health verification plus a restart: nk's bundles set it (as a default) to the
        inventory's activation timeout + health deadline + 300, at least 900.
      '';
    };
    intervalSeconds = lib.mkOption {
      type = lib.types.ints.positive;
      default = 30;
      description = "How often the guard looks.";
    };
  };

  config = lib.mkIf (cfg.enable && cfg.guard.enable) {
    assertions = [
      {
        assertion = cfg.guard.deadlineSeconds >= 120;
        message = "services.nk-agent.guard.deadlineSeconds must be at least 120: a new agent needs time to start and say Hello.";
      }
    ];

    system.activationScripts.nk-agent-guard = {
      # Arming must never fail an activation: a problem here only means the guard does not watch this one.
      text = ''
        ${guardEnvPrefix} ${guardScript} arm "$systemConfig" || echo "nk-agent-guard: could not arm" >&2
      '';
      deps = [ ];
    };

    systemd.services.nk-agent-guard = {
      description = "nk agent guard: roll back a system whose new nk agent never came up";
      environment = guardEnv;
      path = guardPath;
      # The rollback's own activation must not restart the guard while it is switching.
      restartIfChanged = false;
      stopIfChanged = false;
      serviceConfig = {
        Type = "oneshot";
        # Root, unsandboxed: a rollback switches the whole system, like nixos-rebuild.
        User = "root";
        ExecStart = "${guardScript} check";
      };
    };

    systemd.timers.nk-agent-guard = {
      description = "nk agent guard: periodic check after an agent update";
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnBootSec = "2min";
        OnUnitActiveSec = "${toString cfg.guard.intervalSeconds}s";
        AccuracySec = "5s";
      };
    };
  };
}
