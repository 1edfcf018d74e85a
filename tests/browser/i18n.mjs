// The interface in Chinese and English (issue 17, point 1): both catalogues have the same keys
// and no empty value; with a zh-CN browser every view (login, projects, project, recording
// with the help overlay open, review, dashboard, concordance, schema, export, the admin page,
// the account page and an invite link opened logged out) shows no
// untranslated key (t() writes a missing one as ⟦key⟧) and no English UI word outside user
// data and codes; with en-US no Chinese UI string. Screenshots of each view in both languages
// go to target/screenshots/. Also: the header switch changes the language live and is
// remembered for the user, server errors are shown by their code in the user's language, and
// the export form's date filter is the local day (Asia/Shanghai: 8 hours before UTC midnight).
// Run: node tests/browser/i18n.mjs (after `cargo build`).

import fs from 'node:fs';
import path from 'node:path';
import {
  repo, assert, assertEq, startServer, apiClient, launch, loginContext, newContext, waitFor, runSteps,
  problems, watchProblems, expectProblem,
} from './harness.mjs';

const AUDIO = path.join(repo, 'fixtures/real/zh-funasr-binhai-query.wav');
// The catalogues are browser modules (web/ has no package.json): loaded as module text.
const catalogue = async (name) => (await import('data:text/javascript,' + encodeURIComponent(fs.readFileSync(path.join(repo, 'web/i18n', name), 'utf8')))).default;
const en = await catalogue('en.js');
const zh = await catalogue('zh-CN.js');
const SHOTS = path.join(repo, 'target', 'screenshots');
fs.mkdirSync(SHOTS, { recursive: true });

// Words allowed in the Chinese interface: codes, formats, key names and product names.
const ALLOWED = new Set(['CER', 'WER', 'ASR', 'IPA', 'CSV', 'JSON', 'API', 'HTTP', 'Kaldi', 'Hz', 'URL', 'UTF',
  'Tab', 'Enter', 'Shift', 'Alt', 'Ctrl', 'Esc', 'Delete', 'F1', 'OpenAI', 'POST', 'tar', 'gz', 'Cohen', 'renamed_from',
  'archived', 'true', 'zh', 'TextGrid', 'EAF', 'SRT', 'WebVTT', 'CTM', 'Whisper']);

/** What a page shows (visible text and placeholders), outside user data, codes and keys. */
function visibleText() {
  const skip = '[data-user], [translate="no"], code, kbd, script, style, textarea, option, svg title';
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(skip) || !n.nodeValue.trim()) continue;
    if (!el.checkVisibility({ checkVisibilityCSS: true }) || el.closest('[hidden]')) continue;
    out.push(n.nodeValue.trim());
  }
  // Options of a select: the translated ones (user data options carry data-user).
  for (const o of document.querySelectorAll('select option')) {
    if (o.closest('[data-user], [translate="no"]')) continue;
    if (o.closest('select').checkVisibility()) out.push(o.textContent.trim());
  }
  for (const el of document.querySelectorAll('input[placeholder], textarea[placeholder], [title], [aria-label]')) {
    if (el.closest('[data-user], [translate="no"]') || !el.checkVisibility()) continue;
    for (const a of ['placeholder', 'title', 'aria-label']) if (el.getAttribute(a)) out.push(el.getAttribute(a));
  }
  return out.filter(Boolean);
}

