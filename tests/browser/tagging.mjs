// Span tagging in the browser (issue 7): a transcriber selects 是 in a transcript, picks
// INIT_RETRO_TO_DENTAL from the keyboard, sees shi4 pre-filled as the expected form, types si4
// as realised and saves; then finds the tag in the concordance and plays it. An admin's
// attempt to remove the feature now in use is refused on the schema page (409 tag_in_use).
// Run: node tests/browser/tagging.mjs (after `cargo build`).

import fs from 'node:fs';
import path from 'node:path';
import {
  repo, shots, assert, assertEq, startServer, apiClient, launch, loginContext, waitFor, runSteps,
  problems, expectProblem,
} from './harness.mjs';

const AUDIO = path.join(repo, 'fixtures/real/zh-funasr-binhai-query.wav');
const FEATURE = 'INIT_RETRO_TO_DENTAL';
const TEXT = '这个是我的';

fs.mkdirSync(shots, { recursive: true });
const server = await startServer();
const { base } = server;
const admin = await apiClient(base, 'admin');
const tx = await apiClient(base, 'transcriber');
const projectId = (await admin.get('/api/projects')).data.projects.find((p) => p.name === 'proj').id;

const browser = await launch();
let page; let recId; let segId;
const shot = (name) => page.screenshot({ path: path.join(shots, name + '.png') });

