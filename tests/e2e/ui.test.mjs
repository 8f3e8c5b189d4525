// The web UI driven as people use it, in Debian's headless Chromium (playwright-core):
// a member of the public reads the statistics, reports a pothole (seeing the reports
// already made nearby) and follows it by its tracking code; a caseworker signs in and
// works it to resolution with only the buttons the API offers, adding a comment; the
// reporter says it is fixed and rates it; the public count has grown by one. The page is
// also read in Chinese, the supervisor's views are opened, and axe-core checks every page
// (no serious or critical violation). Each page's screenshot is saved under
// build/e2e-screenshots/. Run by tests/e2e/run.sh, which starts the server; the last line
// is "e2e: N passed, N failed".
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BASE = process.env.E2E_BASE || 'http://127.0.0.1:8080/';
const SHOTS = path.join(root, 'build/e2e-screenshots');
const AXE = readFileSync(path.join(root, 'node_modules/axe-core/axe.min.js'), 'utf8');
const CENTRE = 'center=-19.919,-43.938&zoom=16'; // Praça Sete, in the CENTRO area (642)
const MONTH = new Date().toISOString().slice(0, 7);
const TIMEOUT = 10000;

rmSync(SHOTS, { recursive: true, force: true });
mkdirSync(SHOTS, { recursive: true });

let passed = 0;
let failed = 0;
let stop = false;
const axeSummary = [];

// One named check; after a failure the rest depend on state that is not there, so they
// are counted as failed without running.
async function step(name, fn) {
  if (stop) { failed++; console.log(`not ok - ${name} (skipped after an earlier failure)`); return; }
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok - ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    stop = true;
    if (errors.length) console.log(`  script errors so far: ${errors.join(' | ')}`);
    for (const [i, p] of openPages.entries()) await p.screenshot({ path: path.join(SHOTS, `FAILED-${i}.png`), fullPage: true }).catch(() => {});
    console.log(`not ok - ${name}\n  ${String(e && e.stack || e).split('\n').slice(0, 6).join('\n  ')}`);
  }
}

function expect(cond, what) { if (!cond) throw new Error(`expected ${what}`); }

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

// axe-core on the page as it is now; fails on serious or critical violations.
async function axe(page, name) {
  await page.addScriptTag({ content: AXE });
  const r = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const res = await axe.run(document, { resultTypes: ['violations'] });
    return res.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length,
      targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = r.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  axeSummary.push({ page: name, violations: r.length, serious: bad.length,
    other: r.filter((v) => !bad.includes(v)).map((v) => `${v.id}(${v.impact})`) });
  if (bad.length) throw new Error(`axe on ${name}: ${JSON.stringify(bad)}`);
}

async function ready(page) {
  await page.waitForSelector('body[data-ready="1"]', { timeout: TIMEOUT });
}

async function monthlyCount(page) {
  const cell = page.locator(`#s-monthly tr[data-category="pothole"][data-month="${MONTH}"] td.count`);
  await cell.waitFor({ timeout: TIMEOUT });
  return (await cell.textContent()).trim();
}

// The buttons the case page shows, against the moves the API offers this role now.
async function checkButtonsMatchApi(page, id) {
  const api = await (await page.request.get(`${BASE}api/v1/cases/${id}`)).json();
  const want = api.actions.map((a) => a.to).sort();
  await page.waitForFunction((n) => document.querySelectorAll('#case-actions button[data-to]').length === n,
    want.length, { timeout: TIMEOUT });
  const got = (await page.locator('#case-actions button[data-to]').evaluateAll((bs) => bs.map((b) => b.dataset.to))).sort();
  expect(JSON.stringify(got) === JSON.stringify(want), `buttons ${got} to be the API's actions ${want}`);
  return api;
}

const browser = await chromium.launch({
  executablePath: process.env.E2E_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
// The page's own CSP forbids inline scripts, and axe is injected as one: the test
// contexts bypass the CSP for that. One context, without the bypass, checks that the pages
// work under the CSP the server sends.
const ctxOpts = { viewport: { width: 1280, height: 900 }, bypassCSP: true, locale: 'en-GB' };
const errors = [];
const openPages = [];
function watch(page) {
  openPages.push(page);
  page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !/favicon/.test(m.location()?.url || '')) errors.push(`${page.url()}: ${m.text()}`); });
}

let code = null;
let code2 = null;
let caseId = null;
let before = null;

const pub = await browser.newContext(ctxOpts);
const page = await pub.newPage();
watch(page);

