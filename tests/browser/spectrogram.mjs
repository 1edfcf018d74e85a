// A phonetician's view in the browser (issue 18): the spectrogram settings popover changes the
// tiles the browser asks for (wideband, mel, max_freq, range_db, pre_emphasis, gray: checked on
// the requests) and repaints (a hash of the panel's pixels); the settings survive a reload and
// belong to the user (a second user on the same browser sees the defaults); the Hz axis is
// labelled (DOM labels at the heights the server's axis puts those frequencies) and the cursor
// readout reads the frequency under the pointer; the waveform's vertical zoom and auto-gain
// change its pixels; a failing tile is retried after a back-off, not every frame; pitch,
// intensity and formants come as range tiles on the spectrogram's grid (or, from a server
// without them, the pitch falls back to the whole-file track after one 404); a recording of
// 20 000 segments opens with a windowed list and keyboard navigation works. A screenshot of two
// adjacent tiles at the deepest spectrogram zoom goes to target/screenshots/ for the seams check.
// Run: node tests/browser/spectrogram.mjs (after `cargo build`).

import fs from 'node:fs';
import path from 'node:path';
import {
  repo, shots, assert, assertEq, startServer, apiClient, launch, loginContext, waitFor, runSteps,
  problems, expectProblem,
} from './harness.mjs';

const AUDIO = path.join(repo, 'fixtures/real/en-librispeech-1995-1837-0001.wav');
const SHOTS = path.join(repo, 'target', 'screenshots');
fs.mkdirSync(SHOTS, { recursive: true });
fs.mkdirSync(shots, { recursive: true });

const server = await startServer();
const { base } = server;
const admin = await apiClient(base, 'admin');
const projectId = (await admin.get('/api/projects')).data.projects.find((p) => p.name === 'proj').id;

const browser = await launch();
let context; let page; let recId; let rec; let ranges; let formantsServed;
const tileRequests = [];
const segsOf = async (r) => (await admin.get(`/api/recordings/${r}/segments`)).data.segments;

/** The query of every spectrogram tile request since `from`. */
const tilesSince = (from) => tileRequests.slice(from).filter((u) => u.pathname.endsWith('/spectrogram')).map((u) => Object.fromEntries(u.searchParams));
const rangeSince = (from, kind) => tileRequests.slice(from).filter((u) => u.pathname.endsWith('/' + kind)).map((u) => Object.fromEntries(u.searchParams));

/** True when every spectrogram tile of the view is loaded (in the page). */
const specReady = () => page.evaluate(() => {
  const tl = window.__fangyan.timeline;
  if (tl.spp !== tl.tSpp || tl.start !== tl.tStart) return false;
  const level = tl.specLevel(tl.spp);
  if (level === null) return false;
  const span = 256 * 2 ** level;
  for (let i = Math.floor(tl.start / span); i * span < tl.start + tl.spp * tl.W; i++) if (!tl.specTile(level, i, false)) return false;
  return true;
});

/** An FNV-1a hash of the canvas pixels of a panel ('wave' or 'spec'), after the next frame. */
const panelHash = (panel) => page.evaluate(async (which) => {
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const tl = window.__fangyan.timeline;
  const [top, hgt] = tl.geometry()[which];
  const dpr = window.devicePixelRatio || 1;
  const ctx = tl.canvas.getContext('2d');
  const d = ctx.getImageData(0, Math.round(top * dpr), tl.canvas.width, Math.round(hgt * dpr)).data;
  let h = 0x811c9dc5;
  for (let i = 0; i < d.length; i += 4) { h ^= d[i] | (d[i + 1] << 8) | (d[i + 2] << 16); h = Math.imul(h, 16777619) >>> 0; }
  return h.toString(16);
}, panel);

async function openRecording() {
  await page.goto(`${base}/#/r/${recId}`);
  await page.waitForSelector('canvas.timeline[data-painted]');
  await page.waitForSelector('li.seg.selected textarea.text');
  await page.evaluate(() => window.__fangyan.audio.pause());
  await waitFor(specReady, 'the spectrogram tiles of the view');
}

