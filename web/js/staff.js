// The staff workspace: sign-in; the queue of the caller's organisation (open cases, overdue
// first); overdue and escalated work in the caller's area (the supervisor's view); the area
// tree and a map of the grid coloured by open cases; and a case with its map, timeline,
// comments and exactly the moves the API offers the caller's role, as buttons. Views by
// hash: #queue, #overdue, #map, #case/ID. Personal data (the reporter's contact) is shown
// only on the case page, only when the API sends it (the roles that work cases).
import { t, label, fmtDate, fmtNumber, applyI18n, bindLangSelect, onLangChange } from './i18n.js';
import { api, setCsrf, errorText } from './api.js';
import { L, makeMap, drawAreas, finestLevel, fitView, areas as loadAreas } from './map.js';
import { el, clear, table } from './dom.js';

const $ = (id) => document.getElementById(id);
let me = null;
let areaFilter = null;
let areaByCode = new Map();
let categories = new Map();
let orgs = new Map();
const orgName = (code) => (code ? orgs.get(code) ?? code : '');
const areaName = (code) => (code ? areaByCode.get(code)?.name ?? code : '');
const catName = (code) => categories.get(code) ?? code;
const isOverdue = (c) => c.due_at && !c.closed_at && Date.parse(c.due_at) < Date.now();

/* ---- views ---------------------------------------------------------------------------- */

const VIEWS = ['login', 'queue', 'overdue', 'map', 'case'];
function show(view) {
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== view;
  for (const a of document.querySelectorAll('#staff-nav a')) {
    if (a.getAttribute('href') === `#${view}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

let lastView = null;
function route() {
  if (!me) { show('login'); lastView = 'login'; $('l-name').focus(); return; }
  const [name, arg] = (location.hash.replace(/^#/, '') || 'queue').split('/');
  const view = ['queue', 'overdue', 'map', 'case'].includes(name) ? name : 'queue';
  const moved = lastView !== null && lastView !== view;
  lastView = view;
  show(view);
  if (view === 'queue') loadQueue();
  else if (view === 'overdue') loadOverdue();
  else if (view === 'map') loadMap();
  else if (view === 'case') loadCase(Number(arg));
  if (moved) $('main').focus();
}

function renderWho() {
  const signed = !!me;
  $('staff-nav').hidden = !signed;
  $('who-box').hidden = !signed;
  if (signed) $('who').textContent = t('me', { name: me.name, role: label('role', me.role), area: me.area ? areaName(me.area) : t('me.noarea') });
}

async function signedIn(who) {
  me = who;
  setCsrf(who.csrf);
  try {
    const [a, c, o] = await Promise.all([loadAreas(), api('/api/v1/categories'), api('/api/v1/orgs')]);
    areaByCode = new Map(a.map((x) => [x.code, x]));
    categories = new Map(c.categories.map((x) => [x.code, x.name]));
    orgs = new Map(o.orgs.map((x) => [x.code, x.name]));
  } catch (e) { /* names fall back to codes */ }
  renderWho();
}

/* ---- login ---------------------------------------------------------------------------- */

async function login(ev) {
  ev.preventDefault();
  $('login-error').textContent = '';
  try {
    const who = await api('/api/v1/login', { method: 'POST', body: { name: $('l-name').value.trim(), password: $('l-password').value } });
    $('l-password').value = '';
    await signedIn(who);
    if (!location.hash || location.hash === '#login') location.hash = '#queue';
    else route();
    $('main').focus();
  } catch (e) {
    $('login-error').textContent = e.status === 401 ? t('login.failed') : errorText(e);
  }
}

async function logout() {
  try { await api('/api/v1/logout', { method: 'POST' }); } catch (e) { /* the session ends anyway */ }
  me = null;
  setCsrf(null);
  renderWho();
  route();
}

/* ---- queue and overdue ---------------------------------------------------------------- */

function caseRows(items, withOrg) {
  return items.map((c) => el('tr', { class: isOverdue(c) ? 'overdue' : null, 'data-id': String(c.id), 'data-code': c.tracking_code },
    el('th', { scope: 'row' }, el('a', { href: `#case/${c.id}`, class: 'code', 'aria-label': t('case.open', { code: c.tracking_code }) }, c.tracking_code)),
    el('td', {}, catName(c.category)),
    el('td', {}, label('status', c.status)),
    el('td', { class: 'num' }, fmtNumber(c.priority)),
    el('td', {}, fmtDate(c.created_at)),
    el('td', {}, areaName(c.area)),
    withOrg ? el('td', {}, orgName(c.org)) : null,
    el('td', {}, fmtDate(c.due_at), isOverdue(c) ? [' ', el('span', { class: 'badge overdue' }, t('overdue'))] : null),
    el('td', { class: 'num' }, fmtNumber(c.escalations))));
}