const steps = [
  ['0 a ready recording with a segment reading 这个是我的', async () => {
    const form = new FormData();
    form.append('file', new Blob([fs.readFileSync(AUDIO)]), 'binhai.wav');
    const r = await admin.post(`/api/projects/${projectId}/recordings`, form);
    assertEq(r.status, 202, 'upload accepted');
    recId = r.data.recording;
    await waitFor(async () => (await admin.get(`/api/recordings/${recId}`)).data.status === 'ready', 'ingest', 60000, 200);
    const rec = (await admin.get(`/api/recordings/${recId}`)).data;
    const seg = await tx.post(`/api/recordings/${recId}/segments`, {
      start_sample: Math.round(0.4 * rec.analysis_rate), end_sample: Math.round(3.8 * rec.analysis_rate), text_verbatim: TEXT,
    });
    assertEq(seg.status, 200, `segment created: ${JSON.stringify(seg.data)}`);
    segId = seg.data.id;
    assertEq(seg.data.text_verbatim, TEXT, 'the text');
  }],

  ['1 select 是 in the transcript', async () => {
    ({ page } = await loginContext(browser, base, 'transcriber'));
    await page.goto(`${base}/#/r/${recId}/s/${segId}`);
    await page.waitForSelector('li.seg.selected textarea.text');
    await waitFor(() => page.evaluate(() => document.activeElement && document.activeElement.matches('textarea.text')), 'the text box has the focus');
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Shift+ArrowRight');
    const sel = await page.evaluate(() => { const a = document.activeElement; return a.value.slice(a.selectionStart, a.selectionEnd); });
    assertEq(sel, '是', 'the selection');
  }],

  ['2 pick the feature from the keyboard', async () => {
    await page.keyboard.press('Alt+KeyF');
    await page.waitForSelector('#tag-dialog #feature-filter');
    assertEq(await page.textContent('#tag-chars'), '是', 'the dialog tags 是');
    const all = await page.$$eval('#feature-list li[data-code]', (lis) => lis.length);
    await page.keyboard.type('平翘');
    await waitFor(async () => (await page.$$('#feature-list li[data-code]')).length < all, 'the list filters');
    // Arrow down to the feature, whichever row it is on.
    for (let i = 0; i < 10; i++) {
      const cur = await page.getAttribute('#feature-list li.current', 'data-code');
      if (cur === FEATURE) break;
      await page.keyboard.press('ArrowDown');
    }
    assertEq(await page.getAttribute('#feature-list li.current', 'data-code'), FEATURE, 'the feature is current');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#tag-form');
    assertEq(await page.getAttribute('#tag-feature', 'data-code'), FEATURE, 'the chosen feature');
  }],

  ['3 shi4 is pre-filled as expected; type si4 as realised', async () => {
    await waitFor(async () => (await page.inputValue('#tag-expected')) === 'shi4', 'shi4 pre-filled');
    assertEq(await page.evaluate(() => document.activeElement.id), 'tag-realised', 'the realised box has the focus');
    await page.keyboard.type('si4');
    await waitFor(async () => (await page.$$eval('#tag-suggestions li', (lis) => lis.map((l) => l.dataset.code))).includes(FEATURE), 'the suggestion');
    await shot('tag-01-dialog');
  }],

  ['4 save: the span exists with 是, shi4, si4', async () => {
    await page.keyboard.press('Enter');
    await page.waitForSelector('#tag-dialog', { state: 'detached' });
    const spans = (await tx.get(`/api/segments/${segId}/spans`)).data.spans;
    assertEq(spans.length, 1, 'one span');
    const s = spans[0];
    assertEq(JSON.stringify([s.chars, s.feature, s.expected, s.realised, s.char_start, s.char_end]), JSON.stringify(['是', FEATURE, 'shi4', 'si4', 2, 3]), 'the span');
    await page.waitForSelector(`#spans li.span[data-id="${s.id}"]`);
    const row = await page.textContent(`#spans li.span[data-id="${s.id}"]`);
    assert(row.includes('shi4 → si4'), `the span is listed: ${row}`);
    await shot('tag-02-saved');
  }],

  ['4b segment labels from the schema: speech mode and noise', async () => {
    await page.waitForSelector('#segment-tags select[data-field="mode"]');
    await page.selectOption('#segment-tags select[data-field="mode"]', 'accented_putonghua');
    await waitFor(async () => (await page.textContent('#segment-tags .tag-state')) === 'saved', 'tags saved');
    await page.check('#segment-tags fieldset[data-field="noise"] input[value="traffic"]');
    await waitFor(async () => {
      const t = (await tx.get(`/api/segments/${segId}/tags`)).data.tags;
      return t.mode?.[0] === 'accented_putonghua' && JSON.stringify(t.noise) === '["traffic"]';
    }, 'the labels reach the server');
  }],

  ['5 find it in the concordance and play it', async () => {
    await page.goto(`${base}/#/p/${projectId}`);
    await page.click('#concordance-link');
    await page.waitForSelector('#concordance-form');
    await page.selectOption('#cq-feature', FEATURE);
    await page.click('#cq-search');
    await page.waitForSelector('#kwic li.hit');
    const hits = await page.$$eval('#kwic li.hit', (lis) => lis.map((l) => [l.querySelector('.left').textContent, l.querySelector('.match').textContent, l.querySelector('.right').textContent]));
    assertEq(hits.length, 1, 'one hit');
    assertEq(hits[0].join('|'), '这个|是|我的', 'keyword in context');
    const csv = await page.getAttribute('#cq-csv', 'href');
    const body = await page.evaluate(async (u) => (await fetch(u)).text(), csv);
    assert(body.split('\n')[1].includes(FEATURE) && body.includes('si4'), `the CSV has the hit: ${body}`);
    await page.click('#kwic li.hit button.play');
    const start = Number(await waitFor(() => page.getAttribute('#cq-audio', 'data-clip-start'), 'the clip starts'));
    await waitFor(() => page.evaluate(() => {
      const a = document.getElementById('cq-audio');
      return Number(a.dataset.played || 0) >= 1 && !a.paused && a.currentTime > Number(a.dataset.clipStart) + 0.05;
    }), 'the audio plays past the clip start', 10000, 50);
    const t = await page.evaluate(() => document.getElementById('cq-audio').currentTime);
    assert(t > start && t < 3.9, `playing inside the clip (${t} after ${start})`);
    await shot('tag-03-concordance');
    // It stops at the clip's end.
    const end = Number(await page.getAttribute('#cq-audio', 'data-clip-end'));
    await waitFor(() => page.evaluate(() => document.getElementById('cq-audio').paused), 'the clip ends', 10000, 50);
    const stopped = await page.evaluate(() => document.getElementById('cq-audio').currentTime);
    assert(stopped >= end - 0.05 && stopped < end + 0.5, `stopped at the clip end (${stopped} vs ${end})`);
  }],

  ['6 the schema page refuses to remove the feature in use (409 tag_in_use)', async () => {
    const { page: ap } = await loginContext(browser, base, 'admin');
    await ap.goto(`${base}/#/p/${projectId}/schema`);
    await ap.waitForSelector('#schema-json');
    assert(await ap.$(`.schema-features tr[data-code="${FEATURE}"]`), 'the feature is listed');
    const json = JSON.parse(await ap.inputValue('#schema-json'));
    json.features = json.features.filter((f) => f.code !== FEATURE);
    await ap.fill('#schema-json', JSON.stringify(json));
    await ap.click('#schema-save');
    await waitFor(async () => (await ap.textContent('#schema-msg')).includes('tag_in_use'), 'the refusal');
    assert((await ap.textContent('#schema-msg')).includes('409'), 'the status is shown');
    assert(expectProblem(/^admin: (HTTP 409 PUT .*\/api\/projects\/\d+\/tag-schema$|console error: Failed to load resource: .*409 \(Conflict\))/) >= 1, 'the refused schema save (on purpose)');
    await ap.close();
  }],

  ['7 no other console errors or failed requests', async () => {
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
}
const failed = results.filter((r) => r[1] !== 'ok');
console.log(`\ntagging browser tests: ${results.length - failed.length} passed, ${failed.length} failed`);
if (failed.length) {
  const err = server.stderr();
  if (err) console.log('server log (tail):\n' + err.slice(-3000));
  process.exit(1);
}
