#!/bin/sh
# The demo behind `make run`: a fresh database of Belo Horizonte's 240 neighbourhoods as
# grid areas, each with a grid office responsible for its cases, and the city's real police
# occurrences of January to June 2001 as incident cases (Debian package libterralib-doc),
# imported through the same CLI a user runs, with the public service categories of
# scripts/demo/services.tsv (potholes, street lights, ...) for reports; then a summary by
# category and month, an administrator account, and the HTTP API served on 127.0.0.1:8080
# until Ctrl-C.
# Nothing here is invented data.
set -eu
cd "$(dirname "$0")/.."
SG=${SG:-build/rel/safegrid}
DATA=/usr/share/doc/libterralib-dev/examples/data
DEMO=${DEMO_DIR:-demo}
DB="$DEMO/safegrid.db"
BH_SRS="+proj=tmerc +lat_0=0 +lon_0=-45 +k=0.9996 +x_0=500000 +y_0=3000000 +ellps=aust_SA +towgs84=-66.87,4.37,-38.52,0,0,0,0 +units=m +no_defs"

mkdir -p "$DEMO"
rm -f "$DB" "$DB-wal" "$DB-shm"
"$SG" init --db "$DB"
echo "importing the Belo Horizonte neighbourhoods ($DATA/BairroBH.MIF)"
"$SG" import areas "$DATA/BairroBH.MIF" --db "$DB" --code CDBAI --name nobai \
    --population pop_estim --srs "$BH_SRS" --create-orgs grid_office 2>"$DEMO/areas-report.txt"
echo "  problems found in the polygons (overlaps, gaps, repairs): $DEMO/areas-report.txt"
echo "adding the public service categories (scripts/demo/services.tsv)"
grep -v '^#' scripts/demo/services.tsv | while IFS='	' read -r code name deadlines; do
    "$SG" category add "$code" --type request --name "$name" --deadlines "$deadlines" \
        --db "$DB" >/dev/null
done
echo "importing the Belo Horizonte occurrences ($DATA/OcorrenciasBH.csv)"
"$SG" import cases "$DATA/OcorrenciasBH.csv" --db "$DB" \
    --delimiter ';' --encoding LATIN1 --type incident \
    --category Nat --category-name Descricao --create-categories \
    --x X --y Y --srs "$BH_SRS" \
    --time DataHora --time-format '%d/%m/%Y %H:%M:%S' --tz America/Sao_Paulo --id COD \
    --log-level warn
echo
"$SG" summary --db "$DB" --tz America/Sao_Paulo
echo
echo "The database is $DB. Meanwhile, in another terminal:"
echo "  $SG locate -43.938 -19.919 --db $DB      # Praça Sete, the city centre"
echo "  $SG case list --category b04002 --db $DB # homicides"
echo "  $SG case show 1 --db $DB"
echo "  $SG patrol plan --k 12 --tz America/Sao_Paulo --db $DB   # patrol beats by workload"
echo
# An administrator, and a city-wide supervisor who can work the cases in the staff
# workspace; their passwords are generated, printed once, and stored only as argon2id
# hashes.
"$SG" user add admin --role admin --db "$DB"
"$SG" user add supervisor --role supervisor --db "$DB"
echo "Web UI: http://127.0.0.1:${PORT:-8080}/ (public page), http://127.0.0.1:${PORT:-8080}/staff.html (staff)"
echo "Log in: curl -c jar -H 'Content-Type: application/json' \\"
echo "          -d '{\"name\":\"admin\",\"password\":\"PASSWORD\"}' http://127.0.0.1:${PORT:-8080}/api/v1/login"
echo "(the answer carries the CSRF token to send as X-CSRF-Token with every change; docs/api.md)"
echo
exec "$SG" serve --db "$DB" --listen "127.0.0.1:${PORT:-8080}"
