// The demo shows the job (issue 17, point 6): after `fangyan demo`, the project has ASR text
// from the ordinary import, a speaker with metadata, a worked span and guidelines that say
// what to try first; the transcriber's first claim shows the ASR text, and after the scripted
// correction the editor's diff and CER show the change; once reviewed, the dashboard's CER
// bar includes it. 0 console errors, 0 failed requests.
// Run: node tests/browser/demo.mjs (after `cargo build --release`).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  binary, assert, assertEq, launch, newContext, waitFor, runSteps, problems, watchProblems,
} from './harness.mjs';

const data = fs.mkdtempSync(path.join(os.tmpdir(), 'fangyan-demo-'));
const port = await new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const { port: p } = s.address(); s.close(() => resolve(p)); });
});
const base = `http://127.0.0.1:${port}`;
const proc = spawn(binary(), ['demo', '--addr', `127.0.0.1:${port}`, '--data', data], {
  stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' },
});
let out = '';
proc.stdout.on('data', (d) => { out += d; });
proc.stderr.on('data', (d) => { out += d; });

/** A cookie session of a demo user, from the test side. */
async function session(name) {
  const res = await fetch(base + '/api/login', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password: `${name}-demo` }),
  });
  assert(res.ok, `login ${name}`);
  const cookie = res.headers.get('set-cookie').split(';')[0];
  return async (method, url, body) => {
    const init = { method, headers: { cookie, origin: base } };
    if (body !== undefined) { init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    const r = await fetch(base + url, init);
    return { status: r.status, data: await r.json().catch(() => null) };
  };
}

async function loginPage(browser, name) {
  const context = await newContext(browser);
  const page = await context.newPage();
  watchProblems(page, name);
  await page.goto(base + '/');
  await page.waitForSelector('form.login');
  await page.fill('input[name=name]', name);
  await page.fill('input[name=password]', `${name}-demo`);
  await page.click('form.login button[type=submit]');
  await page.waitForSelector('ul.projects');
  return { context, page };
}

const browser = await launch();
let admin; let project; let page; let editorCer;