function caseHeaders(withOrg) {
  return [t('col.code'), t('col.category'), t('col.status'), t('col.priority'), t('col.created'), t('col.area'),
    ...(withOrg ? [t('col.org')] : []), t('col.due'), t('col.escalations')];
}

// Overdue first, then by due time, then newest.
function byUrgency(a, b) {
  const oa = isOverdue(a) ? 0 : 1;
  const ob = isOverdue(b) ? 0 : 1;
  if (oa !== ob) return oa - ob;
  const da = a.due_at ? Date.parse(a.due_at) : Infinity;
  const db = b.due_at ? Date.parse(b.due_at) : Infinity;
  return da - db || b.id - a.id;
}

let queueItems = [];
let queueCursor = null;
async function loadQueue(more = false) {
  const query = { status: 'open', limit: 200 };
  if (areaFilter) query.area = areaFilter;
  else if (me.org) query.org = me.org;
  if (more && queueCursor) query.cursor = queueCursor;
  try {
    const d = await api('/api/v1/cases', { query });
    queueItems = more ? queueItems.concat(d.items) : d.items;
    queueCursor = d.next_cursor;
    $('queue-error').textContent = '';
    renderQueue();
  } catch (e) {
    $('queue-error').textContent = errorText(e);
  }
}

function renderQueue() {
  $('queue-h').textContent = areaFilter ? t('staff.queue.area', { area: areaName(areaFilter) })
    : me.org ? t('staff.queue.heading', { org: orgName(me.org) }) : t('staff.queue.heading.scope');
  $('queue-clear').hidden = !areaFilter;
  $('queue-more').hidden = !queueCursor;
  const items = [...queueItems].sort(byUrgency);
  table($('queue-table'), caseHeaders(false),
    items.length ? caseRows(items, false) : [el('tr', {}, el('td', { colspan: '8' }, t('staff.empty')))]);
}

let overdueItems = [];
async function loadOverdue() {
  try {
    const [late, open] = await Promise.all([
      api('/api/v1/cases', { query: { status: 'open', overdue: 1, limit: 500 } }),
      api('/api/v1/cases', { query: { escalated: 1, limit: 500 } }),
    ]);
    const seen = new Map(late.items.map((c) => [c.id, c]));
    for (const c of open.items) if (!seen.has(c.id)) seen.set(c.id, c);
    overdueItems = [...seen.values()];
    $('overdue-error').textContent = '';
    renderOverdue();
  } catch (e) {
    $('overdue-error').textContent = errorText(e);
  }
}

function renderOverdue() {
  const items = [...overdueItems].sort((a, b) => b.escalations - a.escalations || byUrgency(a, b));
  table($('overdue-table'), caseHeaders(true),
    items.length ? caseRows(items, true) : [el('tr', {}, el('td', { colspan: '9' }, t('staff.empty')))]);
}

/* ---- area tree and map ---------------------------------------------------------------- */

let gridMap = null;
let gridMapReady = null;
let gridLayer = null;
let openByArea = new Map();
const SHADES = [[0, '#f2f4f1'], [1, '#fde0a6'], [3, '#f8b26a'], [6, '#e8743b'], [11, '#b83a1e']];
const shade = (n) => SHADES.reduce((c, [min, col]) => (n >= min ? col : c), SHADES[0][1]);

function inScope(code) {
  if (!me.area) return true;
  for (let a = areaByCode.get(code); a; a = [...areaByCode.values()].find((x) => x.id === a.parent_id)) {
    if (a.code === me.area) return true;
    if (a.parent_id === null) break;
  }
  return false;
}

