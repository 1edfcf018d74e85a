// A team's workbench (issue 17, points 2 and 3), in the browser: the instance admin makes a
// user and an invite link on the admin page; the invitee joins through the link; a disabled
// user's open session ends and their login says why; a rejection's comment reaches the
// transcriber's next claim and their reply reaches the reviewer (unread badges on the way);
// the reviewer sees ASR, text and diff side by side and reopens an approved segment; the
// dashboard's quality table has the transcriber's rejection rate; the admin page and the
// review queue in Chinese. Every step checks the page and the API.
// Run: node tests/browser/team.mjs (after `cargo build`).

import fs from 'node:fs';
import path from 'node:path';
import {
  repo, assert, assertEq, startServer, apiClient, launch, loginContext, newContext, waitFor, runSteps,
  problems, watchProblems, expectProblem,
} from './harness.mjs';

const AUDIO = path.join(repo, 'fixtures/real/zh-funasr-binhai-query.wav');
const catalogue = async (name) => (await import('data:text/javascript,' + encodeURIComponent(fs.readFileSync(path.join(repo, 'web/i18n', name), 'utf8')))).default;
const en = await catalogue('en.js');
const zh = await catalogue('zh-CN.js');

const server = await startServer();
const { base } = server;
const admin = await apiClient(base, 'admin');
const tx = await apiClient(base, 'transcriber');
const rv = await apiClient(base, 'reviewer');
const projectId = (await admin.get('/api/projects')).data.projects.find((p) => p.name === 'proj').id;
const browser = await launch();
let recId;
/** The segments of the story: A rejected then replied to, C approved then reopened, D left in the queue. */
const seg = {};
const REJECTION = '第二个字听错了，再听一遍';
const REPLY = '改好了，请再看看';

/** Logs in through the login page with `password` and answers with the page's error text. */
async function loginError(page, name, password) {
  await page.waitForSelector('form.login');
  await page.fill('form.login input[name=name]', name);
  await page.fill('form.login input[name=password]', password);
  await page.click('form.login button[type=submit]');
  return waitFor(async () => (await page.textContent('form.login .error')) || null, 'the login error');
}

/** Claims the caller's next segment, sets its text and submits it; answers the segment. */
async function claimSubmit(client, text) {
  const c = (await client.post(`/api/projects/${projectId}/claim`, {})).data.segment;
  return submitAs(client, c, text);
}
async function submitAs(client, c, text) {
  const saved = await client.put(`/api/segments/${c.id}`, { version: c.version, save_id: `team-${c.id}`, text_verbatim: text });
  assertEq(saved.status, 200, `saved segment ${c.id}`);
  const sub = await client.post(`/api/segments/${c.id}/submit`, { version: saved.data.version });
  assertEq(sub.status, 200, `submitted segment ${c.id}`);
  return sub.data;
}

