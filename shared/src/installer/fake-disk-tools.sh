# shellcheck shell=bash
# Test fake for install-script.test.ts: stands in for every disk and install tool; logs "name [arg] [arg]..." to $FAKE_LOG and
# imitates the little install.sh reads back (lsblk columns, partition device nodes, nixos-generate-config's output).
name=$(basename "$0")
{ printf '%s' "$name"; for a in "$@"; do printf ' [%s]' "$a"; done; echo; } >> "$FAKE_LOG"
case $name in
  lsblk)
    case " $* " in
      *" -dno TYPE "*) echo "${FAKE_TYPE:-disk}" ;;
      *" -dno RO "*) echo "  0" ;;
      *" -ndo PKNAME "*) echo "${FAKE_MEDIUM_PARENT:-}" ;;
      *" -lnpo MOUNTPOINT "*) printf '\n%s\n' "${FAKE_MOUNTS:-}" ;;
      *" -lnpo UUID "*) printf '\n%s\n' "${FAKE_UUIDS:-}" ;;
      *) echo "NAME SIZE TYPE" ;;
    esac ;;
  findmnt) if [ -n "${FAKE_MEDIUM:-}" ]; then echo "$FAKE_MEDIUM"; fi ;;
  parted)
    while [ "$1" != "--" ]; do shift; done
    disk=$2
    case $disk in *[0-9]) p=p ;; *) p= ;; esac
    for n in 1 2 3; do : > "$disk$p$n"; done ;;
  nixos-generate-config)
    mkdir -p "$2/etc/nixos"
    echo '{ }' > "$2/etc/nixos/hardware-configuration.nix"
    echo '{ }' > "$2/etc/nixos/configuration.nix" ;;
esac
exit 0