async function loadMap() {
  try {
    const level = await finestLevel();
    const d = await api('/api/v1/stats/open_by_area', { query: { level } });
    openByArea = new Map(d.areas.map((a) => [a.area, a]));
    renderTree();
    if (!gridMapReady) {
      gridMapReady = (async () => {
        gridMap = await makeMap($('areas-map'), t('areas.map'));
        gridLayer = await drawAreas(gridMap, level, styleArea, (f, layer) => {
          layer.on('click', () => showArea(f.id));
          // Tooltips get elements, never strings: Leaflet would parse a string as HTML.
          layer.bindTooltip(() => el('span', {}, areaTip(f.id)), { sticky: true });
        });
        const scoped = L.featureGroup(gridLayer.getLayers().filter((l) => inScope(l.feature.id)));
        fitView(gridMap, scoped.getLayers().length ? scoped : gridLayer);
      })();
      await gridMapReady;
    } else {
      await gridMapReady;
      gridLayer.setStyle(styleArea);
      gridMap.invalidateSize();
    }
    await drawCasePoints();
    renderLegend();
    $('map-error').textContent = '';
  } catch (e) {
    $('map-error').textContent = errorText(e);
  }
}

// The open cases in scope as points (staff see places; the public never does).
let pointsLayer = null;
async function drawCasePoints() {
  const d = await api('/api/v1/cases', { query: { status: 'open', limit: 1000 } });
  if (pointsLayer) pointsLayer.remove();
  pointsLayer = L.layerGroup(d.items.filter((c) => c.lat !== null && c.lon !== null).map((c) => {
    const late = isOverdue(c);
    const m = L.circleMarker([c.lat, c.lon], { radius: 6, weight: 2, color: late ? '#7a1010' : '#0d3b66',
      fillColor: late ? '#d7263d' : '#3c91e6', fillOpacity: 0.9 });
    m.bindTooltip(() => el('span', {}, `${c.tracking_code} · ${catName(c.category)} · ${label('status', c.status)}${late ? ` · ${t('overdue')}` : ''}`));
    m.on('click', () => { location.hash = `#case/${c.id}`; });
    return m;
  })).addTo(gridMap);
}

function styleArea(f) {
  const n = openByArea.get(f.id)?.open ?? 0;
  const scoped = inScope(f.id);
  return { color: scoped ? '#3b4650' : '#9aa5ae', weight: scoped ? 1.2 : 0.6,
    fillColor: scoped ? shade(n) : '#e3e7ea', fillOpacity: scoped ? 0.85 : 0.4 };
}

function areaTip(code) {
  const s = openByArea.get(code) || { open: 0, overdue: 0 };
  return `${areaName(code)}: ${t('areas.count', { open: fmtNumber(s.open), overdue: fmtNumber(s.overdue) })}`;
}

function showArea(code) {
  areaFilter = code;
  location.hash = '#queue';
}

function renderLegend() {
  clear($('legend')).append(el('span', {}, t('areas.legend'), ':'),
    ...SHADES.map(([min], i) => {
      const next = SHADES[i + 1];
      const text = next ? (next[0] - 1 > min ? `${fmtNumber(min)}–${fmtNumber(next[0] - 1)}` : fmtNumber(min)) : `${fmtNumber(min)}+`;
      return el('span', {}, el('i', { style: `background:${SHADES[i][1]}` }), text);
    }),
    el('span', {}, el('i', { class: 'dot', style: 'background:#3c91e6' }), t('areas.point')),
    el('span', {}, el('i', { class: 'dot', style: 'background:#d7263d' }), t('areas.point.overdue')));
}