/** English words in Chinese UI text (codes, markers, file names, allowed words removed). */
function englishWords(texts) {
  const bad = [];
  for (const s of texts) {
    const cleaned = s.replace(/\[[^\]]*\]/g, ' ').replace(/\S*\w\.\w\S*/g, ' ').replace(/"[^"]*"/g, ' ');
    for (const w of cleaned.match(/[A-Za-z][A-Za-z_'-]+/g) || []) if (!ALLOWED.has(w)) bad.push(`${w} (in "${s.slice(0, 60)}")`);
  }
  return bad;
}

const HAN = /[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef\u{20000}-\u{3134f}]/u;

async function check(page, locale, view) {
  await page.waitForTimeout(300);
  const texts = await page.evaluate(visibleText);
  const missing = texts.filter((s) => s.includes('⟦'));
  assert(!missing.length, `${view} (${locale}): untranslated keys ${JSON.stringify(missing.slice(0, 8))}`);
  const all = await page.evaluate(() => document.body.innerText);
  assert(!all.includes('⟦'), `${view} (${locale}): an untranslated key in the page`);
  if (locale === 'zh-CN') {
    const words = englishWords(texts);
    assert(!words.length, `${view}: English UI words in the Chinese interface: ${words.slice(0, 12).join('; ')}`);
    assertEq(await page.evaluate(() => document.documentElement.lang), 'zh-CN', `${view}: <html lang>`);
  } else {
    const han = texts.filter((s) => HAN.test(s.replace(/\[[^\]]*\]/g, ' ')));
    assert(!han.length, `${view}: Chinese UI strings in the English interface: ${JSON.stringify(han.slice(0, 8))}`);
    assertEq(await page.evaluate(() => document.documentElement.lang), 'en', `${view}: <html lang>`);
  }
  await page.screenshot({ path: path.join(SHOTS, `i18n-${locale}-${view}.png`), fullPage: false });
}

const server = await startServer();
const { base } = server;
const admin = await apiClient(base, 'admin');
const tx = await apiClient(base, 'transcriber');
const rv = await apiClient(base, 'reviewer');
const projectId = (await admin.get('/api/projects')).data.projects.find((p) => p.name === 'proj').id;
const browser = await launch();
let recId;

const steps = [
  ['1 both catalogues have the same keys and no empty value', async () => {
    const a = Object.keys(en).sort();
    const b = Object.keys(zh).sort();
    assertEq(JSON.stringify(a.filter((k) => !(k in zh))), '[]', 'keys only in en');
    assertEq(JSON.stringify(b.filter((k) => !(k in en))), '[]', 'keys only in zh-CN');
    for (const [name, cat] of [['en', en], ['zh-CN', zh]]) {
      const empty = Object.entries(cat).filter(([, v]) => typeof v !== 'string' || !v.trim()).map(([k]) => k);
      assertEq(JSON.stringify(empty), '[]', `empty values in ${name}`);
    }
    // The same {placeholders} on both sides.
    const ph = (s) => (s.match(/\{\w+\}/g) || []).sort().join(',');
    const diff = a.filter((k) => ph(en[k]) !== ph(zh[k]));
    assertEq(JSON.stringify(diff), '[]', 'keys whose placeholders differ');
    // Every error code the server sends has a key (src: grep for the codes).
    const src = fs.readdirSync(path.join(repo, 'src'), { recursive: true }).filter((f) => f.endsWith('.rs'))
      .map((f) => fs.readFileSync(path.join(repo, 'src', f), 'utf8')).join('\n');
    const codes = new Set();
    const re = /(?:AppError::bad|InUse|Unavailable|code:|StatusCode::\w+,)\s*\(?\s*"([a-z][a-z_0-9]+)"/g;
    for (let m = re.exec(src); m; m = re.exec(src)) codes.add(m[1]);
    // The codes of the error enums with a `fn code(&self)` (ingest, ASR import, live ASR).
    for (const part of src.split('pub fn code(&self)').slice(1)) {
      for (const m of part.slice(0, part.indexOf('\n    }\n')).matchAll(/=>\s*"([a-z][a-z_0-9]+)"/g)) codes.add(m[1]);
    }
    const lacking = [...codes].filter((c) => !(`error.${c}` in en));
    assertEq(JSON.stringify(lacking), '[]', 'error codes without a catalogue key');
  }],

  ['2 data: a ready recording with ASR text, a submitted segment, a tagged span', async () => {
    const form = new FormData();
    form.append('file', new Blob([fs.readFileSync(AUDIO)]), 'binhai.wav');
    const r = await admin.post(`/api/projects/${projectId}/recordings`, form);
    assertEq(r.status, 202, 'upload accepted');
    recId = r.data.recording;
    await waitFor(async () => (await admin.get(`/api/recordings/${recId}`)).data.status === 'ready', 'ingest', 60000, 200);
    assertEq((await admin.post(`/api/projects/${projectId}/speakers`, { code: 'SPK01' })).status, 200, 'a speaker');
    const c = (await tx.post(`/api/projects/${projectId}/claim`, {})).data.segment;
    const saved = (await tx.put(`/api/segments/${c.id}`, { version: c.version, save_id: 'i18n-1', text_verbatim: '这个是我的滨海' })).data;
    const sub = await tx.post(`/api/segments/${c.id}/submit`, { version: saved.version });
    assertEq(sub.status, 200, 'submitted');
  }],

  ...['zh-CN', 'en-US'].map((browserLocale) => {
    const locale = browserLocale === 'en-US' ? 'en' : 'zh-CN';
    return [`3 every view in ${locale}`, async () => {
      // Logged out: the login page in the browser's language.
      const context = await newContext(browser, { locale: browserLocale });
      const page = await context.newPage();
      watchProblems(page, `login-${locale}`);
      await page.goto(base + '/');
      await page.waitForSelector('form.login');
      await check(page, locale, 'login');
      await context.close();

      const { context: c2, page: p } = await loginContext(browser, base, 'admin', { locale: browserLocale });
      await check(p, locale, 'projects');
      await p.goto(`${base}/#/p/${projectId}`);
      await p.waitForSelector('table.recordings tr[data-status=ready]');
      await check(p, locale, 'project');
      await p.goto(`${base}/#/r/${recId}`);
      await p.waitForSelector('canvas.timeline[data-painted]');
      await p.waitForSelector('li.seg.selected textarea.text');
      await check(p, locale, 'recording');
      await p.click('#help-button');
      await p.waitForSelector('#help');
      await check(p, locale, 'help');
      await p.keyboard.press('Escape');
      await p.goto(`${base}/#/p/${projectId}/review`);
      await p.waitForSelector('#review-list li.seg');
      await check(p, locale, 'review');
      await p.goto(`${base}/#/p/${projectId}/dashboard`);
      await p.waitForSelector('#feature-counts');
      await check(p, locale, 'dashboard');
      await p.goto(`${base}/#/p/${projectId}/concordance?text=${encodeURIComponent('滨海')}`);
      await p.waitForSelector('#kwic li.hit');
      await check(p, locale, 'concordance');
      await p.goto(`${base}/#/p/${projectId}/schema`);
      await p.waitForSelector('#schema-json');
      await check(p, locale, 'schema');
      await p.goto(`${base}/#/p/${projectId}/export`);
      await p.waitForSelector('#export-start');
      await check(p, locale, 'export');
      await p.goto(`${base}/#/admin`);
      await p.waitForSelector('#users tr[data-name=transcriber]');
      await check(p, locale, 'admin');
      await p.goto(`${base}/#/account`);
      await p.waitForSelector('#password-form');
      await check(p, locale, 'account');
      await c2.close();

      // An invite link, opened by someone not logged in.
      const { token } = (await admin.post(`/api/projects/${projectId}/invites`, { role: 'transcriber' })).data;
      const c3 = await newContext(browser, { locale: browserLocale });
      const p3 = await c3.newPage();
      watchProblems(p3, `invite-${locale}`);
      await p3.goto(`${base}/#/invite/${token}`);
      await p3.waitForSelector('#invite-offer');
      await check(p3, locale, 'invite');
      await c3.close();
    }];
  }),

  ['4 the header switch changes the language live and is remembered for the user', async () => {
    const { context, page } = await loginContext(browser, base, 'transcriber');
    await page.goto(`${base}/#/p/${projectId}`);
    await page.waitForSelector('#claim-next');
    assert((await page.textContent('#claim-next')).startsWith('Claim next'), 'English first');
    await page.selectOption('#lang', 'zh-CN');
    await waitFor(async () => (await page.textContent('#claim-next')).startsWith('认领下一条'), 'the page re-rendered in Chinese');
    assertEq(await page.evaluate(() => document.documentElement.lang), 'zh-CN', '<html lang> follows');
    assertEq(await page.textContent('#logout'), '退出登录', 'the header too');
    await page.reload();
    await page.waitForSelector('#claim-next');
    assert((await page.textContent('#claim-next')).startsWith('认领下一条'), 'remembered after a reload');
    // Another user in the same browser keeps their own choice (the browser default follows the last choice).
    const id = (await tx.get('/api/me')).data.id;
    assertEq(await page.evaluate((k) => localStorage.getItem(k), `fangyan.locale.${id}`), 'zh-CN', 'stored for the user');
    // A server error by its code, in Chinese: a reviewer comment-less rejection is refused by the
    // page itself, so use the login form's bad_credentials instead.
    await page.click('#logout');
    await page.waitForSelector('form.login');
    assertEq(await page.textContent('form.login h1'), '登录', 'the login page in the chosen language');
    await page.fill('input[name=name]', 'transcriber');
    await page.fill('input[name=password]', 'wrong');
    await page.click('form.login button[type=submit]');
    await waitFor(async () => (await page.textContent('form.login .error')) === zh['error.bad_credentials'], 'the error in Chinese');
    assert(expectProblem(/transcriber: (HTTP 401 POST .*\/api\/login|console error: Failed to load resource.*401)/) >= 1, 'the wrong password was refused (on purpose)');
    await context.close();
  }],

  ['5 the export date filter is the local day (Asia/Shanghai)', async () => {
    const { context, page } = await loginContext(browser, base, 'admin', { timezoneId: 'Asia/Shanghai' });
    await page.goto(`${base}/#/p/${projectId}/export`);
    await page.waitForSelector('#export-start');
    let body = null;
    await page.route('**/api/projects/*/exports', async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      body = route.request().postDataJSON();
      return route.fulfill({ status: 200, contentType: 'application/json', body: '{"export":0}' });
    });
    await page.fill('#export-from', '2026-03-01');
    await page.fill('#export-to', '2026-03-02');
    await page.click('#export-start');
    await waitFor(() => body, 'the export request');
    assertEq(body.filters.from_ms, Date.UTC(2026, 1, 28, 16), 'from: local midnight of 1 March in Shanghai (16:00 UTC the day before)');
    assertEq(body.filters.to_ms, Date.UTC(2026, 2, 2, 16), 'to: the end of 2 March in Shanghai');
    await context.close();
  }],

  ['6 no console errors and no failed requests', async () => {
    assertEq(JSON.stringify(problems, null, 1), '[]', 'problems');
  }],
];

const results = await runSteps(steps, browser);
await browser.close();
server.stop();
const failed = results.filter((r) => r[1] !== 'ok');
console.log(`\ni18n browser tests: ${results.length - failed.length} passed, ${failed.length} failed; screenshots in ${path.relative(process.cwd(), SHOTS)}`);
if (failed.length) {
  const err = server.stderr();
  if (err) console.log('server log (tail):\n' + err.slice(-3000));
  process.exit(1);
}
