// Zero lost keystrokes (issue 16), in Debian's Chromium against the real server:
//  durable per-user outbox in IndexedDB · the server killed while typing in three segments and
//  restarted 20 s later · the session deleted server-side while edits are queued (re-login in
//  place, original save ids) · a shared computer (A's offline queue never saved as B) · two tabs
//  offline · a storage quota error · an input method composing for 10 s · the header's states
//  and the prompt before closing with unsent edits · undo of a split and the history panel · a
//  soak of random edits, offline spells, reloads and server restarts.
// Run: node tests/browser/outbox.mjs (after `cargo build`). FANGYAN_SOAK_SECS sets the soak's
// length (120 by default, as CI runs it; the full soak is 1800).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  repo, shots, assert, assertEq, startServer, apiClient, launch, loginContext, waitFor, runSteps,
  problems, watchProblems, expectProblem,
} from './harness.mjs';

const AUDIO = path.join(repo, 'fixtures/real/en-librispeech-1995-1837-0001.wav');
const SOAK_SECS = +(process.env.FANGYAN_SOAK_SECS || 120);
const SEGMENTS = 28;

fs.mkdirSync(shots, { recursive: true });
let server = await startServer();
const { base, data } = server;
const port = +new URL(base).port;
const admin = await apiClient(base, 'admin');
const projectId = (await admin.get('/api/projects')).data.projects.find((p) => p.name === 'proj').id;
const userId = {};
for (const name of ['admin', 'transcriber']) userId[name] = (await (await apiClient(base, name)).get('/api/me')).data.id;

const browser = await launch();
let recId;
let segIds = [];
const free = () => segIds.shift();

