// What a new user tripped on (issue 17, point 7), one step each; every step failed before its
// fix: "nullnull" under the recordings table for transcribers and reviewers; a looped segment
// that ends at the end of the file stopped instead of wrapping; the dashboard said "0.00 h"
// for a short project; during an upload the recordings table showed an empty "importing" bar
// beside "processing 90%" in the upload list, and a refused upload kept a 20 % bar; ASR output
// for one recording needed a hand-typed JSON mapping; the login page logged a 401 (/api/me)
// and a 404 (/favicon.ico) as console errors.
// Run: node tests/browser/trips.mjs (after `cargo build`).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  repo, assert, assertEq, startServer, apiClient, launch, loginContext, newContext, waitFor, runSteps,
  problems, watchProblems, expectProblem,
} from './harness.mjs';

const AUDIO = path.join(repo, 'fixtures/real/zh-funasr-binhai-query.wav');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fangyan-trips-'));
const server = await startServer();
const { base } = server;
const admin = await apiClient(base, 'admin');
const projectId = (await admin.get('/api/projects')).data.projects.find((p) => p.name === 'proj').id;
const browser = await launch();
let recId; let rec;

async function upload(file, name) {
  const form = new FormData();
  form.append('file', new Blob([fs.readFileSync(file)]), name);
  const r = await admin.post(`/api/projects/${projectId}/recordings`, form);
  assertEq(r.status, 202, `upload of ${name} accepted`);
  await waitFor(async () => (await admin.get(`/api/recordings/${r.data.recording}`)).data.status === 'ready', 'ingest', 60000, 200);
  return r.data.recording;
}

