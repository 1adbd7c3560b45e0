# shellcheck shell=bash
# nk-agent-guard: rolls the system back when a switch replaced the nk agent and the new agent never came up.
#   nk-agent-guard arm <system>   from the activation script, on every switch and boot of <system>
#   nk-agent-guard check          from nk-agent-guard.timer
# Settings come from the environment (nixos-module/agent.nix sets them):
#   NK_GUARD_STATE_DIR  the agent's state directory: the agent writes alive.json there, the guard guard/*
#   NK_GUARD_PACKAGE    store path of the agent package of the system this script belongs to
#   NK_GUARD_DEADLINE   seconds the new agent has to write alive.json
#   NK_GUARD_PROFILE    the system profile (/nix/var/nix/profiles/system)
#   NK_GUARD_CURRENT    the running system (/run/current-system)
set -euo pipefail

state_dir=$NK_GUARD_STATE_DIR
package=$NK_GUARD_PACKAGE
deadline=$NK_GUARD_DEADLINE
profile=$NK_GUARD_PROFILE
current_link=$NK_GUARD_CURRENT
guard_dir=$state_dir/guard
armed=$guard_dir/armed

log() { echo "nk-agent-guard: $*" >&2; }

# Atomic replace: a crash leaves the old file or the new one, never half of one.
write_file() {
  local tmp="$1.tmp.$$"
  printf '%s\n' "$2" > "$tmp"
  sync "$tmp" 2>/dev/null || true
  mv -f "$tmp" "$1"
}

read_line() { cat "$1" 2>/dev/null || true; }

armed_field() { sed -n "s/^$1=//p" "$armed" | head -n 1; }

arm() {
  local system=$1
  mkdir -p "$guard_dir"
  chmod 0700 "$guard_dir"
  if [ "$(read_line "$guard_dir/last-rollback-to")" = "$system" ]; then
    # The guard brought this system back itself: trust it rather than cascade down the generations.
    write_file "$guard_dir/confirmed" "$package"
    rm -f "$armed"
    return 0
  fi
  if [ "$(read_line "$guard_dir/confirmed")" = "$package" ]; then
    rm -f "$armed"
    return 0
  fi
  if [ -e "$armed" ] && [ "$(armed_field system)" = "$system" ] && [ "$(armed_field package)" = "$package" ]; then
    # Activated again (a reboot, a second switch): the deadline still runs from the first activation.
    return 0
  fi
  write_file "$armed" "system=$system
package=$package
since=$(date +%s)"
  log "watching agent $package of $system for ${deadline}s"
}

rollback() {
  local system=$1 new_package=$2 reason=$3 previous
  if [ "$(readlink -f "$profile")" != "$system" ]; then
    log "the system profile no longer points at $system: someone else is changing the system, not rolling back"
    rm -f "$armed"
    return 1
  fi
  if ! nix-env --profile "$profile" --rollback; then
    log "no generation before $system to roll back to"
    rm -f "$armed"
    return 1
  fi
  previous=$(readlink -f "$profile")
  log "rolling back from $system to $previous: $reason"
  # Recorded before switching, so the agent hears about it even if the switch is cut short.
  write_file "$guard_dir/last-rollback-to" "$previous"
  write_file "$guard_dir/rolled-back.json" "$(jq -cn --arg from "$system" --arg to "$previous" --arg package "$new_package" \
    --argjson at "$(date +%s)" --arg reason "$reason" '{from: $from, to: $to, package: $package, at: $at, reason: $reason}')"
  rm -f "$armed"
  if ! "$profile/bin/switch-to-configuration" switch; then
    log "switch-to-configuration reported errors while rolling back to $previous"
  fi
  # The unit does not restart on a switch (restartIfChanged = false): restart it into the previous agent.
  systemctl restart --no-block nk-agent.service
}

check() {
  local system since_epoch armed_package alive_package now
  [ -e "$armed" ] || return 0
  system=$(armed_field system)
  armed_package=$(armed_field package)
  since_epoch=$(armed_field since)
  if [ "$(readlink -f "$current_link" || true)" != "$system" ] || [ "$armed_package" != "$package" ]; then
    log "armed for $system, which is no longer the running system: nothing to watch"
    rm -f "$armed"
    return 0
  fi
  case $since_epoch in
    '' | *[!0-9]*)
      log "unreadable $armed: watching again from now"
      write_file "$armed" "system=$system
package=$armed_package
since=$(date +%s)"
      return 0
      ;;
  esac
  alive_package=$(jq -er '.package' "$state_dir/alive.json" 2>/dev/null || true)
  if [ "$alive_package" = "$armed_package" ]; then
    write_file "$guard_dir/confirmed" "$armed_package"
    rm -f "$armed"
    log "agent $armed_package is alive: confirmed"
    return 0
  fi
  now=$(date +%s)
  if [ $((now - since_epoch)) -lt "$deadline" ]; then
    log "waiting for agent $armed_package: $((since_epoch + deadline - now))s left"
    return 0
  fi
  rollback "$system" "$armed_package" "the new nk agent ($armed_package) did not report alive within ${deadline}s"
}

case "${1:-}" in
  arm) [ $# -eq 2 ] || { log "usage: nk-agent-guard arm <system>"; exit 2; }; arm "$2" ;;
  check) check ;;
  *) log "usage: nk-agent-guard arm <system> | check"; exit 2 ;;
esac
