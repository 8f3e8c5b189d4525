// The public page: report a problem (with the nearby-duplicates hint), follow a report by
// its tracking code and rate the outcome, and read the public statistics. Three views of
// one page, chosen by the URL's hash: #report, #track[/CODE], #stats.
import { t, label, fmtDate, fmtNumber, fmtMonth, applyI18n, bindLangSelect, onLangChange } from './i18n.js';
import { api, errorText } from './api.js';
import { L, makeMap, drawAreas, finestLevel, fitView } from './map.js';
import { el, clear, table } from './dom.js';
import uPlot from '../vendor/uplot/uPlot.esm.js';

const $ = (id) => document.getElementById(id);
let categories = [];
const catName = (code) => categories.find((c) => c.code === code)?.name ?? code;

/* ---- views ---------------------------------------------------------------------------- */

const views = { report: showReport, track: showTrack, stats: showStats };
let current = null;

function route() {
  const [name, arg] = (location.hash.replace(/^#/, '') || 'report').split('/');
  const view = views[name] ? name : 'report';
  for (const v of Object.keys(views)) $(`view-${v}`).hidden = v !== view;
  for (const a of document.querySelectorAll('header nav a')) {
    if (a.getAttribute('href') === `#${view}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const changed = current !== view;
  current = view;
  views[view](arg ? decodeURIComponent(arg) : null, changed);
}

/* ---- report --------------------------------------------------------------------------- */

let reportMap = null;
let reportMapReady = null;
let marker = null;
let point = null;
let nearbyData = null;

function showReport() {
  if (!reportMapReady) reportMapReady = buildReportMap();
  else reportMapReady.then(() => reportMap.invalidateSize());
}

async function buildReportMap() {
  reportMap = await makeMap($('report-map'), t('report.map'));
  try {
    const layer = await drawAreas(reportMap, await finestLevel());
    fitView(reportMap, layer);
  } catch (e) {
    fitView(reportMap, null);
  }
  reportMap.on('click', (ev) => setPoint(ev.latlng.lat, ev.latlng.lng));
  // Enter or space on the focused map takes its centre, for keyboard users.
  reportMap.getContainer().addEventListener('keydown', (ev) => {
    if ((ev.key === 'Enter' || ev.key === ' ') && ev.target === reportMap.getContainer()) {
      ev.preventDefault();
      const c = reportMap.getCenter();
      setPoint(c.lat, c.lng);
    }
  });
}

function setPoint(lat, lon, fromInputs = false) {
  point = { lat: Number(lat.toFixed(6)), lon: Number(lon.toFixed(6)) };
  if (!fromInputs) {
    $('r-lat').value = point.lat;
    $('r-lon').value = point.lon;
  }
  if (reportMap) {
    if (!marker) {
      marker = L.circleMarker([point.lat, point.lon], { radius: 9, color: '#8a1c1c', weight: 3,
        fillColor: '#e0452b', fillOpacity: 0.9 }).addTo(reportMap);
    } else marker.setLatLng([point.lat, point.lon]);
  }
  $('r-placed').textContent = t('report.placed', { lat: fmtNumber(point.lat, { maximumFractionDigits: 5 }),
    lon: fmtNumber(point.lon, { maximumFractionDigits: 5 }) });
  checkNearby();
}

const RADIUS = 200;
let nearbySeq = 0;
async function checkNearby() {
  const category = $('r-category').value;
  if (!category || !point) { $('nearby').hidden = true; nearbyData = null; return; }
  const seq = ++nearbySeq;
  try {
    const d = await api('/api/v1/nearby', { query: { category, lon: point.lon, lat: point.lat, radius: RADIUS } });
    if (seq !== nearbySeq) return;
    nearbyData = d;
    renderNearby();
  } catch (e) {
    if (seq === nearbySeq) { nearbyData = null; $('nearby').hidden = true; }
  }
}

function renderNearby() {
  if (!nearbyData) return;
  const open = nearbyData.open;
  $('nearby').hidden = false;
  $('nearby').classList.toggle('has', open.length > 0);
  $('nearby-text').textContent = open.length
    ? t(open.length === 1 ? 'report.nearby.one' : 'report.nearby.some', { n: fmtNumber(open.length), radius: fmtNumber(RADIUS) })
    : t('report.nearby.none', { radius: fmtNumber(RADIUS) });
  clear($('nearby-list')).append(...open.map((o) => el('li', {}, t('report.nearby.item', {
    status: label('status', o.status), date: fmtDate(o.created_at, false), distance: fmtNumber(o.distance_m) }))));
}

function fillCategories() {
  const sel = $('r-category');
  const keep = sel.value;
  sel.replaceChildren(el('option', { value: '' }, t('report.category.choose')),
    ...categories.filter((c) => c.type === 'request').map((c) => el('option', { value: c.code }, c.name)));
  sel.value = keep;
}

// The longest description the server takes, in characters (code points, as the server
// counts them): a longer one is refused here with a message, never cut without a word.
const MAX_DESCRIPTION = 4000;

async function submitReport(ev) {
  ev.preventDefault();
  const err = $('report-error');
  err.textContent = '';
  const category = $('r-category').value;
  const description = $('r-description').value.trim();
  const lat = parseFloat($('r-lat').value);
  const lon = parseFloat($('r-lon').value);
  let problem = null;
  let focus = null;
  if (!category) { problem = 'report.need.category'; focus = 'r-category'; }
  else if (!Number.isFinite(lat) || !Number.isFinite(lon)) { problem = 'report.need.place'; focus = 'r-lat'; }
  else if (!description) { problem = 'report.need.description'; focus = 'r-description'; }
  else if ([...description].length > MAX_DESCRIPTION) { problem = 'report.long.description'; focus = 'r-description'; }
  else if (!$('r-contact').validity.valid) { problem = 'report.bad.contact'; focus = 'r-contact'; }
  if (problem) {
    err.textContent = t(problem, { max: fmtNumber(MAX_DESCRIPTION), n: fmtNumber([...description].length) });
    $(focus).setAttribute('aria-invalid', 'true');
    $(focus).focus();
    return;
  }
  for (const id of ['r-category', 'r-lat', 'r-description', 'r-contact']) $(id).removeAttribute('aria-invalid');
  const body = { category, description, lon, lat };
  const contact = $('r-contact').value.trim();
  if (contact) body.contact = contact;
  const button = ev.submitter || $('report-form').querySelector('button[type=submit]');
  button.disabled = true;
  try {
    const r = await api('/api/v1/cases', { method: 'POST', body });
    $('done-code').textContent = r.tracking_code;
    $('done-link').href = `#track/${r.tracking_code}`;
    $('report-done').hidden = false;
    $('report-form').reset();
    $('nearby').hidden = true;
    $('r-placed').textContent = '';
    point = null;
    if (marker) { marker.remove(); marker = null; }
    $('report-done').focus();
  } catch (e) {
    err.textContent = errorText(e);
  } finally {
    button.disabled = false;
  }
}

/* ---- track ---------------------------------------------------------------------------- */

let tracked = null;

async function showTrack(code, changed) {
  if (!code) {
    if (changed) { $('track-result').hidden = true; $('track-error').textContent = ''; }
    return;
  }
  $('t-code').value = code;
  $('fb-done').textContent = '';
  try {
    tracked = await api(`/api/v1/track/${encodeURIComponent(code)}`);
    $('track-error').textContent = '';
    renderTrack();
  } catch (e) {
    tracked = null;
    $('track-result').hidden = true;
    $('track-error').textContent = e.status === 404 ? t('track.notfound') : errorText(e);
  }
}

function renderTrack() {
  if (!tracked) return;
  const c = tracked;
  $('track-result').hidden = false;
  $('t-status').textContent = label('status', c.status);
  $('t-status').dataset.status = c.status;
  $('t-category').textContent = catName(c.category);
  $('t-created').textContent = fmtDate(c.created_at);
  $('t-updated').textContent = fmtDate(c.updated_at);
  $('t-closed-row').hidden = !c.closed_at;
  $('t-closed').textContent = fmtDate(c.closed_at);
  clear($('t-timeline')).append(...c.timeline.map((e) => {
    let text;
    if (e.kind === 'created') text = t('track.ev.created');
    else if (e.kind === 'comment') text = t('track.ev.comment');
    else if (e.kind === 'transition') text = t('track.ev.transition', { from: label('status', e.from), to: label('status', e.to) });
    else if (e.kind === 'escalated') text = t('track.ev.escalated');
    else text = t('track.ev.other', { kind: label('kind', e.kind) });
    return el('li', {}, el('time', { datetime: e.at }, fmtDate(e.at)), ' ', el('span', {}, text));
  }));
  $('fb-form').hidden = c.status !== 'resolved';
}

function buildStars() {
  const box = $('fb-stars');
  clear(box);
  for (let n = 1; n <= 5; n++) {
    box.append(el('label', { class: 'star' },
      el('input', { type: 'radio', name: 'rating', value: String(n) }), ' ',
      el('span', { 'aria-hidden': 'true' }, '★'.repeat(n)),
      el('span', { class: 'sr' }, t('fb.star', { n: fmtNumber(n) }))));
  }
}

async function submitFeedback(ev) {
  ev.preventDefault();
  const err = $('fb-error');
  err.textContent = '';
  const fixed = document.querySelector('input[name=fixed]:checked')?.value;
  const rating = Number(document.querySelector('input[name=rating]:checked')?.value);
  const reason = $('fb-reason').value.trim();
  if (!fixed) { err.textContent = t('fb.fixed'); return; }
  if (!rating) { err.textContent = t('fb.rating.need'); return; }
  if (fixed === 'no' && !reason) { err.textContent = t('fb.reason.need'); $('fb-reason').focus(); return; }
  const body = { fixed: fixed === 'yes', rating };
  if (reason) body.reason = reason;
  try {
    const r = await api(`/api/v1/track/${encodeURIComponent(tracked.tracking_code)}/feedback`, { method: 'POST', body });
    $('fb-form').reset();
    $('fb-reason-field').hidden = true;
    await showTrack(tracked.tracking_code);
    $('fb-done').textContent = t(r.status === 'closed' ? 'fb.thanks.closed' : 'fb.thanks.reopened');
  } catch (e) {
    err.textContent = errorText(e);
  }
}

/* ---- statistics ----------------------------------------------------------------------- */

let stats = null;
let chart = null;
const TYPES = ['request', 'incident', 'dispute', 'hazard', 'assessment'];

async function showStats(arg, changed) {
  if (!changed && stats) return;
  const type = $('s-type').value || undefined;
  try {
    const [monthly, counts, response, areaList] = await Promise.all([
      api('/api/v1/stats/monthly', { query: { type } }),
      api('/api/v1/export/counts', { query: { type } }),
      api('/api/v1/export/response_times', { query: { type } }),
      api('/api/v1/areas').then((d) => d.areas).catch(() => []),
    ]);
    stats = { monthly, counts, response, areaNames: new Map(areaList.map((a) => [a.code, a.name])) };
    $('stats-error').textContent = '';
    renderStats();
  } catch (e) {
    $('stats-error').textContent = errorText(e);
  }
}

function countCell(r, k) {
  return r.suppressed
    ? el('td', { class: 'num suppressed count' }, t('stats.suppressed', { k: fmtNumber(k) }))
    : el('td', { class: 'num count' }, fmtNumber(r.count));
}

function renderStats() {
  if (!stats) return;
  const { monthly, counts, response, areaNames } = stats;
  const k = monthly.suppress_below;
  $('stats-intro').textContent = t('stats.intro', { k: fmtNumber(k) });
  const none = (cols) => [el('tr', {}, el('td', { colspan: String(cols) }, t('stats.none')))];

  table($('s-monthly'), [t('stats.category'), t('stats.month'), t('stats.count')],
    monthly.rows.length ? monthly.rows.map((r) => el('tr', { 'data-category': r.category, 'data-month': r.month },
      el('th', { scope: 'row' }, catName(r.category)), el('td', {}, fmtMonth(r.month)), countCell(r, k))) : none(3));

  table($('s-counts'), [t('stats.area'), t('stats.category'), t('stats.month'), t('stats.count')],
    counts.rows.length ? counts.rows.map((r) => el('tr', { 'data-area': r.area ?? '', 'data-category': r.category, 'data-month': r.month },
      el('th', { scope: 'row' }, r.area ? (areaNames.get(r.area) ?? r.area) : t('stats.outside')),
      el('td', {}, catName(r.category)), el('td', {}, fmtMonth(r.month)), countCell(r, counts.suppress_below))) : none(4));

  const byOrg = new Map();
  for (const o of response.organisations) byOrg.set(o.organisation, { o });
  for (const s of response.satisfaction) byOrg.set(s.organisation, { ...(byOrg.get(s.organisation) || {}), s });
  const hidden = () => el('td', { class: 'num suppressed' }, t('stats.suppressed', { k: fmtNumber(response.suppress_below) }));
  const num = (v, opts) => (v === null || v === undefined ? el('td', { class: 'num' }, '—') : el('td', { class: 'num' }, fmtNumber(v, opts)));
  table($('s-response'), [t('stats.org'), t('stats.closed'), t('stats.median'), t('stats.p90'), t('stats.ratings'), t('stats.mean'), t('stats.satisfied')],
    byOrg.size ? [...byOrg.entries()].map(([org, { o, s }]) => el('tr', { 'data-org': org ?? '' },
      el('th', { scope: 'row' }, (o?.name ?? s?.name) || t('stats.noorg')),
      ...(o && !o.suppressed ? [num(o.closed), num(o.median_hours, { maximumFractionDigits: 1 }), num(o.p90_hours, { maximumFractionDigits: 1 })]
        : [hidden(), hidden(), hidden()]),
      ...(s && !s.suppressed ? [num(s.ratings), num(s.mean_rating, { maximumFractionDigits: 2 }), num(s.satisfied_share, { style: 'percent' })]
        : [hidden(), hidden(), hidden()]))) : none(7));

  drawChart(monthly);
}

const PALETTE = ['#1f5f99', '#c0392b', '#2e7d32', '#8e44ad', '#b9770e', '#117a8b'];
function drawChart(monthly) {
  const box = $('s-chart');
  if (chart) { chart.destroy(); chart = null; }
  clear(box);
  const months = [...new Set(monthly.rows.map((r) => r.month))].sort();
  const cats = [...new Set(monthly.rows.map((r) => r.category))].slice(0, PALETTE.length);
  if (!months.length) { box.hidden = true; return; }
  box.hidden = false;
  const xs = months.map((m, i) => i);
  const data = [xs, ...cats.map((c) => months.map((m) => {
    const r = monthly.rows.find((x) => x.category === c && x.month === m);
    return r && !r.suppressed ? r.count : null;
  }))];
  if (data.slice(1).every((s) => s.every((v) => v === null))) { box.hidden = true; return; }
  const width = Math.max(300, Math.min(box.clientWidth || 720, 1100) - 20);
  const monthOf = (v) => (Number.isInteger(v) && months[v] ? fmtMonth(months[v]) : '');
  chart = new uPlot({
    width, height: 260, legend: { live: false },
    scales: { x: { time: false, range: [-0.5, months.length - 0.5] }, y: { range: (u, lo, hi) => [0, Math.max(1, hi * 1.15)] } },
    axes: [
      { splits: () => xs, values: (u, vals) => vals.map(monthOf), stroke: '#333', grid: { show: false } },
      { values: (u, vals) => vals.map((v) => fmtNumber(v)), stroke: '#333' },
    ],
    series: [{ label: t('stats.month'), value: (u, v) => monthOf(v) },
      ...cats.map((c, i) => ({ label: catName(c), stroke: PALETTE[i], width: 2, points: { size: 8, fill: PALETTE[i] },
        value: (u, v) => (v == null ? '—' : fmtNumber(v)) }))],
  }, data, box);
}

function fillTypes() {
  const sel = $('s-type');
  const keep = sel.value;
  sel.replaceChildren(el('option', { value: '' }, t('stats.type.all')),
    ...TYPES.map((ty) => el('option', { value: ty }, label('type', ty))));
  sel.value = keep;
}

/* ---- start ---------------------------------------------------------------------------- */

async function start() {
  bindLangSelect($('lang'));
  applyI18n();
  buildStars();
  fillTypes();
  try {
    categories = (await api('/api/v1/categories')).categories;
  } catch (e) {
    $('report-error').textContent = errorText(e);
  }
  fillCategories();
  $('r-category').addEventListener('change', checkNearby);
  const fromInputs = () => {
    const lat = parseFloat($('r-lat').value);
    const lon = parseFloat($('r-lon').value);
    if (Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) setPoint(lat, lon, true);
  };
  $('r-lat').addEventListener('change', fromInputs);
  $('r-lon').addEventListener('change', fromInputs);
  $('r-usecentre').addEventListener('click', async () => {
    if (!reportMapReady) return;
    await reportMapReady;
    const c = reportMap.getCenter();
    setPoint(c.lat, c.lng);
  });
  $('report-form').addEventListener('submit', submitReport);
  // A message about a field goes once the field is changed, not only at the next send.
  $('report-form').addEventListener('input', (ev) => {
    if (ev.target.getAttribute('aria-invalid') !== 'true') return;
    ev.target.removeAttribute('aria-invalid');
    $('report-error').textContent = '';
  });
  $('track-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const code = $('t-code').value.trim();
    if (!code) return;
    const h = `#track/${encodeURIComponent(code)}`;
    if (location.hash === h) showTrack(code); else location.hash = h;
  });
  for (const r of document.querySelectorAll('input[name=fixed]')) {
    r.addEventListener('change', () => { $('fb-reason-field').hidden = r.value !== 'no' || !r.checked; });
  }
  $('fb-form').addEventListener('submit', submitFeedback);
  $('s-type').addEventListener('change', () => { stats = null; showStats(null, true); });
  onLangChange(() => {
    fillCategories();
    fillTypes();
    buildStars();
    renderNearby();
    renderTrack();
    renderStats();
    if (point) $('r-placed').textContent = t('report.placed', { lat: fmtNumber(point.lat, { maximumFractionDigits: 5 }), lon: fmtNumber(point.lon, { maximumFractionDigits: 5 }) });
  });
  window.addEventListener('hashchange', route);
  route();
  document.body.dataset.ready = '1';
}

start();