const steps = [
  ['0 a ready recording', async () => {
    recId = await upload(AUDIO, 'binhai.wav');
    rec = (await admin.get(`/api/recordings/${recId}`)).data;
  }],

  ['1 no "nullnull" on the project page of a transcriber or a reviewer', async () => {
    for (const who of ['transcriber', 'reviewer']) {
      const { context, page } = await loginContext(browser, base, who);
      await page.goto(`${base}/#/p/${projectId}`);
      await page.waitForSelector('table.recordings tr[data-status=ready]');
      await page.waitForSelector('.members li');
      const shown = await page.evaluate(() => document.getElementById('view').innerText);
      assert(!/null/.test(shown), `${who}: the page shows "null": …${shown.slice(shown.indexOf('null') - 60, shown.indexOf('null') + 20)}…`);
      await context.close();
    }
  }],

  ['2 looping a segment that ends at the end of the file wraps to its start', async () => {
    // The last segment is made to end exactly at the last sample, and short.
    const { segments } = (await admin.get(`/api/recordings/${recId}/segments`)).data;
    const last = segments.sort((a, b) => a.start_sample - b.start_sample).at(-1);
    const start = Math.max(last.start_sample, rec.samples - Math.round(0.8 * rec.analysis_rate));
    const put = await admin.put(`/api/segments/${last.id}`, { version: last.version, save_id: 'trip-loop', start_sample: start, end_sample: rec.samples });
    assertEq(put.status, 200, `the segment ends at the end of the file (${JSON.stringify(put.data).slice(0, 200)})`);
    const { context, page } = await loginContext(browser, base, 'admin');
    await page.goto(`${base}/#/r/${recId}/s/${last.id}`);
    await page.waitForSelector('li.seg.selected textarea.text');
    await page.check('#loop');
    await page.evaluate(() => {
      const a = window.__fangyan.audio;
      window.__wraps = 0;
      a.addEventListener('seeked', () => { if (a.currentTime < a.duration - 0.5 && window.__reachedEnd) window.__wraps++; });
      a.addEventListener('timeupdate', () => { if (a.currentTime > a.duration - 0.2) window.__reachedEnd = true; });
      a.addEventListener('ended', () => { window.__reachedEnd = true; });
    });
    await page.click('li.seg.selected .when');
    await waitFor(() => page.evaluate(() => window.__wraps >= 1), 'the loop to wrap after the end of the file', 8000);
    await page.waitForTimeout(300);
    assertEq(await page.evaluate(() => window.__fangyan.audio.paused), false, 'still playing after the wrap');
    assertEq(await page.getAttribute('#play-state', 'data-state'), 'playing', 'the view says playing');
    const t = await page.evaluate(() => window.__fangyan.audio.currentTime);
    assert(t >= start / rec.analysis_rate - 0.05, `the playhead is inside the segment (${t})`);
    await page.click('#play');
    await context.close();
  }],

  ['3 the dashboard shows minutes and seconds for a short project, not 0.00 h', async () => {
    for (const [locale, re] of [['en-US', /\d+ s\b/], ['zh-CN', /\d+秒/]]) {
      const { context, page } = await loginContext(browser, base, 'admin', { locale });
      await page.goto(`${base}/#/p/${projectId}/dashboard`);
      await page.waitForSelector('p.summary');
      const summary = await page.textContent('p.summary');
      assert(!summary.includes('0.00'), `${locale}: no "0.00 h" (${summary})`);
      assert(re.test(summary), `${locale}: a duration in minutes and seconds (${summary})`);
      const cells = await page.$$eval('#progress tbody tr td:last-child', (tds) => tds.map((td) => td.textContent));
      assert(cells.every((c) => !c.startsWith('0.0')), `${locale}: progress durations (${cells})`);
      await context.close();
    }
  }],

  ['4 one progress during an upload; a refused upload shows a failed state, not a bar', async () => {
    // Two minutes of tone: ingest takes long enough to report progress more than once.
    const long = path.join(tmp, 'tone.wav');
    const ff = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=220:duration=240:sample_rate=44100', '-ac', '2', long]);
    assertEq(ff.status, 0, `ffmpeg made the tone: ${ff.stderr}`);
    const { context, page } = await loginContext(browser, base, 'admin');
    await page.goto(`${base}/#/p/${projectId}`);
    await page.waitForSelector('#upload-input');
    await page.evaluate(() => {
      window.__disagree = [];
      window.__both = 0;
      const look = () => {
        const li = document.querySelector('li.upload[data-state=processing]');
        const tr = document.querySelector('tr[data-status=importing]');
        if (!li || !tr) return;
        const a = li.querySelector('.upload-state').textContent;
        const b = tr.querySelector('.progress-label').textContent;
        const barA = li.querySelector('progress')?.value;
        const barB = tr.querySelector('progress')?.value;
        window.__both++;
        if (a !== b || barA !== barB) window.__disagree.push(`${a} (${barA}) | ${b} (${barB})`);
      };
      new MutationObserver(look).observe(document.getElementById('view'), { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.setInputFiles('#upload-input', long);
    await page.waitForSelector('li.upload[data-state=ready]', { timeout: 120000 });
    const seen = await page.evaluate(() => ({ both: window.__both, disagree: window.__disagree }));
    assert(seen.both > 0, 'the upload list and the table were both seen during processing');
    assertEq(JSON.stringify(seen.disagree.slice(0, 5)), '[]', 'the two progress displays agree');

    // Not audio: refused at upload (415/422 on purpose), shown as failed with the reason.
    const junk = path.join(tmp, 'notes.wav');
    fs.writeFileSync(junk, 'these are not audio bytes\n'.repeat(200));
    await page.setInputFiles('#upload-input', junk);
    await page.waitForSelector('li.upload[data-state=failed]');
    const failed = await page.$eval('li.upload[data-state=failed]', (li) => ({
      bars: li.querySelectorAll('progress').length, text: li.querySelector('.upload-state').textContent,
      error: li.querySelector('.upload-state').classList.contains('error'),
    }));
    assertEq(failed.bars, 0, 'no progress bar on a refused upload');
    assert(failed.error && /refused/.test(failed.text), `the refusal is shown as an error (${failed.text})`);
    assert(expectProblem(/HTTP 4\d\d POST .*\/recordings$|console error: Failed to load resource.*4\d\d/) >= 1, 'the refused upload (on purpose)');
    await context.close();
  }],

  ['5 "Import ASR" on a recording imports a file with any name, no mapping typed', async () => {
    const srt = path.join(tmp, 'whatever-the-asr-called-it.srt');
    fs.writeFileSync(srt, '1\n00:00:00,430 --> 00:00:03,790\n欢迎大家来体验达摩院推出的语音识别模型\n');
    const { context, page } = await loginContext(browser, base, 'admin');
    await page.goto(`${base}/#/r/${recId}`);
    await page.waitForSelector('#rec-asr-import');
    await page.setInputFiles('#rec-asr-file', srt);
    await page.waitForSelector('#rec-asr-results li');
    const line = await page.textContent('#rec-asr-results li');
    assert(!line.includes('no recording') && /created|attached/.test(line), `the import result is shown: ${line}`);
    const { segments } = (await admin.get(`/api/recordings/${recId}/segments`)).data;
    assert(segments.some((s) => (s.asr_text || '').includes('达摩院')), 'a segment has the ASR text');
    await waitFor(async () => (await page.$$eval('li.seg .preview', (els) => els.map((e) => e.textContent))).some((x) => x.includes('达摩院')), 'the list shows it');
    await context.close();
  }],

  ['6 the login page logs no console error and no failed request', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const mine = [];
    page.on('console', (m) => { if (m.type() === 'error') mine.push(`console error: ${m.text()}`); });
    page.on('response', (r) => { if (r.status() >= 400) mine.push(`HTTP ${r.status()} ${r.url()}`); });
    await page.goto(base + '/');
    await page.waitForSelector('form.login');
    await page.waitForTimeout(500);
    assertEq(JSON.stringify(mine), '[]', 'the login page');
    await context.close();
  }],

  ['7 no other console errors or failed requests', async () => {
    assertEq(JSON.stringify(problems, null, 1), '[]', 'problems');
  }],
];

const results = await runSteps(steps, browser);
await browser.close();
server.stop();
fs.rmSync(tmp, { recursive: true, force: true });
const failed = results.filter((r) => r[1] !== 'ok');
console.log(`\ntrips browser tests: ${results.length - failed.length} passed, ${failed.length} failed`);
if (failed.length) {
  const err = server.stderr();
  if (err) console.log('server log (tail):\n' + err.slice(-3000));
  process.exit(1);
}
