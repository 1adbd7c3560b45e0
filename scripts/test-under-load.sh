#!/usr/bin/env bash
# Runs the README's test command while a CPU hog (stress-ng, one busy worker per core) competes for every core,
# to show the suite waits on events rather than on timing. Installs stress-ng from Debian if it is missing.
# Usage: scripts/test-under-load.sh [extra vitest arguments]   (HOG_WORKERS=N overrides the hog's worker count)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v stress-ng >/dev/null 2>&1; then
  echo "test-under-load: installing stress-ng (Debian package)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends stress-ng >/dev/null
fi

workers=${HOG_WORKERS:-$(nproc)}
stress-ng --cpu "$workers" --quiet &
hog=$!
trap 'kill "$hog" 2>/dev/null || true; wait "$hog" 2>/dev/null || true' EXIT
echo "test-under-load: stress-ng --cpu $workers running as pid $hog; load before the suite: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

started=$(date +%s)
status=0
npm test -- "$@" || status=$?
echo "test-under-load: suite exit $status after $(( $(date +%s) - started )) s beside stress-ng --cpu $workers; load at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exit $status
