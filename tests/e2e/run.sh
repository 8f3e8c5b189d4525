#!/bin/sh
# The browser tests of the web UI (docs/ui.md): builds a small database with the CLI (Belo
# Horizonte's neighbourhoods as grid areas, one category, a caseworker and a supervisor,
# and five reports made through the public API so that the public count is shown), serves
# it with build/web on a free loopback port, and runs tests/e2e/ui.test.mjs in Debian's
# headless Chromium through playwright-core. Screenshots go to build/e2e-screenshots/.
# Ends with the line "e2e: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."

fail() { echo "e2e: $*" >&2; echo "e2e: 0 passed, 1 failed"; exit 1; }

SG=${SG_BIN:-}
if [ -z "$SG" ]; then
    for b in build/san/safegrid build/rel/safegrid; do
        if [ -x "$b" ]; then SG=$b; break; fi
    done
fi
[ -n "$SG" ] || fail "no safegrid binary (run make)"
[ -f build/web/index.html ] || sh web/build.sh || fail "web/build.sh failed"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || fail "$CHROMIUM is missing (Debian package chromium, scripts/deps/web.list)"
[ -f node_modules/playwright-core/package.json ] || fail "npm playwright-core is missing (scripts/setup.sh)"
[ -f node_modules/axe-core/axe.min.js ] || fail "npm axe-core is missing (scripts/setup.sh)"

tmp=$(mktemp -d)
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

DB=$tmp/e2e.db
DATA=/usr/share/doc/libterralib-dev/examples/data
BH_SRS="+proj=tmerc +lat_0=0 +lon_0=-45 +k=0.9996 +x_0=500000 +y_0=3000000 +ellps=aust_SA +towgs84=-66.87,4.37,-38.52,0,0,0,0 +units=m +no_defs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
{
    "$SG" init --db "$DB" &&
    "$SG" import areas "$DATA/BairroBH.MIF" --db "$DB" --code CDBAI --name nobai \
        --srs "$BH_SRS" --create-orgs grid_office &&
    "$SG" category add pothole --type request --name "Pothole" --db "$DB" &&
    "$SG" category add streetlight --type request --name "Street light out" \
        --deadlines 1s,1s,1s,1s --db "$DB" &&
    echo "caseworker-e2e-pass" | "$SG" user add cw_centro --role caseworker --area 642 --org 642 \
        --password-stdin --db "$DB" &&
    echo "supervisor-e2e-pass" | "$SG" user add sup_city --role supervisor --password-stdin --db "$DB"
} >"$tmp/setup.log" 2>&1 || { cat "$tmp/setup.log" >&2; fail "could not build the test database"; }

"$SG" serve --db "$DB" --listen 127.0.0.1:0 --web build/web --rate 0 --threads 2 >"$tmp/serve.log" 2>&1 &
pid=$!
base=""
i=0
while [ $i -lt 100 ]; do
    base=$(sed -n 's|.* on \(http://127\.0\.0\.1:[0-9]*/\).*|\1|p' "$tmp/serve.log" | head -n 1)
    [ -n "$base" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
[ -n "$base" ] || { cat "$tmp/serve.log" >&2; fail "the server did not start"; }

# Five earlier reports of potholes in the centre (count 5 is published; 1..4 would not be).
for off in 0.0004 0.0006 0.0008 -0.0005 -0.0007; do
    curl -sf -o /dev/null -H 'Content-Type: application/json' "${base}api/v1/cases" \
        -d "{\"category\":\"pothole\",\"description\":\"earlier report\",\"lon\":-43.938,\"lat\":$(awk "BEGIN { printf \"%.6f\", -19.919 + $off }")}" ||
        fail "could not seed the earlier reports"
done

# A street light reported elsewhere (Santo Agostinho) with one second to answer: overdue by
# the time the supervisor looks.
curl -sf -o /dev/null -H 'Content-Type: application/json' "${base}api/v1/cases" \
    -d '{"category":"streetlight","description":"lamp out","lon":-43.955,"lat":-19.93}' ||
    fail "could not seed the overdue report"

E2E_BASE=$base E2E_CHROMIUM=$CHROMIUM node tests/e2e/ui.test.mjs
rc=$?
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=""
if grep -q "ERROR: AddressSanitizer\|runtime error:" "$tmp/serve.log"; then
    grep -A30 "ERROR: AddressSanitizer\|runtime error:" "$tmp/serve.log" >&2
    echo "e2e: 0 passed, 1 failed (the server reported a sanitizer error)"
    exit 1
fi
exit $rc
