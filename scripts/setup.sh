#!/bin/sh
# Installs what safegrid's build, tests and demo need: the Debian packages listed in
# scripts/deps/*.list and the npm packages of package-lock.json (real data sets and the
# browser-test tools). Idempotent and silent when everything is present; uses sudo when
# not run as root. `sh scripts/setup.sh bench` also installs scripts/deps/bench/*.list,
# the peers that the benchmarks compare against.
set -eu
cd "$(dirname "$0")/.."

lists="scripts/deps/*.list"
[ "${1:-}" = bench ] && lists="$lists scripts/deps/bench/*.list"
# shellcheck disable=SC2086
PKGS=$(cat $lists 2>/dev/null | sed 's/#.*//')

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if [ -n "$missing" ]; then
    echo "setup: installing Debian packages:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ -f package-lock.json ] && { [ ! -f node_modules/.package-lock.json ] ||
    [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
    echo "setup: installing npm packages (npm ci)" >&2
    npm ci --no-audit --no-fund --silent >/dev/null
fi
