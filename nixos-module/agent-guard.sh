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
#   NK_GUARD_BOOT_ID, NK_GUARD_UPTIME  (tests only) files read for the boot id and the uptime, default /proc's
# The deadline is counted in seconds of uptime, summed over boots: a node without a real-time clock (a Raspberry Pi)
# arms at boot with a clock near 1970, and NTP's correction must not count as decades of waiting.
set -euo pipefail

state_dir=$NK_GUARD_STATE_DIR
package=$NK_GUARD_PACKAGE
deadline=$NK_GUARD_DEADLINE
profile=$NK_GUARD_PROFILE
current_link=$NK_GUARD_CURRENT
guard_dir=$state_dir/guard
armed=$guard_dir/armed
boot_id_file=${NK_GUARD_BOOT_ID:-/proc/sys/kernel/random/boot_id}
uptime_file=${NK_GUARD_UPTIME:-/proc/uptime}

log() { echo "nk-agent-guard: $*" >&2; }

# Atomic replace: a crash leaves the old file or the new one, never half of one.
write_file() {
  local tmp="$1.tmp.$$"
  printf '%s\n' "$2" > "$tmp"
  sync "$tmp" 2>/dev/null || true
  mv -f "$tmp" "$1"
}

read_line() { cat "$1" 2>/dev/null || true; }

# Plain bash: the activation script's PATH has no sed.
armed_field() {
  local key value
  while IFS='=' read -r key value; do
    if [ "$key" = "$1" ]; then
      printf '%s' "$value"
      return 0
    fi
  done < "$armed"
}

boot_id() { read_line "$boot_id_file"; }

uptime_seconds() {
  local up rest
  read -r up rest < "$uptime_file"
  printf '%s' "${up%%.*}"
}

# system package boot start before [counted]: `start` is the uptime this boot began counting at, `before` what earlier
# boots counted, `counted` the total at the last check (what the next boot carries on from).
write_armed() {
  write_file "$armed" "system=$1
package=$2
boot=$3
start=$4
before=$5${6:+
counted=$6}"
}

# Seconds counted so far: this boot's uptime since `start`, plus earlier boots'.
counted() {
  local start before
  start=$(armed_field start)
  before=$(armed_field before)
  printf '%s' $(($(uptime_seconds) - start + before))
}

is_number() { case $1 in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac; }

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
  if [ ! -e "$guard_dir/confirmed" ] && [ ! -e "$armed" ]; then
    # The first agent this machine runs (a fresh install, nk added to an existing system): there is no older agent to
    # go back to, and rolling back would take nk off the machine with whatever else that switch brought.
    write_file "$guard_dir/confirmed" "$package"
    return 0
  fi
  if [ -e "$armed" ] && [ "$(armed_field system)" = "$system" ] && [ "$(armed_field package)" = "$package" ]; then
    # Activated again: a second switch keeps counting; a reboot carries what the boot before had counted.
    if [ "$(armed_field boot)" != "$(boot_id)" ]; then
      local before
      before=$(armed_field counted)
      is_number "$before" || before=$(armed_field before)
      is_number "$before" || before=0
      write_armed "$system" "$package" "$(boot_id)" "$(uptime_seconds)" "$before"
    fi
    return 0
  fi
  write_armed "$system" "$package" "$(boot_id)" "$(uptime_seconds)" 0
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
  local system armed_package alive_package elapsed
  [ -e "$armed" ] || return 0
  system=$(armed_field system)
  armed_package=$(armed_field package)
  # Mid-switch the running system is still the old one while the profile already names the new one (and this timer
  # may still be the old system's guard): only a system neither of them names is no longer watched.
  if [ "$(readlink -f "$current_link" || true)" != "$system" ] && [ "$(readlink -f "$profile" || true)" != "$system" ]; then
    log "armed for $system, which is no longer the running system: nothing to watch"
    rm -f "$armed"
    return 0
  fi
  if [ "$(armed_field boot)" != "$(boot_id)" ] || ! is_number "$(armed_field start)" || ! is_number "$(armed_field before)"; then
    # Armed before this boot and not activated since (or unreadable): carry what was counted, count on from now.
    local before
    before=$(armed_field counted)
    is_number "$before" || before=0
    write_armed "$system" "$armed_package" "$(boot_id)" "$(uptime_seconds)" "$before"
  fi
  alive_package=$(jq -er '.package' "$state_dir/alive.json" 2>/dev/null || true)
  if [ "$alive_package" = "$armed_package" ]; then
    write_file "$guard_dir/confirmed" "$armed_package"
    rm -f "$armed"
    log "agent $armed_package is alive: confirmed"
    return 0
  fi
  elapsed=$(counted)
  if [ "$elapsed" -lt "$deadline" ]; then
    # Remembered for the next boot: a reboot does not start the deadline over.
    write_armed "$system" "$armed_package" "$(armed_field boot)" "$(armed_field start)" "$(armed_field before)" "$elapsed"
    log "waiting for agent $armed_package: $((deadline - elapsed))s left"
    return 0
  fi
  rollback "$system" "$armed_package" "the new nk agent ($armed_package) did not report alive within ${deadline}s"
}

case "${1:-}" in
  arm) [ $# -eq 2 ] || { log "usage: nk-agent-guard arm <system>"; exit 2; }; arm "$2" ;;
  check) check ;;
  *) log "usage: nk-agent-guard arm <system> | check"; exit 2 ;;
esac
