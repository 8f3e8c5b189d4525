#!/bin/sh
# Builds the web UI into build/web: the sources under web/ as they are (plain ES modules,
# no bundler) and the files the pages use from npm packages (Leaflet, uPlot), copied into
# build/web/vendor so that the server serves everything itself (its CSP allows no other
# origin for scripts and styles). Run by `make` through the build/web/index.html target.
set -eu
cd "$(dirname "$0")/.."
out=build/web
nm=node_modules
for f in "$nm/leaflet/dist/leaflet-src.esm.js" "$nm/uplot/dist/uPlot.esm.js"; do
    [ -f "$f" ] || { echo "web/build.sh: $f is missing: run scripts/setup.sh (npm ci)" >&2; exit 1; }
done
rm -rf "$out.tmp"
mkdir -p "$out.tmp/vendor/leaflet/images" "$out.tmp/vendor/uplot"
cp web/*.html web/config.json "$out.tmp/"
cp -R web/js web/css "$out.tmp/"
cp "$nm/leaflet/dist/leaflet-src.esm.js" "$nm/leaflet/dist/leaflet.css" "$out.tmp/vendor/leaflet/"
cp "$nm/leaflet/dist/images/"*.png "$out.tmp/vendor/leaflet/images/"
cp "$nm/uplot/dist/uPlot.esm.js" "$nm/uplot/dist/uPlot.min.css" "$out.tmp/vendor/uplot/"
cp "$nm/leaflet/LICENSE" "$out.tmp/vendor/leaflet/LICENSE.txt"
cp "$nm/uplot/LICENSE" "$out.tmp/vendor/uplot/LICENSE.txt"
# A config.json already in build/web is the operator's (tile server): keep it.
[ -f "$out/config.json" ] && cp "$out/config.json" "$out.tmp/config.json"
rm -rf "$out"
mv "$out.tmp" "$out"