await step('the pages load under the server\'s CSP without errors', async () => {
  const strict = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const p = await strict.newPage();
  const errs = [];
  p.on('pageerror', (e) => errs.push(e.message));
  p.on('console', (m) => { if (m.type() === 'error') errs.push(m.text()); });
  for (const u of [`${BASE}?${CENTRE}#report`, `${BASE}#stats`, `${BASE}staff.html`]) {
    const res = await p.goto(u);
    expect(/default-src 'self'/.test(res.headers()['content-security-policy'] || ''), 'a CSP header');
    await ready(p);
  }
  await strict.close();
  const real = errs.filter((e) => !/favicon|404|401/.test(e));
  expect(real.length === 0, `no errors, got ${real.join('; ')}`);
});

await step('public statistics show the published count before the report', async () => {
  await page.goto(`${BASE}#stats`);
  await ready(page);
  before = await monthlyCount(page);
  expect(before === '5', `count 5 before, got "${before}"`);
  await page.waitForSelector('#s-chart .uplot', { timeout: TIMEOUT });
  await shot(page, '01-public-stats-before');
  await axe(page, 'public statistics');
});

await step('the report page: keyboard starts at the skip link, the map shows the areas', async () => {
  await page.goto(`${BASE}?${CENTRE}#report`);
  await ready(page);
  await page.waitForSelector('#report-map path.leaflet-interactive', { state: 'attached', timeout: TIMEOUT });
  await page.keyboard.press('Tab');
  expect(await page.evaluate(() => document.activeElement.classList.contains('skip')), 'the skip link to take focus first');
  await page.keyboard.press('Enter');
  expect(await page.evaluate(() => document.activeElement.id === 'main'), 'the skip link to move focus to main');
  await shot(page, '02-report-empty');
  await axe(page, 'report (empty)');
});

await step('a member of the public picks a category, clicks the map and sees the nearby hint', async () => {
  await page.selectOption('#r-category', 'pothole');
  const box = await page.locator('#report-map').boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  const lat = Number(await page.inputValue('#r-lat'));
  const lon = Number(await page.inputValue('#r-lon'));
  expect(Math.abs(lat + 19.919) < 0.001 && Math.abs(lon + 43.938) < 0.001, `the clicked place near the centre, got ${lat},${lon}`);
  await page.waitForSelector('#nearby:not([hidden]) #nearby-list li', { timeout: TIMEOUT });
  const n = await page.locator('#nearby-list li').count();
  expect(n === 5, `the five earlier reports in the hint, got ${n}`);
  const text = await page.textContent('#nearby-text');
  expect(/5 open reports/.test(text), `the hint to say 5 open reports, got "${text}"`);
  // Too long a description, and a contact that is no e-mail address, are refused with a
  // message; nothing is cut or sent.
  await page.fill('#r-description', 'x'.repeat(4001));
  await page.click('#report-form button[type=submit]');
  await page.waitForSelector('#report-error:text("4,001 characters")', { timeout: TIMEOUT });
  expect((await page.inputValue('#r-description')).length === 4001, 'the long description kept whole');
  await page.fill('#r-description', 'Deep pothole in the right lane, in front of the bank');
  await page.fill('#r-contact', 'not an email');
  await page.click('#report-form button[type=submit]');
  await page.waitForSelector('#report-error:text("not an e-mail address")', { timeout: TIMEOUT });
  expect(await page.locator('#report-done').isHidden(), 'nothing sent');
  await page.fill('#r-contact', 'reporter@example.org');
  expect((await page.textContent('#report-error')) === '', 'the message gone once the field is corrected');
  await shot(page, '03-report-nearby-hint');
  await axe(page, 'report (filled, nearby hint)');
});

await step('the report is sent and a tracking code is shown', async () => {
  await page.click('#report-form button[type=submit]');
  await page.waitForSelector('#report-done:not([hidden])', { timeout: TIMEOUT });
  code = (await page.textContent('#done-code')).trim();
  expect(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/.test(code), `a tracking code, got "${code}"`);
  await shot(page, '04-report-sent');
  await axe(page, 'report (sent)');
});

await step('the reporter follows the report by its code', async () => {
  await page.click('#done-link');
  await page.waitForSelector('#track-result:not([hidden])', { timeout: TIMEOUT });
  expect((await page.getAttribute('#t-status', 'data-status')) === 'submitted', 'status submitted');
  expect((await page.textContent('#t-category')).trim() === 'Pothole', 'the category name');
  expect(await page.locator('#fb-form').isHidden(), 'no feedback form before it is resolved');
  // The same by typing the code in the form, in lower case without the dash.
  await page.goto(`${BASE}#track`);
  await ready(page);
  await page.fill('#t-code', code.replace('-', '').toLowerCase());
  await page.press('#t-code', 'Enter');
  await page.waitForSelector('#track-result:not([hidden])', { timeout: TIMEOUT });
  expect((await page.locator('#t-timeline li').count()) === 1, 'one event in the timeline');
  await shot(page, '05-track-submitted');
  await axe(page, 'track');
});

