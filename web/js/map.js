// Leaflet maps drawn from the server's own GeoJSON, so they work without any outside tile
// server. A basemap is added only when build/web/config.json (or ?tiles=) names a tile URL
// template; without one the map shows a neutral background and the area polygons, which
// is a finished map of the jurisdiction on its own.
import * as L from '../vendor/leaflet/leaflet-src.esm.js';
import { api } from './api.js';
import { t, onLangChange } from './i18n.js';

export { L };

let configPromise = null;
export function config() {
  if (!configPromise) {
    configPromise = fetch('config.json', { credentials: 'same-origin' })
      .then((r) => (r.ok ? r.json() : {}))
      .catch(() => ({}))
      .then((c) => {
        const q = new URLSearchParams(location.search);
        if (q.get('tiles')) c.tiles = q.get('tiles');
        return c;
      });
  }
  return configPromise;
}

let areasPromise = null;
// The area tree (without geometry), and the finest level present.
export function areas() {
  if (!areasPromise) areasPromise = api('/api/v1/areas').then((d) => d.areas);
  return areasPromise;
}
const geoCache = new Map();
export function areaGeoJSON(level) {
  if (!geoCache.has(level)) geoCache.set(level, api('/api/v1/areas.geojson', { query: { level } }));
  return geoCache.get(level);
}
export async function finestLevel() {
  const cfg = await config();
  if (Number.isInteger(cfg.area_level)) return cfg.area_level;
  const a = await areas();
  return a.reduce((m, x) => Math.max(m, x.level), 0);
}

// A map in the element el, with the basemap if configured. label names it for screen
// readers. Returns the Leaflet map.
export async function makeMap(el, label) {
  const cfg = await config();
  el.classList.add('sg-map');
  if (!cfg.tiles) el.classList.add('sg-map-plain');
  const map = L.map(el, { keyboard: true, zoomSnap: 0.25, attributionControl: true, zoomControl: false });
  map.attributionControl.setPrefix(false);
  // The zoom buttons' names from the catalogue, renamed when the language changes.
  let zoom = L.control.zoom({ zoomInTitle: t('map.zoomin'), zoomOutTitle: t('map.zoomout') }).addTo(map);
  onLangChange(() => {
    zoom.remove();
    zoom = L.control.zoom({ zoomInTitle: t('map.zoomin'), zoomOutTitle: t('map.zoomout') }).addTo(map);
  });
  // A view before any layer: Leaflet's vector renderer needs one to place paths.
  map.setView([0, 0], 2);
  el.setAttribute('role', 'region');
  el.setAttribute('aria-label', label);
  if (cfg.tiles) {
    L.tileLayer(cfg.tiles, { maxZoom: cfg.max_zoom || 19, attribution: cfg.attribution || '' }).addTo(map);
  }
  return map;
}

// Draws the areas of a level; style(feature) may colour each. Returns the layer.
export async function drawAreas(map, level, style, onEach) {
  const gj = await areaGeoJSON(level);
  const layer = L.geoJSON(gj, {
    style: style || (() => ({ color: '#51606f', weight: 1, fillColor: '#dfe7df', fillOpacity: 0.55 })),
    onEachFeature: onEach,
  }).addTo(map);
  return layer;
}

// Fits the map to the layer, or to a centre given as ?center=lat,lon&zoom=Z.
export function fitView(map, layer) {
  const q = new URLSearchParams(location.search);
  const c = q.get('center');
  if (c) {
    const [lat, lon] = c.split(',').map(Number);
    if (Number.isFinite(lat) && Number.isFinite(lon)) {
      map.setView([lat, lon], Number(q.get('zoom')) || 15);
      return;
    }
  }
  const b = layer && layer.getBounds && layer.getBounds();
  if (b && b.isValid()) map.fitBounds(b, { padding: [8, 8] });
  else map.setView([0, 0], 2);
}