// ---- helpers ----------------------------------------------------------------------------------
const shot = (p, name) => p.screenshot({ path: path.join(shots, name + '.png') });
const segment = async (id) => (await admin.get(`/api/segments/${id}`)).data;
const revisions = async (id) => (await admin.get(`/api/segments/${id}/revisions`)).data.revisions;
const headerState = (p) => p.evaluate(() => document.getElementById('save-status').dataset.state);
const saved = (p, timeout = 30000) => waitFor(async () => (await headerState(p)) === 'saved', 'the header to say saved', timeout);
async function openSegment(p, id) {
  await p.goto(`${base}/#/r/${recId}/s/${id}`);
  await p.waitForSelector(`li.seg.selected[data-id="${id}"] textarea.text`);
}
async function select(p, id) {
  await p.click(`li.seg[data-id="${id}"] .when`);
  await p.waitForSelector(`li.seg.selected[data-id="${id}"] textarea.text`);
  await p.evaluate(() => window.__fangyan.audio.pause());
}
async function typeInto(p, value, { replace = true } = {}) {
  await p.click('li.seg.selected textarea.text');
  await p.keyboard.press(replace ? 'Control+A' : 'End');
  await p.keyboard.type(value);
}
/** The outbox's stored entries in this page's origin (IndexedDB "fangyan", store "outbox"). */
const stored = (p) => p.evaluate(() => new Promise((resolve, reject) => {
  const req = indexedDB.open('fangyan');
  req.onerror = () => reject(req.error);
  req.onsuccess = () => {
    const db = req.result;
    if (!db.objectStoreNames.contains('outbox')) { db.close(); resolve([]); return; }
    const all = db.transaction('outbox').objectStore('outbox').getAll();
    all.onsuccess = () => { db.close(); resolve(all.result); };
    all.onerror = () => reject(all.error);
  };
}));
/** Save ids the page sends to PUT /api/segments/{id}, per segment. */
function watchSaves(p) {
  const sent = new Map();
  p.on('request', (r) => {
    const m = r.url().match(/\/api\/segments\/(\d+)$/);
    if (!m || r.method() !== 'PUT') return;
    const body = JSON.parse(r.postData() || '{}');
    if (!sent.has(+m[1])) sent.set(+m[1], new Set());
    sent.get(+m[1]).add(body.save_id);
  });
  return sent;
}
function sql(statement) {
  const r = spawnSync('sqlite3', ['-cmd', '.timeout 5000', path.join(data, 'fangyan.sqlite'), statement], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sqlite3: ${r.stderr}`);
  return r.stdout;
}
// What fails on purpose: requests made while the test holds the browser offline, or while it
// has the server killed (refused; reset, closed or unanswered when killed mid-request).
const OFFLINE = /^transcriber[\w-]*: (request failed: \w+ \S+ |console error: Failed to load resource: )net::ERR_INTERNET_DISCONNECTED$/;
const SERVER_DOWN = /^transcriber[\w-]*: (request failed: \w+ \S+ |console error: Failed to load resource: )net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|CONNECTION_CLOSED|EMPTY_RESPONSE|SOCKET_NOT_CONNECTED)$/;
const CONFLICT = /^transcriber[\w-]*: (HTTP 409 PUT \S+\/api\/segments\/\d+|console error: Failed to load resource: the server responded with a status of 409 \(Conflict\))$/;
async function restart(downMs) {
  server.proc.kill('SIGKILL');
  await new Promise((r) => server.proc.once('exit', r));
  await new Promise((r) => setTimeout(r, downMs));
  server = await startServer({ data, port });
}

const steps = [
  ['0 a ready recording with empty segments', async () => {
    const form = new FormData();
    form.append('file', new Blob([fs.readFileSync(AUDIO)]), 'speech.wav');
    const r = await admin.post(`/api/projects/${projectId}/recordings`, form);
    assertEq(r.status, 202, 'upload accepted');
    recId = r.data.recording;
    await waitFor(async () => (await admin.get(`/api/recordings/${recId}`)).data.status === 'ready', 'ingest', 60000, 200);
    const rec = (await admin.get(`/api/recordings/${recId}`)).data;
    const len = Math.floor(rec.samples / SEGMENTS);
    for (const s of (await admin.get(`/api/recordings/${recId}/segments`)).data.segments) {
      await fetch(`${base}/api/segments/${s.id}?version=${s.version}&save_id=prep-${s.id}`, { method: 'DELETE', headers: { cookie: admin.cookie, origin: base } });
    }
    for (let i = 0; i < SEGMENTS; i++) {
      const made = await admin.post(`/api/recordings/${recId}/segments`, { start_sample: i * len, end_sample: (i + 1) * len, text_verbatim: '' });
      assertEq(made.status, 200, 'segment created');
      segIds.push(made.data.id);
    }
  }],

  ['1 the outbox is in IndexedDB, keyed by user and origin, and outlives its tab', async () => {
    const { context, page } = await loginContext(browser, base, 'transcriber');
    const id = free();
    await openSegment(page, id);
    await context.setOffline(true);
    await typeInto(page, '离线一');
    await waitFor(async () => (await stored(page)).some((e) => e.fields.text_verbatim === '离线一'), 'the edit in IndexedDB');
    const [e] = (await stored(page)).filter((x) => x.seg === id);
    assertEq(e.owner, `${base}|${userId.transcriber}`, 'the entry is keyed by origin and user');
    assertEq(await page.evaluate(() => localStorage.getItem('fangyan.outbox.v1')), null, 'nothing in localStorage');
    // The tab goes away without a chance to send (a crash); a new tab of the profile sends it.
    await page.close();
    await context.setOffline(false);
    const again = await context.newPage();
    watchProblems(again, 'transcriber-tab2');
    await openSegment(again, id);
    await saved(again);
    const hits = (await revisions(id)).filter((r) => r.save_id === e.save_id);
    assertEq(hits.length, 1, 'the closed tab\'s edit lands once, with its save id');
    assertEq((await segment(id)).text_verbatim, '离线一', 'the text is on the server');
    expectProblem(OFFLINE);
    await context.close();
  }],

  ['2 the header counts pending, saving, saved and offline; closing with unsent edits asks', async () => {
    const { context, page } = await loginContext(browser, base, 'transcriber');
    const [a, b] = [free(), free()];
    await openSegment(page, a);
    await page.evaluate(() => {
      window.__states = [];
      const el = document.getElementById('save-status');
      new MutationObserver(() => window.__states.push(el.dataset.state)).observe(el, { attributes: true });
    });
    await typeInto(page, '计数');
    await saved(page);
    const seen = await page.evaluate(() => window.__states);
    assert(seen.includes('pending') && seen.includes('saving'), `pending and saving were shown (${[...new Set(seen)]})`);
    await context.setOffline(true);
    await typeInto(page, '计数二');
    await select(page, b);
    await typeInto(page, '计数三');
    await waitFor(async () => (await headerState(page)) === 'offline', 'offline');
    assertEq(await page.getAttribute('#save-status', 'data-count'), '2', 'two changes are counted');
    assert((await page.textContent('#save-status')).includes('2'), 'the count is in the label');
    await shot(page, 'outbox-02-offline-count');
    let asked = null;
    page.on('dialog', (d) => { asked = d.type(); d.dismiss(); });
    await page.close({ runBeforeUnload: true });
    await waitFor(() => asked, 'the beforeunload prompt', 5000);
    assertEq(asked, 'beforeunload', 'closing with unsent edits asks first');
    await context.setOffline(false);
    const again = await context.newPage();
    watchProblems(again, 'transcriber-tab2');
    await openSegment(again, a);
    await saved(again);
    assertEq((await segment(a)).text_verbatim, '计数二', 'the first offline edit landed');
    assertEq((await segment(b)).text_verbatim, '计数三', 'the second offline edit landed');
    expectProblem(OFFLINE);
    await context.close();
  }],

  ['3 kill the server while typing in three segments; restart it 20 s later', async () => {
    const { context, page } = await loginContext(browser, base, 'transcriber');
    const ids = [free(), free(), free()];
    const sent = watchSaves(page);
    const before = new Map();
    for (const id of ids) before.set(id, (await revisions(id)).length);
    await openSegment(page, ids[0]);
    const finals = new Map();
    let killed = null;
    for (const [k, id] of ids.entries()) {
      await select(page, id);
      let text = '';
      for (const piece of ['第一句', '，然后', '第二句', '，最后', '第三句。']) {
        text += piece;
        await typeInto(page, piece, { replace: false });
        await page.waitForTimeout(250);
        // Mid-word in the second segment: the server dies.
        if (k === 1 && piece === '第二句') killed = restart(20000);
      }
      finals.set(id, text);
    }
    await waitFor(async () => ['offline', 'saving', 'pending'].includes(await headerState(page)), 'edits kept while the server is down');
    await killed;
    await saved(page, 60000);
    assert(expectProblem(SERVER_DOWN) >= 1, 'requests failed while the server was down (on purpose)');
    for (const id of ids) {
      const s = await segment(id);
      assertEq(s.text_verbatim, finals.get(id), `segment ${id} has every keystroke`);
      const revs = (await revisions(id)).slice(before.get(id));
      const ids2 = revs.map((r) => r.save_id);
      assertEq(new Set(ids2).size, ids2.length, `segment ${id}: no save applied twice`);
      assertEq(JSON.stringify([...ids2].sort()), JSON.stringify([...(sent.get(id) || [])].sort()), `segment ${id}: one revision per committed save`);
    }
    await context.close();
  }],

  ['4 the session expires server-side while edits are queued: re-login in place, original save ids', async () => {
    const { context, page } = await loginContext(browser, base, 'transcriber');
    const [a, b] = [free(), free()];
    await openSegment(page, a);
    await typeInto(page, '会话之前');
    await saved(page);
    sql(`DELETE FROM session WHERE user_id = ${userId.transcriber}`);
    const hash = await page.evaluate(() => location.hash);
    await typeInto(page, '会话过期后');
    await page.waitForSelector('#relogin', { timeout: 10000 });
    // The dialog covers the page; the editor below still takes edits (a script stands in for
    // a user who finishes a sentence before logging in).
    await page.evaluate((id) => document.querySelector(`li.seg[data-id="${id}"] .when`).click(), b);
    await page.waitForSelector(`li.seg.selected[data-id="${b}"] textarea.text`);
    await page.evaluate(() => {
      const area = document.querySelector('li.seg.selected textarea.text');
      area.value = '对话框后面';
      area.dispatchEvent(new Event('input'));
    });
    await waitFor(async () => (await stored(page)).length === 2, 'both edits queued');
    const queued = await stored(page);
    assertEq(await headerState(page), 'signed-out', 'the header says signed out');
    assertEq(await page.evaluate(() => location.hash), hash, 'no navigation');
    await shot(page, 'outbox-04-relogin');
    await page.fill('#relogin input[name=password]', 'transcriber-pw');
    await page.click('#relogin button[type=submit]');
    await saved(page);
    assertEq(await page.$('#relogin'), null, 'the dialog is gone');
    assert(expectProblem(/^transcriber: (HTTP 401 \w+ \S+|console error: Failed to load resource: the server responded with a status of 401 \(Unauthorized\))$/) >= 1, 'refused with the session deleted (on purpose)');
    for (const e of queued) {
      const hits = (await revisions(e.seg)).filter((r) => r.save_id === e.save_id);
      assertEq(hits.length, 1, `the queued save ${e.save_id} landed once`);
    }
    assertEq((await segment(a)).text_verbatim, '会话过期后', 'the text typed before the dialog');
    assertEq((await segment(b)).text_verbatim, '对话框后面', 'the text typed with the dialog open');
    await context.close();
  }],

  ['5 shared computer: A\'s offline edits are never saved as B, and land as A later', async () => {
    const { context, page } = await loginContext(browser, base, 'transcriber');
    const [a, b] = [free(), free()];
    const baseline = (await revisions(a)).length; // the admin created it
    await openSegment(page, a);
    await context.setOffline(true);
    await typeInto(page, '甲的离线修改');
    await waitFor(async () => (await stored(page)).length === 1, 'A\'s edit queued');
    await page.click('#logout');
    await page.waitForSelector('form.login');
    await context.setOffline(false);
    await page.fill('input[name=name]', 'admin');
    await page.fill('input[name=password]', 'admin-pw');
    await page.click('form.login button[type=submit]');
    await page.waitForSelector('ul.projects');
    await openSegment(page, b);
    await context.setOffline(true);
    await typeInto(page, '乙的修改');
    await context.setOffline(false);
    await saved(page);
    await page.waitForTimeout(1500);
    assertEq((await segment(b)).text_verbatim, '乙的修改', 'B\'s edit landed');
    const asB = (await revisions(a)).slice(baseline).filter((r) => r.author_id === userId.admin);
    assertEq(asB.length, 0, 'nothing was saved on A\'s segment as B');
    assertEq((await segment(a)).text_verbatim, '', 'A\'s edit waits');
    assertEq((await stored(page)).filter((e) => e.owner.endsWith(`|${userId.transcriber}`)).length, 1, 'A\'s queue is untouched');
    await page.click('#logout');
    await page.waitForSelector('form.login');
    await page.fill('input[name=name]', 'transcriber');
    await page.fill('input[name=password]', 'transcriber-pw');
    await page.click('form.login button[type=submit]');
    await waitFor(async () => (await segment(a)).text_verbatim === '甲的离线修改', 'A\'s edit to land');
    const last = (await revisions(a)).at(-1);
    assertEq(last.author_id, userId.transcriber, 'A\'s edit lands as A');
    expectProblem(OFFLINE);
    await context.close();
  }],

  ['6 two tabs offline: both edits land; the same segment conflicts with both texts', async () => {
    const { context, page } = await loginContext(browser, base, 'transcriber');
    const other = await context.newPage();
    watchProblems(other, 'transcriber-tab2');
    const [a, b, c] = [free(), free(), free()];
    await openSegment(page, a);
    await openSegment(other, b);
    await context.setOffline(true);
    await typeInto(page, '第一个标签页');
    await typeInto(other, '第二个标签页');
    // Each tab counts every change kept in the browser, its own and the other tab's. A save
    // the tab attempted while the text was still being typed stays its own entry (a failed
    // fetch does not say whether the server got it, so it is resent later with its save id):
    // a tab that typed slowly counts 3, not 2.
    const both = async (p) => {
      const kept = await stored(p);
      const segs = new Set(kept.map((e) => e.seg));
      return segs.has(a) && segs.has(b) && (await p.getAttribute('#save-status', 'data-count')) === String(kept.length);
    };
    for (const p of [page, other]) await waitFor(() => both(p), 'each tab counts both tabs\' edits');
    await waitFor(async () => (await page.textContent(`li.seg[data-id="${b}"] .preview`)) === '第二个标签页', 'the first tab lists the second tab\'s pending edit');
    await waitFor(async () => (await other.textContent(`li.seg[data-id="${a}"] .preview`)) === '第一个标签页', 'the second tab lists the first tab\'s pending edit');
    await context.setOffline(false);
    await saved(page);
    await saved(other);
    assertEq((await segment(a)).text_verbatim, '第一个标签页', 'the first tab\'s edit landed');
    assertEq((await segment(b)).text_verbatim, '第二个标签页', 'the second tab\'s edit landed');
    await openSegment(page, c);
    await openSegment(other, c);
    await context.setOffline(true);
    await typeInto(page, '甲');
    await typeInto(other, '乙');
    await waitFor(async () => (await stored(page)).length === 2, 'both edits queued');
    await context.setOffline(false);
    const winner = await waitFor(async () => {
      for (const p of [page, other]) if (await p.$('#conflict')) return p;
      return null;
    }, 'a conflict dialog');
    const mine = await winner.textContent('#conflict pre.mine');
    const theirs = await winner.textContent('#conflict pre.theirs');
    assertEq(JSON.stringify([mine, theirs].sort()), JSON.stringify(['乙', '甲']), 'the dialog shows both texts');
    await shot(winner, 'outbox-06-two-tabs-conflict');
    await winner.click('#keep-mine');
    await saved(winner);
    assertEq((await segment(c)).text_verbatim, mine, 'keep mine saves mine on top');
    expectProblem(OFFLINE);
    assert(expectProblem(CONFLICT) >= 1, 'the second save of the same segment was refused as a conflict (on purpose)');
    await context.close();
  }],

  ['7 storage is full: a warning, nothing lost, stored and saved when space returns', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    // The quota error at the storage call: IndexedDB puts (and localStorage writes of the
    // outbox) throw QuotaExceededError while window.__full is set.
    await context.addInitScript(() => {
      const quota = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      const put = IDBObjectStore.prototype.put;
      IDBObjectStore.prototype.put = function (...args) { if (window.__full && this.name === 'outbox') throw quota(); return put.apply(this, args); };
      const setItem = Storage.prototype.setItem;
      Storage.prototype.setItem = function (k, v) { if (window.__full && k.startsWith('fangyan.outbox')) throw quota(); return setItem.call(this, k, v); };
    });
    const page = await context.newPage();
    watchProblems(page, 'transcriber-quota');
    await page.goto(base + '/');
    await page.fill('input[name=name]', 'transcriber');
    await page.fill('input[name=password]', 'transcriber-pw');
    await page.click('form.login button[type=submit]');
    await page.waitForSelector('ul.projects');
    const id = free();
    await openSegment(page, id);
    await page.evaluate(() => { window.__full = true; });
    await context.setOffline(true);
    await typeInto(page, '磁盘满了');
    await page.waitForSelector('#storage-warning:not([hidden])', { timeout: 5000 });
    assertEq((await stored(page)).length, 0, 'nothing could be stored');
    assertEq(await page.getAttribute('#save-status', 'data-count'), '1', 'the edit is kept in memory');
    await shot(page, 'outbox-07-quota');
    await page.evaluate(() => { window.__full = false; });
    await waitFor(async () => (await stored(page)).some((e) => e.fields.text_verbatim === '磁盘满了'), 'the edit stored once space returns');
    await page.waitForSelector('#storage-warning[hidden]', { state: 'attached', timeout: 5000 });
    await context.setOffline(false);
    await saved(page);
    assertEq((await segment(id)).text_verbatim, '磁盘满了', 'the save succeeds');
    expectProblem(OFFLINE);
    await context.close();
  }],

  ['8 an input method composing 今天 for 10 s sends nothing until it commits, then one save', async () => {
    const { context, page } = await loginContext(browser, base, 'transcriber');
    const id = free();
    await openSegment(page, id);
    const before = await segment(id);
    const requests = [];
    // The editor asks the project's normaliser for a preview of the text it opened with, 250 ms
    // after it opens: that request says nothing about the composition, so it is not counted.
    const opening = (r) => r.url().endsWith('/preview') && JSON.parse(r.postData() || '{}').text_verbatim === before.text_verbatim;
    page.on('request', (r) => { if (r.url().includes('/api/segments/') && r.method() !== 'GET' && !opening(r)) requests.push(r); });
    await page.click('li.seg.selected textarea.text');
    const cdp = await context.newCDPSession(page);
    const t0 = Date.now();
    for (const text of ['j', 'jin', 'jintian', 'jintian', '今天']) {
      await cdp.send('Input.imeSetComposition', { text, selectionStart: text.length, selectionEnd: text.length });
      await page.waitForTimeout(2000);
    }
    assert(Date.now() - t0 >= 10000, 'composed for 10 s');
    assertEq(requests.length, 0, 'no request while composing');
    assertEq(await page.textContent(`li.seg[data-id="${id}"] .preview`), '', 'the list shows nothing composed');
    assertEq(await headerState(page), 'saved', 'no status change while composing');
    assertEq(await page.evaluate(() => window.__fangyan.selected().text_verbatim), '', 'the lane draws nothing composed');
    assertEq((await segment(id)).status, before.status, 'the segment status is unchanged');
    await cdp.send('Input.insertText', { text: '今天' });
    await waitFor(() => requests.some((r) => r.method() === 'PUT'), 'the save after the commit');
    await saved(page);
    await page.waitForTimeout(1500);
    const puts = requests.filter((r) => r.method() === 'PUT');
    assertEq(puts.length, 1, 'exactly one save');
    assertEq(JSON.parse(puts[0].postData()).text_verbatim, '今天', 'the save carries the committed text');
    assertEq((await segment(id)).text_verbatim, '今天', 'the server has 今天');
    await context.close();
  }],

  ['9 undo: text, marker, boundary, split, delete and merge are undone and redone as new revisions', async () => {
    const { context, page } = await loginContext(browser, base, 'transcriber');
    const id = free();
    await openSegment(page, id);
    await typeInto(page, '今天天气很好');
    await saved(page);
    const orig = await segment(id);
    const count = async () => (await admin.get(`/api/recordings/${recId}/segments`)).data.segments.length;
    // Text typed after a pause is one step; Ctrl+Z brings the text before it back.
    await page.waitForTimeout(1100);
    await typeInto(page, '我们', { replace: false });
    await saved(page);
    await page.keyboard.press('Control+KeyZ');
    await waitFor(async () => (await segment(id)).text_verbatim === '今天天气很好', 'the typed text to be undone on the server');
    assertEq(await page.$eval('li.seg.selected textarea', (a) => a.value), '今天天气很好', 'the text box shows the undone text');
    await page.keyboard.press('Control+Shift+KeyZ');
    await waitFor(async () => (await segment(id)).text_verbatim === '今天天气很好我们', 'redo');
    await page.keyboard.press('Control+KeyZ');
    await waitFor(async () => (await segment(id)).text_verbatim === '今天天气很好', 'undo again');
    // A marker (setRangeText) is undone too.
    await page.keyboard.press('Alt+Shift+KeyL');
    await waitFor(async () => (await segment(id)).text_verbatim === '今天天气很好[laughter]', 'the marker saved');
    await page.keyboard.press('Control+KeyZ');
    await waitFor(async () => (await segment(id)).text_verbatim === '今天天气很好', 'the marker undone');
    // A boundary nudge.
    await page.keyboard.press('Alt+2');
    await waitFor(async () => (await segment(id)).start_sample > orig.start_sample, 'the start moved');
    await page.waitForTimeout(1100);
    await page.keyboard.press('Control+KeyZ');
    await waitFor(async () => (await segment(id)).start_sample === orig.start_sample, 'the boundary move undone');
    // Split, then Ctrl+Z: one segment with the original text and boundaries, as a new revision.
    await page.evaluate(() => { window.__fangyan.audio.pause(); window.__fangyan.audio.currentTime = 0; });
    await page.evaluate(() => { const a = document.querySelector('li.seg.selected textarea'); a.focus(); a.setSelectionRange(2, 2); });
    const n = await count();
    const revsBefore = (await revisions(id)).length;
    await page.keyboard.press('Alt+KeyS');
    await waitFor(async () => (await count()) === n + 1, 'the split');
    assertEq((await segment(id)).text_verbatim, '今天', 'the first half');
    await page.waitForSelector(`li.seg.selected[data-id="${id}"] textarea.text`);
    await page.keyboard.press('Control+KeyZ');
    await waitFor(async () => (await count()) === n, 'the split undone');
    const back = await segment(id);
    assertEq(back.text_verbatim, '今天天气很好', 'the original text');
    assertEq(`${back.start_sample}-${back.end_sample}`, `${orig.start_sample}-${orig.end_sample}`, 'the original boundaries');
    const revs = await revisions(id);
    assertEq(revs.length, revsBefore + 2, 'the undo is a new revision (split, then merge)');
    assertEq(revs.at(-1).text_verbatim, '今天天气很好', 'the newest revision has the original text');
    await shot(page, 'outbox-09-undo-split');
    // Delete, then Ctrl+Z: the segment is back (a new one with the same time and text).
    await page.waitForSelector(`li.seg.selected[data-id="${id}"] textarea.text`);
    await page.keyboard.press('Alt+Delete');
    await waitFor(async () => (await count()) === n - 1, 'the delete');
    await page.keyboard.press('Control+KeyZ');
    await waitFor(async () => (await count()) === n, 'the delete undone');
    const list = (await admin.get(`/api/recordings/${recId}/segments`)).data.segments;
    assert(list.some((x) => x.start_sample === orig.start_sample && x.end_sample === orig.end_sample && x.text_verbatim === '今天天气很好'), 'the deleted segment is back');
    // Merge with the next segment, then Ctrl+Z: both are back with their texts and times.
    const [m1, m2] = [free(), free()];
    const s1 = await segment(m1);
    const s2 = await segment(m2);
    await openSegment(page, m2);
    await typeInto(page, '天气');
    await select(page, m1);
    await typeInto(page, '今天');
    await saved(page);
    const n2 = await count();
    await page.keyboard.press('Alt+KeyM');
    await waitFor(async () => (await count()) === n2 - 1, 'the merge');
    assertEq((await segment(m1)).text_verbatim, '今天天气', 'the merged text');
    await page.waitForSelector(`li.seg.selected[data-id="${m1}"] textarea.text`);
    await page.keyboard.press('Control+KeyZ');
    await waitFor(async () => (await count()) === n2, 'the merge undone');
    const after = (await admin.get(`/api/recordings/${recId}/segments`)).data.segments;
    const first = after.find((x) => x.id === m1);
    const second = after.find((x) => x.start_sample === s2.start_sample && x.id !== m1);
    assertEq(`${first.text_verbatim} ${first.start_sample}-${first.end_sample}`, `今天 ${s1.start_sample}-${s1.end_sample}`, 'the first segment is back');
    assert(second && second.text_verbatim === '天气' && second.end_sample === s2.end_sample, `the second segment is back (${JSON.stringify(second)})`);
    segIds = segIds.filter((x) => x !== id);
    await context.close();
  }],

  ['10 the history panel lists revisions and a restore brings an older text back', async () => {
    const { context, page } = await loginContext(browser, base, 'transcriber');
    const id = free();
    await openSegment(page, id);
    await typeInto(page, '第一版');
    await saved(page);
    await typeInto(page, '第二版');
    await saved(page);
    await page.click('#history-toggle');
    await page.waitForSelector('#history li');
    const rows = await page.$$eval('#history li', (lis) => lis.map((li) => li.querySelector('.rev-text').textContent));
    const stored2 = await revisions(id);
    assertEq(rows.length, stored2.length, 'every revision is listed');
    assertEq(rows[0], '第二版', 'newest first');
    const oldest = await page.$eval('#history li:last-child', (li) => li.textContent);
    assert(oldest.includes('admin'), `the first revision names its author (${oldest})`);
    assert((await page.$eval('#history li:first-child .layer', (e) => e.textContent)).includes('verbatim'), 'a revision says which layer changed');
    await shot(page, 'outbox-10-history');
    await page.click('#history li:has(.rev-text:text-is("第一版")) button.restore');
    await waitFor(async () => (await segment(id)).text_verbatim === '第一版', 'the restore to land');
    const after = await revisions(id);
    assertEq(after.length, stored2.length + 1, 'the restore is a new revision');
    assertEq(JSON.stringify(after.slice(0, stored2.length)), JSON.stringify(stored2), 'older revisions are untouched');
    await waitFor(async () => (await page.$$('#history li')).length === after.length, 'the panel lists the new revision');
    await context.close();
  }],

  [`11 soak: ${SOAK_SECS} s of random edits, offline spells, reloads and server restarts`, async () => {
    const { context, page } = await loginContext(browser, base, 'transcriber');
    page.on('dialog', (d) => d.accept()); // "leave with unsent edits?" on reloads: yes
    const ids = segIds.splice(0, 6);
    const model = new Map();
    for (const id of ids) model.set(id, (await segment(id)).text_verbatim);
    let rnd = 16;
    const random = () => { rnd = (rnd * 1103515245 + 12345) % 2147483648; return rnd / 2147483648; };
    const pick = (xs) => xs[Math.floor(random() * xs.length)];
    let offline = false;
    let down = null;
    const tally = { edits: 0, offline: 0, reloads: 0, restarts: 0 };
    await openSegment(page, ids[0]);
    const until = Date.now() + SOAK_SECS * 1000;
    while (Date.now() < until) {
      const r = random();
      if (r < 0.08) {
        offline = !offline;
        await context.setOffline(offline);
        if (offline) tally.offline++;
      } else if (r < 0.2 && !offline && !down) {
        await page.reload();
        await page.waitForSelector('li.seg.selected textarea.text');
        tally.reloads++;
      } else if (r < 0.23 && !down) {
        down = restart(500 + Math.floor(random() * 4000)).then(() => { down = null; });
        tally.restarts++;
      } else {
        const id = pick(ids);
        await select(page, id);
        const how = random();
        if (how < 0.5) await typeInto(page, pick(['天', '气', '好', 'ab', '。', '我们', ' x']), { replace: false });
        else if (how < 0.7) { await page.click('li.seg.selected textarea.text'); await page.keyboard.press('End'); await page.keyboard.press('Backspace'); }
        else await typeInto(page, pick(['新的一句', '重写', 'hello 世界']));
        model.set(id, await page.$eval('li.seg.selected textarea', (a) => a.value));
        tally.edits++;
      }
      await page.waitForTimeout(50 + Math.floor(random() * 400));
    }
    if (down) await down;
    await context.setOffline(false);
    await saved(page, 60000);
    expectProblem(OFFLINE);
    expectProblem(SERVER_DOWN);
    for (const id of ids) assertEq((await segment(id)).text_verbatim, model.get(id), `segment ${id} on the server equals the client's model`);
    await page.reload();
    await page.waitForSelector('li.seg.selected textarea.text');
    for (const id of ids) assertEq(await page.textContent(`li.seg[data-id="${id}"] .preview`), model.get(id), `segment ${id} as shown after a reload`);
    console.log(`     soak: ${JSON.stringify(tally)}`);
    await context.close();
  }],

  ['12 no other console errors or failed requests', async () => {
    for (const p of problems) console.log(`     ${p}`);
    assertEq(JSON.stringify(problems, null, 1), '[]', 'problems');
  }],
];

let results;
try {
  results = await runSteps(steps, browser);
} finally {
  await browser.close().catch(() => {});
  server.stop();
  fs.rmSync(data, { recursive: true, force: true });
}
const failed = results.filter((r) => r[1] !== 'ok');
console.log(`\noutbox browser tests: ${results.length - failed.length} passed, ${failed.length} failed`);
if (failed.length) {
  const err = server.stderr();
  if (err) console.log('server log (tail):\n' + err.slice(-3000));
  process.exit(1);
}
