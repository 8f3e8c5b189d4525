#!/bin/sh
# Times pgRouting for bench/bench_route.c: loads an edge table written by
# sg_route_export_edges into a throwaway PostgreSQL cluster (tests/fixtures/route/pg_env.sh)
# and runs one pgr_dijkstraCost one-to-many query per line of QUERIES ("SRC T1,T2,...").
# Prints "query_ms <ms>" per query, as psql's \timing measures it (client round trip on a
# unix socket included). After one warm-up query, so the table is in the buffer cache.
#   sh bench/route_pgrouting.sh EDGES.csv QUERIES.txt
set -eu
edges=$1
queries=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/fixtures/route/pg_env.sh"
trap pg_stop EXIT
chmod 644 "$edges"
$PSQL -c "CREATE TABLE e (id bigint, source bigint, target bigint, cost float8,
          reverse_cost float8, x1 float8, y1 float8, x2 float8, y2 float8, length_m float8)"
$PSQL -c "\\copy e FROM '$edges' CSV HEADER"
$PSQL -c "ANALYZE e"
sql=$(mktemp)
{
    echo "SELECT count(*) FROM pgr_dijkstraCost('SELECT id, source, target, cost, reverse_cost FROM e', 1, ARRAY[2]);"
    printf '%s\n' '\timing on'
    while read -r src dsts; do
        echo "SELECT count(*) FROM pgr_dijkstraCost('SELECT id, source, target, cost, reverse_cost FROM e', $src, ARRAY[$dsts]);"
    done < "$queries"
} > "$sql"
$PSQL -f "$sql" | sed -n 's/^Time: \([0-9.]*\) ms.*/query_ms \1/p'
rm -f "$sql"
