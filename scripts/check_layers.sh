#!/bin/sh
# The layer check behind `make check` (docs/internals/architecture.md). A file in
# src/<layer>/ may include its own layer's headers and the public headers of the layers
# below it, never one above or beside it; the folders' include graph must have no cycle.
# A public header belongs to the layer named in the table below, or else to the folder
# that holds the .c file of the same name. Prints each offending #include and exits 1.
set -u
cd "$(dirname "$0")/.."

# rank of a layer: includes point to a lower rank (or the same folder). A new domain
# folder (dispatch, mediation, ...) sits at rank 3 unless it is listed here.
rank() {
    case $1 in
    core) echo 0 ;;
    store | geo | route | stats) echo 1 ;;
    case) echo 2 ;;
    http) echo 5 ;;
    cli) echo 6 ;;
    *) echo 3 ;;
    esac
}

# the layer of a public header (include/safegrid/NAME.h)
owner() {
    case $1 in
    error | arena | buf | utf8 | log | config | timefmt | csv | crypto | audit) echo core ;;
    store) echo store ;;
    geo | proj) echo geo ;;
    route) echo route ;;
    stats) echo stats ;;
    case | area | auth | import | service) echo case ;;
    analyze) echo analysis ;;
    http) echo http ;;
    *)
        f=$(ls src/*/"$1".c 2>/dev/null | head -n 1)
        [ -n "$f" ] && basename "$(dirname "$f")" || echo "?"
        ;;
    esac
}

bad=0
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
for f in src/*/*.c src/*/*.h include/safegrid/*.h; do
    case $f in
    include/*) from=$(owner "$(basename "$f" .h)") ;;
    *) from=$(basename "$(dirname "$f")") ;;
    esac
    grep -n '^#include "' "$f" | while IFS= read -r line; do
        inc=$(printf '%s' "$line" | sed 's/^[0-9]*:#include "\([^"]*\)".*/\1/')
        case $inc in
        safegrid/*) to=$(owner "$(basename "$inc" .h)") ;;
        */*) to=${inc%%/*} ;;
        *) to=$from ;; # a private header beside the file
        esac
        if [ "$to" = "?" ]; then
            echo "$f:${line%%:*}: $inc belongs to no layer (add it to scripts/check_layers.sh)"
            echo x >>"$edges.bad"
            continue
        fi
        [ "$to" = "$from" ] && continue
        echo "$from $to" >>"$edges"
        if [ "$(rank "$to")" -ge "$(rank "$from")" ]; then
            echo "$f:${line%%:*}: $from includes $inc of layer $to, which is not below it"
            echo x >>"$edges.bad"
        fi
    done
done
[ -s "$edges.bad" ] && bad=1
rm -f "$edges.bad"
if ! sort -u "$edges" | tsort >/dev/null 2>"$edges.err"; then
    cat "$edges.err"
    bad=1
fi
rm -f "$edges.err"
if [ "$bad" -ne 0 ]; then
    echo "layers: include rules broken (docs/internals/architecture.md)"
    exit 1
fi
echo "layers: $(ls src/*/*.c src/*/*.h include/safegrid/*.h | wc -l) files, no include upward or in a cycle"