function renderTree() {
  const all = [...areaByCode.values()];
  const children = new Map();
  for (const a of all) {
    const k = a.parent_id ?? 0;
    if (!children.has(k)) children.set(k, []);
    children.get(k).push(a);
  }
  const roots = me.area && areaByCode.has(me.area) ? [areaByCode.get(me.area)] : children.get(0) || [];
  const item = (a) => {
    const s = openByArea.get(a.code);
    const kids = (children.get(a.id) || []).sort((x, y) => x.name.localeCompare(y.name));
    return el('li', {},
      el('button', { type: 'button', 'aria-label': t('areas.show', { area: a.name }), onclick: () => showArea(a.code) }, a.name),
      ' ', el('span', { class: 'count' }, s ? t('areas.count', { open: fmtNumber(s.open), overdue: fmtNumber(s.overdue) }) : ''),
      kids.length ? el('ul', {}, kids.map(item)) : null);
  };
  clear($('area-tree')).append(...roots.sort((x, y) => x.name.localeCompare(y.name)).map(item));
}

/* ---- a case --------------------------------------------------------------------------- */

let kase = null;
let events = [];
let caseMap = null;
let caseMapReady = null;
let caseMarker = null;

async function loadCase(id, message) {
  $('case-msg').textContent = message || '';
  $('case-error').textContent = '';
  try {
    [kase, { events }] = await Promise.all([api(`/api/v1/cases/${id}`), api(`/api/v1/cases/${id}/events`)]);
  } catch (e) {
    kase = null;
    $('case-h').textContent = '';
    $('case-body').hidden = true;
    $('case-error').textContent = e.status === 404 ? t('case.notfound') : errorText(e);
    return;
  }
  $('case-body').hidden = false;
  renderCase();
  if (!caseMapReady) {
    caseMapReady = (async () => {
      caseMap = await makeMap($('case-map'), t('case.map'));
      try { await drawAreas(caseMap, await finestLevel()); } catch (e) { /* the point alone */ }
    })();
  }
  await caseMapReady;
  if (caseMarker) { caseMarker.remove(); caseMarker = null; }
  if (kase.lat !== null && kase.lon !== null) {
    caseMarker = L.circleMarker([kase.lat, kase.lon], { radius: 9, color: '#8a1c1c', weight: 3, fillColor: '#e0452b', fillOpacity: 0.9 }).addTo(caseMap);
    caseMap.setView([kase.lat, kase.lon], 16);
  } else fitView(caseMap, null);
  caseMap.invalidateSize();
}

function renderCase() {
  if (!kase) return;
  const c = kase;
  $('case-h').textContent = t('case.heading', { code: c.tracking_code });
  const fact = (k, v, attrs = {}) => el('div', {}, el('dt', {}, k), el('dd', attrs, v));
  clear($('case-facts')).append(
    fact(t('col.status'), label('status', c.status), { class: 'status', 'data-status': c.status, id: 'case-status' }),
    fact(t('col.category'), catName(c.category)),
    fact(t('col.priority'), fmtNumber(c.priority)),
    fact(t('col.area'), areaName(c.area)),
    fact(t('col.org'), orgName(c.org)),
    fact(t('col.created'), fmtDate(c.created_at)),
    fact(t('col.due'), [fmtDate(c.due_at), isOverdue(c) ? [' ', el('span', { class: 'badge overdue' }, t('overdue'))] : null]),
    fact(t('col.escalations'), fmtNumber(c.escalations)));
  $('case-description').textContent = [c.title, c.description].filter(Boolean).join(' — ');
  $('case-personal').hidden = !c.personal;
  if (c.personal) $('case-contact').textContent = c.personal.contact || t('case.nocontact');
  renderActions();
  renderEvents();
}

function renderActions() {
  const box = clear($('case-actions'));
  if (!kase.actions || !kase.actions.length) { box.append(el('p', {}, t('case.noactions'))); return; }
  kase.actions.forEach((a, i) => {
    const to = label('status', a.to);
    const parts = [];
    let reason = null;
    let value = null;
    if (a.needs_reason) {
      reason = el('textarea', { id: `act-${i}-reason`, rows: '2', maxlength: '2000' });
      parts.push(el('div', { class: 'field' }, el('label', { for: reason.id }, t('case.reason', { to })), reason));
    }
    if (a.data_key) {
      const id = `act-${i}-data`;
      const key = a.data_key.replace(/_/g, ' ');
      if (a.data_values && a.data_values.includes('|')) {
        value = el('select', { id }, a.data_values.split('|').map((v) => el('option', { value: v }, v.replace(/_/g, ' '))));
      } else if (a.data_values === 'case') {
        value = el('input', { id, type: 'number', min: '1', step: '1' });
      } else if (a.data_values === 'time') {
        value = el('input', { id, type: 'datetime-local' });
      } else {
        value = el('input', { id, type: 'text' });
      }
      parts.push(el('div', { class: 'field' }, el('label', { for: id }, t('case.data', { key, to })), value));
    }
    const button = el('button', { type: 'button', class: a.to === 'rejected' || a.to === 'duplicate' ? 'danger' : null,
      'data-to': a.to }, t('case.do', { to }));
    button.addEventListener('click', () => transition(a, reason, value, button));
    box.append(el('div', { class: 'action' }, ...parts, button));
  });
}