const staffCtx = await browser.newContext(ctxOpts);
const staff = await staffCtx.newPage();
watch(staff);

await step('a caseworker signs in and finds the report in the queue', async () => {
  await staff.goto(`${BASE}staff.html`);
  await ready(staff);
  await staff.waitForSelector('#view-login:not([hidden])', { timeout: TIMEOUT });
  await shot(staff, '06-staff-login');
  await axe(staff, 'staff sign-in');
  await staff.fill('#l-name', 'cw_centro');
  await staff.fill('#l-password', 'wrong password!');
  await staff.press('#l-password', 'Enter');
  await staff.waitForSelector('#login-error:text("Wrong name or password.")', { timeout: TIMEOUT });
  await staff.fill('#l-password', 'caseworker-e2e-pass');
  await staff.press('#l-password', 'Enter');
  await staff.waitForSelector(`#queue-table tr[data-code="${code}"]`, { timeout: TIMEOUT });
  const rows = await staff.locator('#queue-table tbody tr').count();
  expect(rows === 6, `six open cases in the queue, got ${rows}`);
  caseId = Number(await staff.getAttribute(`#queue-table tr[data-code="${code}"]`, 'data-id'));
  await shot(staff, '07-staff-queue');
  await axe(staff, 'staff queue');
});

await step('the case page shows the contact, the map and only the API\'s actions', async () => {
  await staff.click(`#queue-table tr[data-code="${code}"] a`);
  await staff.waitForSelector('#case-status[data-status="submitted"]', { timeout: TIMEOUT });
  expect((await staff.textContent('#case-contact')).trim() === 'reporter@example.org', 'the reporter\'s contact');
  await staff.waitForSelector('#case-map path.leaflet-interactive', { state: 'attached', timeout: TIMEOUT });
  const api = await checkButtonsMatchApi(staff, caseId);
  expect(api.actions.some((a) => a.to === 'accepted'), 'accept among the actions');
  await staff.fill('#comment-text', 'Crew booked for Thursday morning.');
  await staff.click('#comment-form button[type=submit]');
  await staff.waitForSelector('#case-timeline li:has-text("Crew booked for Thursday morning.")', { timeout: TIMEOUT });
  await shot(staff, '08-staff-case-submitted');
  await axe(staff, 'staff case');
});

for (const to of ['accepted', 'in_progress', 'resolved']) {
  await step(`the caseworker moves the case to ${to} with the offered button`, async () => {
    const api = await checkButtonsMatchApi(staff, caseId);
    expect(api.actions.some((a) => a.to === to), `${to} to be offered`);
    await staff.click(`#case-actions button[data-to="${to}"]`);
    await staff.waitForSelector(`#case-status[data-status="${to}"]`, { timeout: TIMEOUT });
    if (to === 'resolved') {
      await checkButtonsMatchApi(staff, caseId);
      await shot(staff, '09-staff-case-resolved');
      await axe(staff, 'staff case (resolved)');
    }
  });
}

await step('the area map colours the grid and the area tree counts open cases', async () => {
  await staff.click('#staff-nav a[href="#map"]');
  await staff.waitForSelector('#areas-map path.leaflet-interactive', { state: 'attached', timeout: TIMEOUT });
  await staff.waitForSelector('#area-tree li', { timeout: TIMEOUT });
  const text = await staff.textContent('#area-tree');
  expect(/CENTRO/.test(text) && /6 open/.test(text), `CENTRO with its 6 open cases in the tree, got "${text.slice(0, 200)}"`);
  // 240 neighbourhoods and the 6 open cases of CENTRO as points.
  await staff.waitForFunction(() => document.querySelectorAll('#areas-map path.leaflet-interactive').length === 246, null, { timeout: TIMEOUT });
  await shot(staff, '10-staff-area-map');
  await axe(staff, 'staff area map');
  await staff.click('#area-tree button');
  await staff.waitForSelector('#view-queue:not([hidden]) #queue-table tbody tr', { timeout: TIMEOUT });
});

