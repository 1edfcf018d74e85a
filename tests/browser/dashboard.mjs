// The dashboard in the browser (issue 6): an admin imports ASR output through the project
// page, a transcriber corrects and submits through the API, and the dashboard's chart shows
// the same numbers as the API; a worst segment opens with a click; the CSV downloads.
// Run: node tests/browser/dashboard.mjs (after `cargo build`).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  repo, shots, assert, assertEq, startServer, apiClient, launch, loginContext, waitFor, runSteps,
  problems,
} from './harness.mjs';

const AUDIO = path.join(repo, 'fixtures/real/zh-funasr-binhai-query.wav');

fs.mkdirSync(shots, { recursive: true });
const server = await startServer();
const { base } = server;
const admin = await apiClient(base, 'admin');
const tx = await apiClient(base, 'transcriber');
const projectId = (await admin.get('/api/projects')).data.projects.find((p) => p.name === 'proj').id;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fangyan-dash-'));

const browser = await launch();
let context; let page; let recId;
const shot = (name) => page.screenshot({ path: path.join(shots, name + '.png') });

const steps = [
  ['1 upload a recording and import ASR output on the project page', async () => {
    const form = new FormData();
    form.append('file', new Blob([fs.readFileSync(AUDIO)]), 'binhai.wav');
    const r = await admin.post(`/api/projects/${projectId}/recordings`, form);
    assertEq(r.status, 202, 'upload accepted');
    recId = r.data.recording;
    await waitFor(async () => (await admin.get(`/api/recordings/${recId}`)).data.status === 'ready', 'ingest', 60000, 200);
    // An SRT named after the recording: matched by name.
    const srt = path.join(tmp, 'binhai.srt');
    fs.writeFileSync(srt, '1\n00:00:00,430 --> 00:00:03,790\n欢迎大家来体验达摩院推出的语音识别模型\n\n2\n00:00:04,000 --> 00:00:05,200\n你好沃德\n');
    ({ context, page } = await loginContext(browser, base, 'admin'));
    await page.goto(`${base}/#/p/${projectId}`);
    await page.waitForSelector('#asr-form');
    await page.setInputFiles('#asr-input', srt);
    await page.fill('#asr-model', 'paraformer-zh');
    await page.click('#asr-form button[type=submit]');
    await page.waitForSelector('#asr-results li');
    const line = await page.textContent('#asr-results li');
    assert(line.includes('binhai.wav') && line.includes('2 created'), `import result shown: ${line}`);
    await shot('dash-01-import');
  }],

  ['2 a transcriber corrects and submits both segments', async () => {
    const finals = { 0: '欢迎大家来体验达摩院推出的语音识别模型', 1: '你好世界' };
    const segs = (await tx.get(`/api/recordings/${recId}/segments`)).data.segments;
    assertEq(segs.length, 2, 'two segments from the ASR');
    for (const [i, seg] of segs.entries()) {
      const saved = await tx.put(`/api/segments/${seg.id}`, { version: seg.version, save_id: crypto.randomUUID(), text_verbatim: finals[i] });
      assertEq(saved.status, 200, 'saved');
      const sub = await tx.post(`/api/segments/${seg.id}/submit`, { version: saved.data.version });
      assertEq(sub.status, 200, `submitted: ${JSON.stringify(sub.data)}`);
    }
  }],

  ['3 the chart shows the API numbers', async () => {
    await page.goto(`${base}/#/p/${projectId}/dashboard`);
    await page.waitForSelector('#cer-chart g.bar');
    const api = (await admin.get(`/api/projects/${projectId}/metrics?by=model,dialect&sort=key`)).data;
    const bars = await page.$$eval('#cer-chart g.bar', (gs) => gs.map((g) => ({
      model: g.dataset.model, dialect: g.dataset.dialect, cer: g.dataset.cer, segments: g.dataset.segments,
      value: g.querySelector('text.value').textContent, width: +g.querySelector('rect').getAttribute('width'),
    })));
    assertEq(bars.length, api.rows.length, 'one bar per model × dialect');
    for (const [i, row] of api.rows.entries()) {
      assertEq(bars[i].model, row.model, 'model');
      assertEq(Number(bars[i].cer), row.cer, 'CER on the bar equals the API');
      assertEq(Number(bars[i].segments), row.segments, 'segments');
      assertEq(bars[i].value, `${(row.cer * 100).toFixed(1)}%`, 'the printed value');
    }
    // 你好沃德 → 你好世界: 2 substitutions in 23 characters.
    assertEq(api.rows[0].model, 'paraformer-zh', 'the model from the import form');
    assertEq(api.total.errors, 2, 'two errors in total');
    assert(bars[0].width > 1, 'the bar has a length');
    const progress = await page.$$eval('#progress tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    const submitted = progress.find((r) => r[0] === 'submitted');
    assertEq(submitted[1], '2', 'progress counts the submitted segments');
    await shot('dash-02-dashboard');
  }],

  ['4 a worst segment opens with a click; tables download as CSV', async () => {
    const worst = (await admin.get(`/api/projects/${projectId}/metrics?by=segment&limit=20`)).data.rows[0];
    await page.click('#worst tbody tr.clickable');
    await waitFor(() => page.evaluate(() => location.hash), 'navigation');
    assertEq(await page.evaluate(() => location.hash), `#/r/${recId}/s/${worst.segment}`, 'the worst segment opens');
    await page.waitForSelector('li.seg.selected');
    await page.goto(`${base}/#/p/${projectId}/dashboard`);
    await page.waitForSelector('#cer-chart');
    const hrefs = await page.$$eval('a.csv', (as) => as.map((a) => a.getAttribute('href')));
    assert(hrefs.length >= 4, `a CSV link per table (${hrefs.length})`);
    for (const href of hrefs) {
      const r = await page.evaluate(async (u) => { const res = await fetch(u); return [res.status, res.headers.get('content-type'), await res.text()]; }, href);
      assertEq(r[0], 200, `${href} downloads`);
      assert(r[1].startsWith('text/csv'), `${href} is CSV`);
      assert(r[2].split('\n')[0].length > 0, `${href} has a header row`);
    }
  }],

  ['5 speaker metadata: CSV import and an edit on the project page', async () => {
    const csv = path.join(tmp, 'speakers.csv');
    fs.writeFileSync(csv, 'code,gender,birthplace_province,birthplace_city,native_variety\nS01,female,广西,南宁,cmn-southwestern\nS02,male,四川,成都,cmn-southwestern\n');
    await page.goto(`${base}/#/p/${projectId}`);
    await page.waitForSelector('#speaker-csv');
    await page.setInputFiles('#speaker-csv', csv);
    await waitFor(() => page.$('li.speaker[data-code="S02"]'), 'imported speakers listed');
    assert((await page.textContent('li.speaker[data-code="S01"] .meta')).includes('南宁'), 'metadata shown');
    await page.click('li.speaker[data-code="S01"] button.edit-speaker');
    await page.fill('li.speaker[data-code="S01"] input[name=birthplace_city]', '柳州');
    await page.click('li.speaker[data-code="S01"] form button[type=submit]');
    await waitFor(async () => (await page.textContent('li.speaker[data-code="S01"] .meta')).includes('柳州'), 'edited city shown');
    const s1 = (await admin.get(`/api/projects/${projectId}/speakers`)).data.speakers.find((s) => s.code === 'S01');
    assertEq(s1.birthplace, '广西 柳州', 'the edit is saved');
    assertEq(s1.gender, 'female', 'other fields stay');
  }],

  ['6 no console errors and no failed requests', async () => {
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
  fs.rmSync(tmp, { recursive: true, force: true });
}
const failed = results.filter((r) => r[1] !== 'ok');
console.log(`\ndashboard browser tests: ${results.length - failed.length} passed, ${failed.length} failed`);
if (failed.length) {
  const err = server.stderr();
  if (err) console.log('server log (tail):\n' + err.slice(-3000));
  process.exit(1);
}