async function transition(a, reasonEl, valueEl, button) {
  $('case-error').textContent = '';
  const body = { to: a.to, version: kase.version };
  if (reasonEl) {
    const r = reasonEl.value.trim();
    if (!r) { $('case-error').textContent = t('case.reason.need'); reasonEl.focus(); return; }
    body.reason = r;
  }
  if (valueEl) {
    let v = valueEl.value.trim();
    if (!v) { $('case-error').textContent = t('case.data.need'); valueEl.focus(); return; }
    if (a.data_values === 'case') v = Number(v);
    else if (a.data_values === 'time') v = new Date(v).toISOString().replace(/\.\d{3}Z$/, 'Z');
    body.data = { [a.data_key]: v };
  }
  button.disabled = true;
  try {
    await api(`/api/v1/cases/${kase.id}/transitions`, { method: 'POST', body });
    await loadCase(kase.id, t('case.moved', { to: label('status', a.to) }));
    $('case-msg').focus?.();
  } catch (e) {
    if (e.status === 409) {
      await loadCase(kase.id);
      $('case-error').textContent = t('case.conflict');
    } else {
      $('case-error').textContent = errorText(e);
      button.disabled = false;
    }
  }
}

function renderEvents() {
  clear($('case-timeline')).append(...events.map((e) => el('li', {},
    el('time', { datetime: e.at }, fmtDate(e.at)), ' ',
    el('span', {}, t('case.ev', { kind: label('kind', e.kind), actor: e.actor ?? '', role: label('role', e.role) })),
    e.kind === 'transition' ? el('span', { class: 'detail' }, t('case.ev.transition', { from: label('status', e.from), to: label('status', e.to) })) : null,
    e.kind === 'created' ? el('span', { class: 'detail' }, label('status', e.to)) : null,
    e.reason ? el('span', { class: 'detail' }, e.kind === 'comment' ? t('case.ev.text', { text: e.reason }) : t('case.ev.reason', { reason: e.reason })) : null)));
}

async function comment(ev) {
  ev.preventDefault();
  const text = $('comment-text').value.trim();
  if (!text) { $('case-error').textContent = t('case.comment.need'); $('comment-text').focus(); return; }
  try {
    await api(`/api/v1/cases/${kase.id}/comments`, { method: 'POST', body: { text } });
    $('comment-text').value = '';
    await loadCase(kase.id, t('case.comment.added'));
  } catch (e) {
    $('case-error').textContent = errorText(e);
  }
}

/* ---- start ---------------------------------------------------------------------------- */

async function start() {
  bindLangSelect($('lang'));
  applyI18n();
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  $('comment-form').addEventListener('submit', comment);
  $('queue-clear').addEventListener('click', () => { areaFilter = null; loadQueue(); });
  $('queue-more').addEventListener('click', () => loadQueue(true));
  onLangChange(() => {
    renderWho();
    if (!me) return;
    if (!$('view-queue').hidden) renderQueue();
    if (!$('view-overdue').hidden) renderOverdue();
    if (!$('view-map').hidden) { renderTree(); renderLegend(); }
    if (!$('view-case').hidden) renderCase();
  });
  try {
    const who = await api('/api/v1/me');
    await signedIn(who);
  } catch (e) { me = null; }
  window.addEventListener('hashchange', route);
  route();
  document.body.dataset.ready = '1';
}

start();