const steps = [
  ['0 data: a recording; three submitted segments, the first with an ASR hypothesis', async () => {
    const form = new FormData();
    form.append('file', new Blob([fs.readFileSync(AUDIO)]), 'binhai.wav');
    const r = await admin.post(`/api/projects/${projectId}/recordings`, form);
    assertEq(r.status, 202, 'upload accepted');
    recId = r.data.recording;
    await waitFor(async () => (await admin.get(`/api/recordings/${recId}`)).data.status === 'ready', 'ingest', 60000, 200);
    const rate = (await admin.get(`/api/recordings/${recId}`)).data.analysis_rate;
    // A: its ASR text from a cue that lies inside it.
    const a = (await tx.post(`/api/projects/${projectId}/claim`, {})).data.segment;
    const ts = (x) => new Date(Math.round(x * 1000)).toISOString().slice(11, 23).replace('.', ',');
    const srt = `1\n${ts(a.start_sample / rate + 0.05)} --> ${ts(a.end_sample / rate - 0.05)}\n欢迎大家来体验语音识别\n`;
    const asr = new FormData();
    asr.append('file', new Blob([srt]), 'a.srt');
    asr.append('mode', 'attach');
    assertEq((await admin.post(`/api/recordings/${recId}/asr`, asr)).status, 200, 'ASR attached');
    const withAsr = (await tx.get(`/api/segments/${a.id}`)).data;
    assertEq(withAsr.asr_text, '欢迎大家来体验语音识别', 'A has the ASR text');
    seg.A = await submitAs(tx, withAsr, '欢迎大伙来体验语音识别啊');
    seg.C = await claimSubmit(tx, '这个是滨海');
    // D: the recording has two segments; the transcriber makes a third before the first one.
    const made = await tx.post(`/api/recordings/${recId}/segments`, { start_sample: 0, end_sample: Math.round(0.5 * rate), text_verbatim: '' });
    assertEq(made.status, 200, `a third segment (${JSON.stringify(made.data).slice(0, 200)})`);
    seg.D = await submitAs(tx, made.data, '我们一起来说话');
    const queue = (await rv.get(`/api/projects/${projectId}/review`)).data.segments.map((s) => s.id);
    assertEq(JSON.stringify(queue), JSON.stringify([seg.D.id, seg.A.id, seg.C.id]), 'three segments wait for review');
  }],

  ['a admin creates a user on the admin page; that user logs in and changes their password', async () => {
    const { context, page } = await loginContext(browser, base, 'admin');
    await page.waitForSelector('#admin-link:not([hidden])');
    await page.click('#admin-link');
    await page.waitForSelector('#create-user');
    await page.fill('#new-user-name', 'newbie');
    await page.fill('#new-user-password', 'newbie-pw');
    await page.selectOption('#new-user-project', String(projectId));
    await page.selectOption('#new-user-role', 'transcriber');
    await page.click('#create-user button[type=submit]');
    const row = await page.waitForSelector('#users tr[data-name=newbie]');
    assertEq(await row.$eval('.user-roles li', (li) => `${li.dataset.project}:${li.dataset.role}`), `${projectId}:transcriber`, 'the row shows the role in proj');
    assertEq(await row.$eval('.last-login', (td) => td.textContent), en['admin.never'], 'never logged in yet');
    const listed = (await admin.get('/api/admin/users')).data.users.find((u) => u.name === 'newbie');
    assert(listed && !listed.disabled, 'the API lists the user, enabled');
    assertEq(JSON.stringify(listed.projects.map((p) => [p.id, p.role])), JSON.stringify([[projectId, 'transcriber']]), 'the API has the role');
    await context.close();

    const { context: c2, page: p2 } = await loginContext(browser, base, 'newbie');
    assertEq(await p2.getAttribute('ul.projects .role', 'data-role'), 'transcriber', 'newbie sees proj as a transcriber');
    assertEq(await p2.isVisible('#admin-link'), false, 'no admin link for a plain user');
    await p2.click('#account-link');
    await p2.waitForSelector('#password-form');
    await p2.fill('#old-password', 'newbie-pw');
    await p2.fill('#new-password', 'newbie-pw2');
    await p2.fill('#new-password2', 'newbie-pw2');
    await p2.click('#password-form button[type=submit]');
    await p2.waitForSelector('#password-state[data-done=true]');
    const res = await fetch(base + '/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'newbie', password: 'newbie-pw2' }) });
    assertEq(res.status, 200, 'the new password logs in');
    assert((await admin.get('/api/admin/users')).data.users.find((u) => u.name === 'newbie').last_login_at, 'the last login is recorded');
    await c2.close();
  }],

  ['b admin makes an invite link; a fresh browser joins through it as a reviewer', async () => {
    const { context, page } = await loginContext(browser, base, 'admin');
    await page.goto(`${base}/#/admin`);
    await page.waitForSelector('#create-invite');
    await page.selectOption('#invite-project', String(projectId));
    await page.selectOption('#invite-role', 'reviewer');
    await page.fill('#invite-days', '3');
    await page.click('#create-invite button[type=submit]');
    await page.waitForSelector('#invite-link');
    const link = await page.inputValue('#invite-link');
    assert(link.startsWith(`${base}/#/invite/`), `a link to the invite page (${link})`);
    const token = link.split('#/invite/')[1];
    const offer = (await admin.get(`/api/invites/${token}`)).data;
    assertEq(`${offer.project_id}:${offer.role}`, `${projectId}:reviewer`, 'the API offers proj as reviewer');
    assert(Math.abs(offer.expires_at - Date.now() - 3 * 86400000) < 600000, 'it expires in 3 days');
    await context.close();

    const fresh = await newContext(browser);
    const p = await fresh.newPage();
    watchProblems(p, 'invitee');
    await p.goto(link);
    await p.waitForSelector('#invite-offer');
    assertEq(await p.textContent('#invite-offer .project'), 'proj', 'the project is shown');
    assertEq(await p.getAttribute('#invite-offer .role', 'data-role'), 'reviewer', 'the role is shown');
    assertEq(await p.textContent('#invite-offer .role'), en['role.reviewer'], 'in words');
    await p.fill('#invite input[name=name]', 'invitee');
    await p.fill('#invite input[name=password]', 'invitee-pw');
    await p.fill('#invite input[name=password2]', 'invitee-pw');
    await p.click('#invite button[type=submit]');
    await waitFor(async () => (await p.evaluate(() => location.hash)) === `#/p/${projectId}`, 'the project page');
    await p.waitForSelector('table.recordings');
    assert((await p.textContent('#view')).includes(en['project.yourRole'].replace('{role}', en['role.reviewer'])), 'the page says the role');
    assertEq(await p.textContent('#whoami'), 'invitee', 'logged in as the invitee');
    const me = await p.evaluate(async () => (await fetch('/api/me')).json());
    assertEq(me.name, 'invitee', '/api/me is the invitee');
    const role = await p.evaluate(async (id) => (await (await fetch('/api/projects')).json()).projects.find((x) => x.id === id).role, projectId);
    assertEq(role, 'reviewer', 'a reviewer in proj');
    await fresh.close();

    // The link again, and a link nobody issued: refused in words (410 and 404 on purpose).
    const again = await newContext(browser);
    const p3 = await again.newPage();
    watchProblems(p3, 'invite-again');
    await p3.goto(link);
    await p3.waitForSelector('#invite-error[data-code]');
    assertEq(await p3.textContent('#invite-error'), en['error.invite_used'], 'a used link says so');
    await p3.goto(`${base}/#/invite/${'0'.repeat(64)}`);
    await p3.waitForSelector('#invite-error[data-code=invite_not_found]');
    assertEq(await p3.textContent('#invite-error'), en['error.invite_not_found'], 'an unknown link says so');
    assert(expectProblem(/^invite-again: .*(410|404)/) >= 2, 'the used and unknown links were refused (on purpose)');
    await again.close();
  }],

  ['c admin disables a user with an open session: their next request asks to log in, and the login says the account is disabled', async () => {
    const made = await admin.post('/api/admin/users', { name: 'victim', password: 'victim-pw' });
    assertEq(made.status, 200, 'victim made');
    assertEq((await admin.post(`/api/projects/${projectId}/members`, { user: 'victim', role: 'transcriber' })).status, 200, 'victim joined');
    const { context: vc, page: vp } = await loginContext(browser, base, 'victim');
    await vp.goto(`${base}/#/p/${projectId}`);
    await vp.waitForSelector('table.recordings');

    const { context, page } = await loginContext(browser, base, 'admin');
    await page.goto(`${base}/#/admin`);
    await page.click('#users tr[data-name=victim] button.disable');
    await page.waitForSelector('#users tr[data-name=victim][data-disabled=true]');
    assertEq(await page.textContent('#admin-state'), en['admin.disabledDone'].replace('{name}', 'victim'), 'the page says so');
    assertEq((await admin.get('/api/admin/users')).data.users.find((u) => u.name === 'victim').disabled, true, 'the API says disabled');

    await vp.click('#brand');
    await vp.waitForSelector('#relogin');
    await vp.fill('#relogin input[name=password]', 'victim-pw');
    await vp.click('#relogin button[type=submit]');
    await waitFor(async () => (await vp.textContent('#relogin .error')) === en['error.account_disabled'], 'the re-login refused in words');
    const fresh = await newContext(browser);
    const fp = await fresh.newPage();
    watchProblems(fp, 'victim-fresh');
    await fp.goto(base + '/');
    assertEq(await loginError(fp, 'victim', 'victim-pw'), en['error.account_disabled'], 'a fresh login says the account is disabled');
    assert(expectProblem(/^victim(-fresh)?: .*401/) >= 3, 'the ended session and the refused logins (on purpose)');
    await fresh.close();
    await vc.close();

    // Enabled again, the same password works.
    await page.click('#users tr[data-name=victim] button.enable');
    await page.waitForSelector('#users tr[data-name=victim][data-disabled=false]');
    const res = await fetch(base + '/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'victim', password: 'victim-pw' }) });
    assertEq(res.status, 200, 'enabled again');
    await context.close();
  }],

  ['d a rejection with a comment, side by side; the transcriber claims it back, sees the comment and replies; the reviewer sees the badge and the reply', async () => {
    const { context, page } = await loginContext(browser, base, 'reviewer');
    await page.goto(`${base}/#/p/${projectId}/review`);
    const li = `#review-list li.seg[data-id="${seg.A.id}"]`;
    await page.waitForSelector(li);
    const cols = await page.$eval(li, (el) => ({
      heads: [...el.querySelectorAll('.side-by-side h4')].map((x) => x.textContent),
      asr: el.querySelector('.col.asr .text').textContent,
      text: el.querySelector('.col.typed .text').textContent,
      ins: [...el.querySelectorAll('.col.changes ins')].map((x) => x.textContent).join(''),
      del: [...el.querySelectorAll('.col.changes del')].map((x) => x.textContent).join(''),
    }));
    assertEq(JSON.stringify(cols.heads), JSON.stringify([en['review.col.asr'], en['review.col.text'], en['review.col.diff']]), 'three labelled columns');
    assertEq(cols.asr, '欢迎大家来体验语音识别', 'the ASR column');
    assertEq(cols.text, '欢迎大伙来体验语音识别啊', "the transcriber's column");
    assertEq(`${cols.del}|${cols.ins}`, '家|伙啊', 'the diff column');
    await page.click(`${li} .when`);
    await page.fill('#review-comment', REJECTION);
    await page.keyboard.press('Alt+KeyR');
    await page.waitForSelector(li, { state: 'detached' });
    const after = (await rv.get(`/api/segments/${seg.A.id}`)).data;
    assertEq(`${after.status}|${after.last_review.verdict}|${after.last_review.comment}`, `rejected|rejected|${REJECTION}`, 'the API has the rejection');

    const { context: tc, page: tp } = await loginContext(browser, base, 'transcriber');
    await tp.goto(`${base}/#/p/${projectId}`);
    await tp.click('#claim-next');
    await waitFor(async () => (await tp.evaluate(() => location.hash)) === `#/r/${recId}/s/${seg.A.id}`, 'the claim opens the rejected segment');
    const banner = await tp.waitForSelector('li.seg.selected .last-review.rejected');
    assertEq(await banner.$eval('.review-comment', (x) => x.textContent), REJECTION, 'the rejection comment above the text');
    assertEq(await banner.$eval('.reviewer', (x) => x.textContent), 'reviewer', 'with the reviewer');
    await tp.waitForSelector('li.seg.selected .thread li.comment');
    assertEq(await tp.textContent('li.seg.selected .thread li.comment .body'), REJECTION, 'the thread starts with it');
    await tp.fill('li.seg.selected .comment-reply', REPLY);
    await tp.click('li.seg.selected .send-comment');
    await waitFor(async () => (await tp.$$eval('li.seg.selected .thread li.comment .body', (els) => els.map((e) => e.textContent))).includes(REPLY), 'the reply in the thread');
    const thread = (await admin.get(`/api/segments/${seg.A.id}/comments`)).data.comments;
    assertEq(JSON.stringify(thread.map((c) => [c.author_name, c.body])), JSON.stringify([['reviewer', REJECTION], ['transcriber', REPLY]]), 'the API thread');
    await tc.close();

    assertEq((await rv.get(`/api/projects/${projectId}/comments/unread`)).data.total, 1, 'one unread for the reviewer');
    await page.goto(`${base}/#/p/${projectId}`);
    await page.waitForSelector('#unread-comments');
    assertEq(await page.getAttribute('#unread-comments h3 .badge', 'data-unread'), '1', 'the project page badge');
    // The recording opened on another segment: A's row has the badge until its thread is read.
    const other = (await rv.get(`/api/recordings/${recId}/segments`)).data.segments.find((s) => s.id !== seg.A.id && !s.deleted);
    await page.goto(`${base}/#/r/${recId}/s/${other.id}`);
    await page.waitForSelector(`li.seg[data-id="${seg.A.id}"] .badge.unread[data-unread="1"]`);
    await page.click(`li.seg[data-id="${seg.A.id}"] .when`);
    await waitFor(async () => (await page.$$eval('li.seg.selected .thread li.comment .body', (els) => els.map((e) => e.textContent))).includes(REPLY), 'the reviewer sees the reply');
    await page.waitForSelector(`li.seg[data-id="${seg.A.id}"] .badge.unread`, { state: 'detached' });
    assertEq((await rv.get(`/api/projects/${projectId}/comments/unread`)).data.total, 0, 'read now');
    await page.evaluate(() => window.__fangyan.audio.pause());
    await context.close();
  }],

  ['e the reviewer replies in the queue, approves by keyboard, then reopens the approved segment', async () => {
    const { context, page } = await loginContext(browser, base, 'reviewer');
    await page.goto(`${base}/#/p/${projectId}/review`);
    const li = `#review-list li.seg[data-id="${seg.C.id}"]`;
    await page.waitForSelector(li);
    await page.click(`${li} .thread-toggle`);
    await page.waitForSelector(`${li} .thread li.empty`);
    await page.fill(`${li} .comment-reply`, '很好');
    await page.press(`${li} .comment-reply`, 'Control+Enter');
    await page.waitForSelector(`${li} .thread li.comment`);
    assertEq((await rv.get(`/api/segments/${seg.C.id}/comments`)).data.comments.length, 1, 'the API has the queue reply');
    await page.click(`${li} .when`);
    await page.keyboard.press('Alt+KeyA');
    await page.waitForSelector(li, { state: 'detached' });
    assertEq((await rv.get(`/api/segments/${seg.C.id}`)).data.status, 'approved', 'approved');

    const before = (await admin.get(`/api/segments/${seg.C.id}/revisions`)).data.revisions.length;
    await page.goto(`${base}/#/r/${recId}/s/${seg.C.id}`);
    await page.waitForSelector('li.seg.selected .last-review.approved');
    await page.click('li.seg.selected button.reopen:not([hidden])');
    await page.waitForSelector(`li.seg[data-id="${seg.C.id}"][data-status=rejected]`);
    assertEq(await page.isVisible('li.seg.selected button.reopen'), false, 'no reopen on a rejected segment');
    const revs = (await admin.get(`/api/segments/${seg.C.id}/revisions`)).data.revisions;
    assertEq(revs.length, before + 1, 'a new revision');
    assertEq((await tx.get(`/api/segments/${seg.C.id}`)).data.status, 'rejected', 'rejected for the transcriber');
    // A (rejected in d) is being fixed, so the transcriber's next claim is the reopened C.
    const a = (await tx.get(`/api/segments/${seg.A.id}`)).data;
    assertEq((await tx.put(`/api/segments/${seg.A.id}`, { version: a.version, save_id: 'team-fix-a', text_verbatim: '欢迎大家来体验语音识别啊' })).status, 200, 'A edited');
    const back = (await tx.post(`/api/projects/${projectId}/claim`, {})).data.segment;
    assertEq(`${back.id}|${back.status}`, `${seg.C.id}|rejected`, "the transcriber's next claim is the reopened segment");
    await page.evaluate(() => window.__fangyan.audio.pause());
    await context.close();
  }],

  ['f the quality table has the transcriber with a rejection rate, by week and by day', async () => {
    const api = (await rv.get(`/api/projects/${projectId}/quality?bucket=day`)).data.rows.find((r) => r.user === 'transcriber');
    assertEq(`${api.reviews}|${api.rejections}`, '2|1', 'the API: two decisions, one rejection');
    const { context, page } = await loginContext(browser, base, 'reviewer');
    await page.goto(`${base}/#/p/${projectId}/dashboard`);
    await page.waitForSelector('#quality .quality-table[data-bucket=week]');
    const cells = async () => page.$$eval('#quality tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)).find((r) => r[0] === 'transcriber'));
    const pct = new Intl.NumberFormat('en', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(api.rejection_rate);
    const week = await cells();
    assert(week, 'a row for the transcriber');
    assertEq(`${week[2]}|${week[3]}|${week[4]}`, `2|1|${pct}`, 'decisions, rejections, rate');
    await page.selectOption('#quality-bucket', 'day');
    await page.waitForSelector('#quality .quality-table[data-bucket=day]');
    const day = await cells();
    assertEq(day[1], new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(api.bucket_start)), 'the day');
    assertEq(day[4], pct, 'the rate by day');
    await context.close();
  }],

  ['g the admin page and the review side by side in Chinese, no key missing', async () => {
    const { context, page } = await loginContext(browser, base, 'admin', { locale: 'zh-CN' });
    await page.goto(`${base}/#/admin`);
    await page.waitForSelector('#users tr[data-name=newbie]');
    assertEq(await page.textContent('#view h1'), zh['nav.admin'], 'the heading in Chinese');
    assertEq(await page.textContent('#admin-link'), zh['nav.admin'], 'the header link too');
    const heads = await page.$$eval('#users th', (ths) => ths.map((th) => th.textContent));
    assertEq(JSON.stringify(heads), JSON.stringify(['name', 'roles', 'status', 'lastLogin', 'actions'].map((k) => zh[`admin.col.${k}`])), 'the table heads');
    assert(!(await page.textContent('body')).includes('⟦'), 'no missing key on the admin page');
    await page.goto(`${base}/#/p/${projectId}/review`);
    const li = `#review-list li.seg[data-id="${seg.D.id}"]`;
    await page.waitForSelector(li);
    const colHeads = await page.$$eval(`${li} .side-by-side h4`, (hs) => hs.map((x) => x.textContent));
    assertEq(JSON.stringify(colHeads), JSON.stringify([zh['review.col.asr'], zh['review.col.text'], zh['review.col.diff']]), 'the columns in Chinese');
    assert(!(await page.textContent('body')).includes('⟦'), 'no missing key in the queue');
    await context.close();
  }],

  ['h no other console errors or failed requests', async () => {
    assertEq(JSON.stringify(problems, null, 1), '[]', 'problems');
  }],
];

const results = await runSteps(steps, browser);
await browser.close();
server.stop();
const failed = results.filter((r) => r[1] !== 'ok');
console.log(`\nteam browser tests: ${results.length - failed.length} passed, ${failed.length} failed`);
if (failed.length) {
  const err = server.stderr();
  if (err) console.log('server log (tail):\n' + err.slice(-3000));
  process.exit(1);
}