await step('a supervisor sees overdue and escalated work across the city', async () => {
  const ctx = await browser.newContext(ctxOpts);
  const sp = await ctx.newPage();
  watch(sp);
  await sp.goto(`${BASE}staff.html#overdue`);
  await ready(sp);
  await sp.fill('#l-name', 'sup_city');
  await sp.fill('#l-password', 'supervisor-e2e-pass');
  await sp.click('#login-form button[type=submit]');
  await sp.waitForSelector('#view-overdue:not([hidden]) #overdue-table tbody tr.overdue', { timeout: TIMEOUT });
  const rows = await sp.locator('#overdue-table tbody tr.overdue').count();
  const text = await sp.textContent('#overdue-table tbody');
  expect(rows === 1 && /SANTO AGOSTINHO/.test(text) && /Street light out/.test(text), `the overdue street light, got ${rows} rows: ${text.slice(0, 200)}`);
  await shot(sp, '11-supervisor-overdue');
  await axe(sp, 'supervisor overdue');
  // The overdue case's facts: its due date followed by the "overdue" badge (an array of
  // nodes inside an array was once written out as "[object HTMLSpanElement]").
  await sp.click('#overdue-table tbody tr.overdue a.code');
  await sp.waitForSelector('#view-case:not([hidden]) #case-facts .badge.overdue', { timeout: TIMEOUT });
  const facts = await sp.textContent('#case-facts');
  expect(!/\[object /.test(facts) && /overdue/.test(facts), `the due date and its badge, got "${facts.slice(0, 300)}"`);
  await sp.click('#logout');
  await sp.waitForSelector('#view-login:not([hidden])', { timeout: TIMEOUT });
  await ctx.close();
});

await step('the reporter says it is fixed and rates it on the tracking page', async () => {
  await page.goto(`${BASE}#track/${code}`);
  await ready(page);
  await page.waitForSelector('#t-status[data-status="resolved"]', { timeout: TIMEOUT });
  await page.waitForSelector('#fb-form:not([hidden])', { timeout: TIMEOUT });
  await page.check('input[name=fixed][value=yes]');
  await page.check('input[name=rating][value="4"]');
  await shot(page, '12-track-feedback');
  await axe(page, 'track (feedback form)');
  await page.click('#fb-form button[type=submit]');
  await page.waitForSelector('#t-status[data-status="closed"]', { timeout: TIMEOUT });
  expect((await page.textContent('#fb-done')).includes('closed'), 'the thanks message');
  expect(await page.locator('#fb-form').isHidden(), 'the form gone once closed');
  const n = await page.locator('#t-timeline li').count();
  expect(n === 6, `six public events (created, comment, 4 moves), got ${n}`);
  await shot(page, '13-track-closed');
});

await step('the public statistics count the new report', async () => {
  await page.goto(`${BASE}#stats`);
  await ready(page);
  const after = await monthlyCount(page);
  expect(after === '6', `count 6 after (was ${before}), got "${after}"`);
  await shot(page, '14-public-stats-after');
});

await step('a report made with the keyboard alone', async () => {
  await page.goto(`${BASE}?${CENTRE}#report`);
  await ready(page);
  await page.waitForSelector('#report-map path.leaflet-interactive', { state: 'attached', timeout: TIMEOUT });
  const tabTo = async (id) => {
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate((x) => document.activeElement && document.activeElement.id === x, id)) return;
    }
    throw new Error(`Tab never reached #${id}`);
  };
  await tabTo('r-category');
  await page.keyboard.press('ArrowDown'); // the first kind after "Choose…"
  expect((await page.inputValue('#r-category')) !== '', 'a kind chosen with the arrow key');
  await tabTo('r-usecentre');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#nearby-list li', { timeout: TIMEOUT });
  expect(Math.abs(Number(await page.inputValue('#r-lat')) + 19.919) < 0.001, 'the map centre as the place');
  await tabTo('r-description');
  await page.keyboard.type('Street light out at the corner, all night');
  await tabTo('r-contact');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#report-done:not([hidden])', { timeout: TIMEOUT });
  expect(await page.evaluate(() => document.activeElement.id === 'report-done'), 'focus on the confirmation');
  code2 = (await page.textContent('#done-code')).trim();
});