const steps = [
  ['0 the demo starts, set up through its own API', async () => {
    await waitFor(() => /try first/.test(out), 'the demo to print its logins', 120000, 200);
    admin = await session('admin');
    project = (await admin('GET', '/api/projects')).data.projects.find((p) => p.name === 'demo').id;
    const { recordings } = (await admin('GET', `/api/projects/${project}/recordings`)).data;
    assertEq(recordings.length, 2, 'two recordings');
    for (const r of recordings) {
      const { segments } = (await admin('GET', `/api/recordings/${r.id}/segments`)).data;
      assert(segments.length >= 1 && segments.every((s) => s.asr_source === 'srt' && s.asr_text), `${r.name}: ASR text on every segment: ${JSON.stringify(segments).slice(0, 300)}`);
    }
    const { speakers } = (await admin('GET', `/api/projects/${project}/speakers`)).data;
    const spk = speakers.find((s) => s.code === 'GX-LZ-F01');
    assert(spk && spk.birthplace_city === '柳州' && spk.gender === 'f', `a speaker with metadata: ${JSON.stringify(speakers)}`);
  }],

  ['1 the transcriber lands on guidelines that say what to try first', async () => {
    ({ page } = await loginPage(browser, 'transcriber'));
    await page.click('a.project-link');
    await page.waitForSelector('#guidelines .guideline-text');
    const shown = await page.textContent('#guidelines');
    assert(/Try this first/.test(shown) && /星区/.test(shown), `guidelines: ${shown.slice(0, 200)}`);
    await page.click('#guideline-ack');
    await page.waitForSelector('#guideline-acked');
  }],

  ['2 the first claim is the 星区 segment, ASR text in the editor', async () => {
    await page.click('#claim-next');
    await page.waitForSelector('li.seg.selected textarea.text');
    const value = await page.inputValue('li.seg.selected textarea.text');
    assertEq(value, '我想问我在滨海星区有房', 'the ASR text, pre-filled');
  }],

  ['3 the scripted correction shows in the diff and the live CER', async () => {
    const area = page.locator('li.seg.selected textarea.text');
    await area.fill('我想问我在滨海新区有房');
    await waitFor(async () => (await page.getAttribute('li.seg.selected .cer', 'data-cer')) !== '0.0000', 'the CER to move');
    const cer = Number(await page.getAttribute('li.seg.selected .cer', 'data-cer'));
    assert(Math.abs(cer - 1 / 11) < 1e-3, `one substitution in 11 characters: ${cer}`);
    const diff = await page.textContent('li.seg.selected .diff');
    assert(diff.includes('星') && diff.includes('新'), `the diff names both characters: ${diff}`);
    await waitFor(async () => {
      const id = Number(page.url().match(/\/s\/(\d+)/)[1]);
      const s = (await admin('GET', `/api/segments/${id}`)).data;
      return s.text_verbatim === '我想问我在滨海新区有房';
    }, 'the correction to be saved');
  }],

  ['3b the three layers: the project normaliser previews and scores what is typed (point 5)', async () => {
    const area = page.locator('li.seg.selected textarea.text');
    // A comma the ASR lacks: the browser alone counts it (2 in 12); the project's normaliser
    // strips punctuation, as the dashboard does (1 in 11).
    await area.fill('我想问我在滨海新区有房，');
    await page.click('#layers summary');
    await waitFor(async () => (await page.$('li.seg.selected .cer[data-source=project]:not([data-pending])')) !== null
      && (await page.textContent('#layers .norm-preview')) === '我想问我在滨海新区有房', 'the server preview');
    editorCer = Number(await page.getAttribute('li.seg.selected .cer', 'data-cer'));
    assert(Math.abs(editorCer - 1 / 11) < 1e-3, `the project normaliser's CER: ${editorCer}`);
    await page.click('#use-preview');
    await page.fill('#layers textarea.text_display', '我想问，我在滨海新区有房。');
    const id = Number(page.url().match(/\/s\/(\d+)/)[1]);
    await waitFor(async () => {
      const s = (await admin('GET', `/api/segments/${id}`)).data;
      return s.text_norm === '我想问我在滨海新区有房' && s.text_display === '我想问，我在滨海新区有房。'
        && s.text_verbatim === '我想问我在滨海新区有房，';
    }, 'the display and normalised layers to be saved');
  }],

  ['4 reviewed, the dashboard shows the CER with it', async () => {
    const id = Number(page.url().match(/\/s\/(\d+)/)[1]);
    const s = (await admin('GET', `/api/segments/${id}`)).data;
    const t = await session('transcriber');
    assertEq((await t('POST', `/api/segments/${id}/submit`, { version: s.version })).status, 200, 'submitted');
    const r = await session('reviewer');
    assertEq((await r('POST', `/api/segments/${id}/review`, { verdict: 'approved' })).status, 200, 'approved');
    const a = await loginPage(browser, 'admin');
    await a.page.goto(`${base}/#/p/${project}/dashboard`);
    await a.page.waitForSelector('#cer-chart g.bar');
    const bars = await a.page.$$eval('#cer-chart g.bar', (gs) => gs.map((g) => ({ cer: g.dataset.cer, segments: g.dataset.segments })));
    const segments = bars.reduce((n, b) => n + Number(b.segments), 0);
    assert(bars.some((b) => Number(b.cer) > 0) && segments >= 2, `a CER over both worked segments: ${JSON.stringify(bars)}`);
    // The editor said what the dashboard says for this segment.
    const rows = (await admin('GET', `/api/projects/${project}/metrics?by=segment`)).data.rows;
    const row = rows.find((x) => Number(x.segment) === id);
    assert(row && Math.abs(row.cer - editorCer) < 1e-4, `dashboard ${row && row.cer} = editor ${editorCer}`);
  }],

  ['5 no console errors, no failed requests', async () => {
    assert(!problems.length, problems.join('\n'));
  }],
];

const results = await runSteps(steps, browser);
await browser.close();
proc.kill('SIGTERM');
fs.rmSync(data, { recursive: true, force: true });
const failed = results.filter((r) => r[1] !== 'ok').length;
console.log(`\ndemo browser tests: ${results.length - failed} passed, ${failed} failed`);
if (failed) console.log('demo output (tail):\n' + out.slice(-3000));
process.exit(failed ? 1 : 0);