async function openPopover() {
  if (!(await page.$('#spec-popover'))) await page.click('#spec-settings');
  await page.waitForSelector('#spec-popover');
}

const steps = [
  ['1 upload a recording and open it', async () => {
    const form = new FormData();
    form.append('file', new Blob([fs.readFileSync(AUDIO)]), 'librispeech.wav');
    const r = await admin.post(`/api/projects/${projectId}/recordings`, form);
    assertEq(r.status, 202, 'upload accepted');
    recId = r.data.recording;
    await waitFor(async () => (await admin.get(`/api/recordings/${recId}`)).data.status === 'ready', 'ingest', 60000, 200);
    rec = (await admin.get(`/api/recordings/${recId}`)).data;
    // Does this server have the range endpoints (issue 18)? An older one answers 404.
    const track = await admin.get(`/api/recordings/${recId}/track?start=0&end=${rec.samples}&width=64`);
    const formants = await admin.get(`/api/recordings/${recId}/formants?start=0&end=${rec.samples}&width=64&max_formant=5500`);
    ranges = track.status === 200;
    formantsServed = formants.status === 200;
    console.log(`     range endpoints: /track ${track.status}, /formants ${formants.status}${ranges && formantsServed ? '' : ' (the fallbacks are checked for what is missing)'}`);
    ({ context, page } = await loginContext(browser, base, 'admin'));
    page.on('request', (req) => {
      const u = new URL(req.url());
      if (/\/api\/recordings\/\d+\/(spectrogram|track|formants|pitch)$/.test(u.pathname)) tileRequests.push(u);
    });
    await openRecording();
    const first = tilesSince(0);
    assert(first.length > 0, 'spectrogram tiles were requested');
    for (const q of first) {
      assertEq([q.wideband, q.mel, q.gray, q.max_freq, q.range_db, q.pre_emphasis].join(' '), 'false false false 5000 70 50', 'the default settings are sent (Praat\'s)');
    }
  }],

  ['2 each setting of the popover changes the tiles requested and repaints', async () => {
    const changes = [
      ['window: wideband', () => page.selectOption('#spec-window', 'wide'), { wideband: 'true' }],
      ['axis: mel', () => page.selectOption('#spec-axis', 'mel'), { mel: 'true' }],
      ['maximum frequency', async () => { await page.fill('#spec-max-freq', '8000'); await page.press('#spec-max-freq', 'Enter'); }, { max_freq: '8000' }],
      ['dynamic range', async () => { await page.fill('#spec-range', '50'); await page.press('#spec-range', 'Enter'); }, { range_db: '50' }],
      ['pre-emphasis off', async () => { await page.fill('#spec-pre-emphasis', '0'); await page.press('#spec-pre-emphasis', 'Enter'); }, { pre_emphasis: '0' }],
      ['grey', () => page.selectOption('#spec-colours', 'gray'), { gray: 'true' }],
    ];
    await openPopover();
    let expected = {};
    for (const [what, act, want] of changes) {
      const before = await panelHash('spec');
      const from = tileRequests.length;
      await act();
      expected = { ...expected, ...want };
      await waitFor(async () => tilesSince(from).length > 0 && await specReady(), `${what}: new tiles`);
      const sent = tilesSince(from);
      for (const q of sent) for (const [k, v] of Object.entries(expected)) assertEq(q[k], v, `${what}: every new tile request carries ${k}=${v}`);
      const after = await panelHash('spec');
      // The server before issue 18 ignores pre_emphasis: the same picture comes back.
      if (what !== 'pre-emphasis off' || ranges) assert(after !== before, `${what}: the spectrogram repainted (${before} -> ${after})`);
      console.log(`     ${what}: ${sent.length} tile(s) asked for with ${JSON.stringify(want)}; pixels ${before} -> ${after}`);
    }
    await page.screenshot({ path: path.join(shots, 'spectrogram-settings.png') });
    await page.keyboard.press('Escape');
    assertEq(await page.$('#spec-popover'), null, 'Escape closes the popover');
    assertEq(await page.evaluate(() => document.activeElement.id), 'spec-settings', 'the focus goes back to its button');
  }],

  ['3 the Hz axis is labelled where the server draws those frequencies; the readout reads them', async () => {
    const axis = async () => page.$$eval('.axis-layer .axis-label.hz:not(.unit)', (ls) => ls.map((l) => ({ value: +l.dataset.value, top: l.offsetTop })));
    const geo = await page.evaluate(() => ({ ...window.__fangyan.timeline.geometry(), canvasTop: window.__fangyan.timeline.canvas.offsetTop, rate: window.__fangyan.timeline.rate }));
    const [specTop, specH] = geo.spec;
    const top = Math.min(8000, geo.rate / 2);
    const mel = (f) => 2595 * Math.log10(1 + f / 700);
    // Mel, up to min(8000 Hz, Nyquist): a label's centre sits at the row of its frequency.
    let labels = await axis();
    assert(labels.length >= 3, `at least three Hz labels on the mel axis (${JSON.stringify(labels)})`);
    for (const l of labels) {
      const y = specTop + specH - (mel(l.value) / mel(top)) * specH;
      assert(Math.abs(l.top + 7 - y) <= 1.5, `the ${l.value} Hz label is at its mel height (${l.top + 7} vs ${y.toFixed(1)})`);
    }
    assertEq(await page.textContent('.axis-label.unit.hz'), 'Hz', 'the axis names its unit');
    // Back to linear: the labels follow.
    await openPopover();
    await page.selectOption('#spec-axis', 'linear');
    await page.keyboard.press('Escape');
    await waitFor(specReady, 'linear tiles');
    labels = await axis();
    assert(labels.length >= 3, 'Hz labels on the linear axis');
    for (const l of labels) {
      const y = specTop + specH - (l.value / top) * specH;
      assert(Math.abs(l.top + 7 - y) <= 1.5, `the ${l.value} Hz label is at its linear height`);
    }
    // The readout: time and the frequency under the pointer.
    const box = await page.$eval('canvas.timeline', (c) => { const r = c.getBoundingClientRect(); return { x: r.x, y: r.y }; });
    await page.mouse.move(box.x + 300, box.y + specTop + specH / 2);
    await page.waitForSelector('#readout [data-field=freq]:not([hidden])');
    const freq = parseFloat(await page.textContent('#readout [data-field=freq] .value'));
    assert(Math.abs(freq - top / 2) < top / specH * 2, `the readout says about ${top / 2} Hz at mid-height (${freq})`);
    const time = await page.textContent('#readout [data-field=time] .value');
    assert(/^\d+:\d\d\.\d{3}$/.test(time), `the readout shows the time (${time})`);
    await page.mouse.move(box.x + 300, box.y + 40); // over the waveform: no frequency
    await waitFor(() => page.$eval('#readout [data-field=freq]', (e) => e.hidden), 'no frequency outside the spectrogram');
  }],

  ['4 the settings survive a reload and belong to the user', async () => {
    await page.reload();
    const from = tileRequests.length;
    await page.waitForSelector('canvas.timeline[data-painted]');
    await waitFor(specReady, 'tiles after the reload');
    for (const q of tilesSince(from)) assertEq([q.wideband, q.mel, q.gray, q.max_freq, q.range_db, q.pre_emphasis].join(' '), 'true false true 8000 50 0', 'after a reload the tiles carry the saved settings');
    await openPopover();
    assertEq(await page.inputValue('#spec-max-freq'), '8000', 'the popover shows the saved maximum');
    await page.keyboard.press('Escape');
    // Another user on the same browser: the defaults, not the admin's choice.
    await page.click('#logout');
    await page.waitForSelector('form.login');
    await page.fill('input[name=name]', 'transcriber');
    await page.fill('input[name=password]', 'transcriber-pw');
    await page.click('form.login button[type=submit]');
    await page.waitForSelector('ul.projects');
    const mark = tileRequests.length;
    await openRecording();
    for (const q of tilesSince(mark)) assertEq([q.wideband, q.mel, q.gray, q.max_freq, q.range_db, q.pre_emphasis].join(' '), 'false false false 5000 70 50', 'the second user gets the defaults');
    assert(tilesSince(mark).length > 0, 'the second user\'s tiles were requested');
    await page.click('#logout');
    await page.waitForSelector('form.login');
    await page.fill('input[name=name]', 'admin');
    await page.fill('input[name=password]', 'admin-pw');
    await page.click('form.login button[type=submit]');
    await page.waitForSelector('ul.projects');
    const again = tileRequests.length;
    await openRecording();
    for (const q of tilesSince(again)) assertEq(q.max_freq, '8000', 'the first user\'s settings are still theirs');
  }],

  ['5 waveform vertical zoom (keys, buttons, Shift+wheel) and auto-gain change its pixels', async () => {
    const gain = () => page.evaluate(() => window.__fangyan.timeline.effectiveGain);
    const h0 = await panelHash('wave');
    await page.click('canvas.timeline', { position: { x: 5, y: 5 } });
    await page.evaluate(() => document.activeElement.blur());
    await page.keyboard.press('Alt+Shift+Equal');
    await waitFor(async () => (await gain()) === 2, 'the gain to double');
    const h1 = await panelHash('wave');
    assert(h1 !== h0, 'the waveform is drawn taller');
    await page.click('#gain-down');
    await waitFor(async () => (await gain()) === 1, 'the button halves it');
    assertEq(await panelHash('wave'), h0, 'back to 1× draws what it drew');
    const box = await page.$eval('canvas.timeline', (c) => { const r = c.getBoundingClientRect(); return { x: r.x, y: r.y }; });
    await page.mouse.move(box.x + 400, box.y + 70);
    await page.keyboard.down('Shift');
    await page.mouse.wheel(0, -100);
    await page.keyboard.up('Shift');
    await waitFor(async () => (await gain()) === 2, 'Shift+wheel over the waveform zooms it');
    await page.check('#auto-gain');
    await waitFor(async () => (await gain()) !== 2, 'auto-gain picks its own gain');
    const g = await gain();
    const peak = await page.evaluate(() => { const c = window.__fangyan.timeline.cols; let p = 0; for (let i = 0; i < c.length; i++) if (Number.isFinite(c[i])) p = Math.max(p, Math.abs(c[i])); return p; });
    assert(Math.abs((peak / 32768) * g - 0.95) < 0.02, `auto-gain scales the loudest peak in view to 95 % (peak ${peak}, gain ${g.toFixed(2)})`);
    await page.keyboard.press('Alt+G');
    await waitFor(async () => !(await page.isChecked('#auto-gain')), 'Alt+G turns it off');
    await page.click('#gain-down');
    await waitFor(async () => (await gain()) === 1, 'back to 1×');
  }],

  ['6 a failing tile is retried after a back-off, not every frame', async () => {
    let refused = 0;
    await page.route(/\/spectrogram\?/, (route) => { refused++; return route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":{"code":"unavailable","message":"test"}}' }); });
    await openPopover();
    await page.fill('#spec-range', '60');
    await page.press('#spec-range', 'Enter');
    await page.keyboard.press('Escape');
    await page.waitForTimeout(300);
    const first = refused;
    assert(first > 0, 'the new tiles were asked for');
    // Two seconds of frames (the pointer moving makes them draw): no tile is asked for again yet.
    const box = await page.$eval('canvas.timeline', (c) => { const r = c.getBoundingClientRect(); return { x: r.x, y: r.y }; });
    for (let i = 0; i < 20; i++) { await page.mouse.move(box.x + 100 + i * 10, box.y + 200); await page.waitForTimeout(60); }
    assert(refused <= first + 1, `no retry storm: ${first} refused, then ${refused - first} more in 1.2 s`);
    await page.unroute(/\/spectrogram\?/);
    await waitFor(specReady, 'the tiles load after the back-off', 20000);
    const n = expectProblem(/HTTP 503 GET .*\/spectrogram\?|status of 503/);
    assert(n >= first, `the refused tiles were seen (${n})`);
  }],

  ['7 pitch, intensity and formants as range tiles on the spectrogram grid', async () => {
    const from = tileRequests.length;
    await page.keyboard.press('Alt+P');
    await openPopover();
    await page.check('#intensity-toggle');
    await page.check('#formants-toggle');
    await page.keyboard.press('Escape');
    const level = await page.evaluate(() => window.__fangyan.timeline.gridLevel(window.__fangyan.timeline.spp));
    const span = 256 * 2 ** level;
    const onGrid = (kind) => {
      const qs = rangeSince(from, kind);
      assert(qs.length > 0, `${kind} tiles were requested`);
      for (const q of qs) {
        assertEq(+q.start % span, 0, `${kind} tiles start on the spectrogram grid`);
        assert(+q.width <= 128 && +q.width >= 1, `${kind} tiles ask for at most 128 columns (${q.width})`);
      }
      return qs;
    };
    const tilesOf = (kind) => page.evaluate((k) => { const tl = window.__fangyan.timeline; return tl.rangeTiles(k, tl.gridLevel(tl.spp)).length; }, kind);
    if (ranges) {
      await waitFor(async () => (await tilesOf('track')) > 0, 'pitch and intensity tiles');
      onGrid('track');
      const f0 = await page.evaluate(() => { const tl = window.__fangyan.timeline; return tl.rangeTiles('track', tl.gridLevel(tl.spp)).reduce((n, t) => n + t.f0.filter((v) => v > 0).length, 0); });
      assert(f0 > 10, `voiced frames in the view (${f0})`);
    } else {
      // An older server: one probe of /track, then the whole-file pitch track.
      await waitFor(() => page.evaluate(() => !!window.__fangyan.timeline.wholeTrack), 'the whole-file track stands in');
      await page.waitForTimeout(500);
      assertEq(rangeSince(from, 'track').length, 1, 'one probe of /track');
      expectProblem(/HTTP 404 GET .*\/track\?|status of 404/);
    }
    if (formantsServed) {
      await waitFor(async () => (await tilesOf('formants')) > 0, 'formant tiles');
      for (const q of onGrid('formants')) assertEq(q.max_formant, '5500', 'the maximum formant (female) is sent');
      // Once the tiles asked for so far have come, every new one carries the new maximum.
      await waitFor(() => page.evaluate(() => {
        const tl = window.__fangyan.timeline;
        const level = tl.gridLevel(tl.spp);
        const span = 256 * 2 ** level;
        for (let i = Math.floor(tl.start / span); i * span < tl.start + tl.spp * tl.W; i++) if (!tl.rangeTile('formants', level, i, false)) return false;
        return true;
      }), 'every formant tile of the view');
      const mark = tileRequests.length;
      await openPopover();
      await page.selectOption('#max-formant', '5000');
      await page.keyboard.press('Escape');
      await waitFor(() => rangeSince(mark, 'formants').length > 0, 'formant tiles for a male speaker');
      for (const q of rangeSince(mark, 'formants')) assertEq(q.max_formant, '5000', 'the new maximum formant is sent');
    } else {
      await page.waitForTimeout(500);
      assertEq(rangeSince(from, 'formants').length, 1, 'one probe of /formants, no retries');
      assertEq(await page.evaluate(() => window.__fangyan.timeline.support.formants), 'no', 'the view knows the server has no formants');
      const n = expectProblem(/HTTP 404 GET .*\/formants\?|status of 404 \(Not Found\)/);
      assert(n >= 1, 'the probe is the failed request');
    }
    const labels = await page.$$eval('.axis-layer .axis-label', (ls) => [...new Set(ls.map((l) => l.dataset.axis))]);
    for (const a of ['hz', 'pitch', 'db']) assert(labels.includes(a), `the ${a} axis is labelled (${labels})`);
    await openPopover();
    await page.selectOption('#pitch-unit', 'st');
    await page.keyboard.press('Escape');
    await waitFor(async () => (await page.textContent('.axis-label.unit.pitch')) === 'st', 'the pitch axis in semitones');
    // The readout shows pitch and intensity at the pointer's time.
    const geo = await page.evaluate(() => window.__fangyan.timeline.geometry());
    const box = await page.$eval('canvas.timeline', (c) => { const r = c.getBoundingClientRect(); return { x: r.x, y: r.y }; });
    await page.mouse.move(box.x + 640, box.y + geo.spec[0] + 20);
    await page.waitForSelector('#readout [data-field=intensity]:not([hidden])');
    const db = parseFloat(await page.textContent('#readout [data-field=intensity] .value'));
    assert(db > 0 && db < 120, `an intensity in dB at the pointer (${db})`);
    await page.screenshot({ path: path.join(shots, 'spectrogram-pitch-formants.png') });
  }],

  ['8 two adjacent tiles at the deepest zoom: a screenshot for the seams check', async () => {
    // Pitch, intensity and formants off: the seams are judged on the spectrogram alone, and the
    // next views open without them (a server without /formants answers each view's probe: 404).
    await page.keyboard.press('Alt+P');
    await openPopover();
    await page.uncheck('#intensity-toggle');
    await page.uncheck('#formants-toggle');
    await page.keyboard.press('Escape');
    const at = await page.evaluate(() => {
      const tl = window.__fangyan.timeline;
      const span = 256 * 8;
      const k = Math.max(1, Math.round(tl.samples / 2 / span));
      const start = k * span - 8 * 600;
      tl.zoomTo(start, start + 8 * tl.W, false);
      return { x: Math.round(tl.xOf(k * span)), spp: tl.spp };
    });
    assertEq(at.spp, 8, 'the view is at 8 samples a pixel (256-px tiles, 1:1)');
    await waitFor(specReady, 'the deep-zoom tiles');
    const geo = await page.evaluate(() => window.__fangyan.timeline.geometry());
    const box = await page.$eval('canvas.timeline', (c) => { const r = c.getBoundingClientRect(); return { x: r.x, y: r.y }; });
    const file = path.join(SHOTS, 'spectrogram-seam.png');
    await page.screenshot({ path: file, clip: { x: box.x + at.x - 256, y: box.y + geo.spec[0], width: 512, height: geo.spec[1] } });
    // The seam figure of the acceptance, on the canvas: the mean absolute difference across
    // the boundary against the mean between neighbouring columns inside the tiles.
    const seam = await page.evaluate(([x, specTop, specH]) => {
      const tl = window.__fangyan.timeline;
      const d = tl.canvas.getContext('2d').getImageData(x - 256, specTop, 512, specH).data;
      const col = (c) => { const v = []; for (let y = 0; y < specH; y++) v.push(d[(y * 512 + c) * 4]); return v; };
      const diff = (a, b) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
      let inside = 0; let n = 0;
      for (let c = 1; c < 512; c++) if (c !== 256) { inside += diff(col(c - 1), col(c)); n++; }
      return { across: diff(col(255), col(256)), inside: inside / n };
    }, [at.x, geo.spec[0], geo.spec[1]]);
    console.log(`     seam at x=${at.x}: across the boundary ${seam.across.toFixed(2)}, between columns inside ${seam.inside.toFixed(2)} (grey levels); ${path.relative(repo, file)}`);
    if (ranges) assert(seam.across <= seam.inside * 1.5 + 1, `no visible seam (${seam.across.toFixed(2)} vs ${seam.inside.toFixed(2)})`);
  }],

  ['9 a recording of 20 000 segments opens with a windowed list; keys and focus work', async () => {
    // 20 000 cues of 20 ms, 5 ms apart, imported as ASR output onto a generated 8-minute file.
    const rate = 8000;
    const secs = 20000 * 0.025 + 1;
    const n = Math.round(secs * rate);
    const wav = Buffer.alloc(44 + n * 2);
    wav.write('RIFF', 0); wav.writeUInt32LE(36 + n * 2, 4); wav.write('WAVEfmt ', 8);
    wav.writeUInt32LE(16, 16); wav.writeUInt16LE(1, 20); wav.writeUInt16LE(1, 22); wav.writeUInt32LE(rate, 24);
    wav.writeUInt32LE(rate * 2, 28); wav.writeUInt16LE(2, 32); wav.writeUInt16LE(16, 34); wav.write('data', 36); wav.writeUInt32LE(n * 2, 40);
    for (let i = 0; i < n; i++) wav.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * 220 * i) / rate)), 44 + i * 2);
    const form = new FormData();
    form.append('file', new Blob([wav]), 'many.wav');
    const up = await admin.post(`/api/projects/${projectId}/recordings`, form);
    assertEq(up.status, 202, 'upload accepted');
    const many = up.data.recording;
    await waitFor(async () => (await admin.get(`/api/recordings/${many}`)).data.status === 'ready', 'ingest', 120000, 300);
    const ms = (t) => { const z = (v, k = 2) => String(v).padStart(k, '0'); return `00:${z(Math.floor(t / 60000) % 60)}:${z(Math.floor(t / 1000) % 60)},${z(t % 1000, 3)}`; };
    let srt = '';
    for (let i = 0; i < 20000; i++) srt += `${i + 1}\n${ms(i * 25)} --> ${ms(i * 25 + 20)}\n第${i + 1}句\n\n`;
    const asr = new FormData();
    asr.append('file', new Blob([srt]), 'many.srt');
    const imp = await admin.post(`/api/recordings/${many}/asr`, asr);
    assertEq(imp.status, 200, `ASR import (${JSON.stringify(imp.data).slice(0, 200)})`);
    const count = (await admin.get(`/api/recordings/${many}/segments`)).data.segments.length;
    assert(count >= 19000, `the recording has some 20 000 segments (${count})`);
    // First paint of the recording view, from a fresh load: the 20 000 against the few of step 1.
    const paint = async (id) => {
      await page.goto(`${base}/#/r/${id}`);
      await page.reload();
      await page.waitForSelector('canvas.timeline[data-painted]', { timeout: 20000 });
      await page.waitForSelector('li.seg.selected textarea.text');
      return page.evaluate(() => performance.getEntriesByName('fangyan:first-paint')[0].startTime);
    };
    const few = await paint(recId);
    const firstPaint = await paint(many);
    const mounted = await page.$$eval('#transcript li.seg', (ls) => ls.length);
    console.log(`     first paint: ${count} segments ${firstPaint.toFixed(0)} ms, ${(await segsOf(recId)).length} segments ${few.toFixed(0)} ms after navigation; ${mounted} rows in the DOM`);
    assert(mounted < 400, `only the rows near the viewport are in the DOM (${mounted})`);
    // The 20 000 segments' JSON itself takes the server some 0.5 s: the list adds little to it.
    assert(firstPaint < few + 2500, `the long list paints about as soon (${firstPaint.toFixed(0)} vs ${few.toFixed(0)} ms)`);
    // Keyboard navigation: Alt+ArrowDown thirty times; the editor follows with the focus.
    const first = await page.evaluate(() => +document.querySelector('li.seg.selected').dataset.id);
    for (let i = 0; i < 30; i++) await page.keyboard.press('Alt+ArrowDown');
    await waitFor(() => page.evaluate(() => document.activeElement.matches('li.seg.selected textarea.text')), 'the focus in the editor');
    const pos = await page.evaluate(() => +document.querySelector('li.seg.selected').getAttribute('aria-posinset'));
    assertEq(pos, 31, 'thirty rows down');
    assert(first !== await page.evaluate(() => +document.querySelector('li.seg.selected').dataset.id), 'the selection moved');
    // Scroll to the end of the list: the last rows are there; the selected row stays mounted.
    await page.evaluate(() => { const l = document.getElementById('transcript'); l.scrollTop = l.scrollHeight; });
    await waitFor(() => page.evaluate((c) => !!document.querySelector(`#transcript li.seg[aria-posinset="${c}"]`), count), 'the last row after scrolling');
    assert(await page.$('li.seg.selected textarea.text'), 'the selected row (the editor) is still mounted');
    await page.keyboard.press('Alt+ArrowDown');
    await waitFor(() => page.evaluate(() => +document.querySelector('li.seg.selected').getAttribute('aria-posinset') === 32), 'the next row from the keyboard');
    await page.screenshot({ path: path.join(shots, 'spectrogram-many-segments.png') });
  }],

  ['10 no console errors and no failed requests', async () => {
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
console.log(`\nspectrogram browser tests: ${results.length - failed.length} passed, ${failed.length} failed`);
if (failed.length) {
  const err = server.stderr();
  if (err) console.log('server log (tail):\n' + err.slice(-3000));
  process.exit(1);
}