await step('a report that is not fixed is reopened, with the reporter\'s reason', async () => {
  await staff.goto(`${BASE}staff.html?reload=1#queue`); // a new load: the session cookie stays
  await ready(staff);
  await staff.click(`#queue-table tr[data-code="${code2}"] a`);
  for (const to of ['accepted', 'in_progress', 'resolved']) {
    await checkButtonsMatchApi(staff, Number(staff.url().split('/').pop()));
    await staff.click(`#case-actions button[data-to="${to}"]`);
    await staff.waitForSelector(`#case-status[data-status="${to}"]`, { timeout: TIMEOUT });
  }
  await page.goto(`${BASE}#track/${code2}`);
  await ready(page);
  await page.waitForSelector('#fb-form:not([hidden])', { timeout: TIMEOUT });
  await page.check('input[name=fixed][value=no]');
  await page.check('input[name=rating][value="2"]');
  await page.click('#fb-form button[type=submit]');
  expect((await page.textContent('#fb-error')).includes('still wrong'), 'a reason asked for');
  await page.fill('#fb-reason', 'The light is still out every night.');
  await page.click('#fb-form button[type=submit]');
  await page.waitForSelector('#t-status[data-status="reopened"]', { timeout: TIMEOUT });
  expect((await page.textContent('#fb-done')).includes('reopened'), 'the reopened message');
  await shot(page, '15-track-reopened');
});

await step('the page switches to Simplified Chinese and keeps the choice', async () => {
  await page.goto(`${BASE}?${CENTRE}#report`);
  await ready(page);
  await page.waitForSelector('#report-map path.leaflet-interactive', { state: 'attached', timeout: TIMEOUT });
  await page.selectOption('#lang', 'zh');
  await page.waitForSelector('header nav a[href="#report"]:text("反映问题")', { timeout: TIMEOUT });
  expect((await page.getAttribute('html', 'lang')) === 'zh-Hans', 'html lang zh-Hans');
  expect((await page.textContent('#report-form button[type=submit]')).trim() === '提交', 'the submit button in Chinese');
  expect((await page.getAttribute('#report-map .leaflet-control-zoom-in', 'title')) === '放大', 'the map\'s zoom button in Chinese');
  await page.selectOption('#r-category', 'pothole');
  await page.click('#r-usecentre');
  await page.waitForSelector('#nearby-list li', { timeout: TIMEOUT });
  await shot(page, '16-report-zh');
  await axe(page, 'report (zh)');
  await page.goto(`${BASE}#stats`);
  await ready(page);
  expect((await page.textContent('#stats-h')).trim() === '公开统计', 'the choice kept after a reload');
  const month = await page.textContent(`#s-monthly tr[data-month="${MONTH}"] td:nth-child(2)`);
  expect(/年/.test(month), `the month in Chinese, got "${month}"`);
  await shot(page, '17-stats-zh');
  await axe(page, 'statistics (zh)');
  await page.selectOption('#lang', 'en');
});

await step('on a phone: the map before the form, no sign-out before signing in, a queue that fits', async () => {
  const ctx = await browser.newContext({ ...ctxOpts, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const ph = await ctx.newPage();
  watch(ph);
  await ph.goto(`${BASE}?${CENTRE}#report`);
  await ready(ph);
  const mapBox = await ph.locator('#report-map').boundingBox();
  const sendBox = await ph.locator('#report-form button[type=submit]').boundingBox();
  expect(mapBox.y < sendBox.y, `the map (y ${mapBox.y}) above "Send report" (y ${sendBox.y})`);
  await shot(ph, '18-phone-report');
  await ph.goto(`${BASE}staff.html`);
  await ready(ph);
  await ph.waitForSelector('#view-login:not([hidden])', { timeout: TIMEOUT });
  expect(!(await ph.locator('#logout').isVisible()), 'no "Sign out" before anyone signs in');
  await ph.fill('#l-name', 'cw_centro');
  await ph.fill('#l-password', 'caseworker-e2e-pass');
  await ph.press('#l-password', 'Enter');
  await ph.waitForSelector('#view-queue:not([hidden]) #queue-table tbody tr', { timeout: TIMEOUT });
  expect(await ph.locator('#logout').isVisible(), '"Sign out" once signed in');
  const width = await ph.evaluate(() => document.documentElement.scrollWidth);
  expect(width <= 390, `the page no wider than the phone, got ${width} px`);
  await shot(ph, '19-phone-queue');
  await ctx.close();
});

await step('no script errors on any page', async () => {
  const real = errors.filter((e) => !/favicon/.test(e) && !/status of 401/.test(e));
  expect(real.length === 0, `no errors, got: ${real.join(' | ')}`);
});

await browser.close();
console.log('axe-core, violations per page (serious or critical fail the test):');
for (const a of axeSummary) console.log(`  ${a.page}: ${a.violations} (${a.serious} serious or critical)${a.other.length ? ' ' + a.other.join(', ') : ''}`);
console.log(`screenshots: ${path.relative(root, SHOTS)}/`);
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
