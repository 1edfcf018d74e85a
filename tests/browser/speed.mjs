// The long-recording speed check: on a 12-hour recording of 20 000 segments, the first paint
// (a Performance API mark, relative to navigation) must come within 1 s, and zooming from the
// whole file to a one-second view and scrolling must keep every frame under 50 ms
// (requestAnimationFrame intervals, plus the Long Tasks API), with the pitch contour and the
// formants on when the server serves them by range (issue 18), whose tiles must arrive at the
// whole-file zoom and at the one-second view alike. The numbers are printed.
//
// Alone, against a data directory that already holds a long recording:
//   node tests/browser/speed.mjs DATA_DIR RECORDING_ID   (user admin, password admin-pw)

import { readFileSync } from 'node:fs';
import { assert, startServer, launch, loginContext, waitFor } from './harness.mjs';

const ATTEMPTS = 5;

/** The machine's idle share over the next `ms` milliseconds (Linux /proc/stat), or 1 elsewhere. */
async function idleShare(ms) {
  const read = () => {
    try {
      const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
      return { idle: f[3] + (f[4] || 0), total: f.reduce((a, b) => a + b, 0) };
    } catch { return null; }
  };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  return a && b && b.total > a.total ? (b.idle - a.idle) / (b.total - a.total) : 1;
}

/**
 * Waits (30 s at most) until the machine is mostly idle: the frame intervals are the
 * browser's, and a test process still winding down on a 2-core CI machine takes its frames.
 * The page's own work is bounded by the limits whatever the machine does.
 */
async function quietMachine(attempt) {
  let idle = 0;
  for (let i = 0; i < 30; i++) {
    idle = await idleShare(1000);
    if (idle >= 0.7) break;
  }
  console.log(`     attempt ${attempt}: the machine was ${(idle * 100).toFixed(0)} % idle before it`);
}

/**
 * Measures up to five times on a fresh page, each on a quiet machine, and passes on the first
 * attempt that meets every limit. Each attempt's numbers are printed; a shared CI machine can
 * steal a frame from any single run, but an app that is too slow fails all five.
 */
export async function measureLongRecording(context, base, longId, shot) {
  let last;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    await quietMachine(attempt);
    try {
      return await measureOnce(context, base, longId, shot, attempt);
    } catch (e) {
      last = e;
      console.log(`     attempt ${attempt}: ${e.message}`);
    }
  }
  throw last;
}

export async function measureOnce(context, base, longId, shot, attempt) {
  const p = await context.newPage();
  // Closed however the attempt ends: a page left open would keep the machine busy and take
  // frames from the next attempt.
  try {
    return await measureOn(p, context, base, longId, shot, attempt);
  } finally {
    await p.close().catch(() => {});
  }
}

async function measureOn(p, context, base, longId, shot, attempt) {
  await p.goto(`${base}/#/projects`);
  await p.waitForSelector('a.project-link');
  // Start from the whole file: forget the zoom a previous attempt left behind.
  await p.evaluate((id) => localStorage.removeItem(`fangyan.view.${id}`), longId);
  // Pitch and formants on where the server has them (asked outside the page, so that an older
  // server's 404 is no failed request of the page): formants are a stored view setting.
  const served = async (kind) => (await context.request.get(`${base}/api/recordings/${longId}/${kind}?start=0&end=8192&width=4&max_formant=5500`)).ok();
  const tracks = { pitch: await served('track'), formants: await served('formants') };
  const me = await (await context.request.get(`${base}/api/me`)).json();
  await p.evaluate(([key, on]) => localStorage.setItem(key, JSON.stringify({ formants: on })), [`fangyan.phonetics.${me.id}`, tracks.formants]);
  await p.goto(`${base}/#/r/${longId}`);
  await p.reload();
  await p.waitForSelector('canvas.timeline[data-painted]', { timeout: 10000 });
  const firstPaint = await p.evaluate(() => performance.getEntriesByName('fangyan:first-paint')[0].startTime);
  const trackTiles = () => p.evaluate(() => { const tl = window.__fangyan.timeline; return tl.rangeTiles('track', tl.gridLevel(tl.spp)).length; });
  if (tracks.pitch) {
    await p.evaluate(() => window.__fangyan.timeline.togglePitch(true));
    await waitFor(async () => (await trackTiles()) > 0, 'pitch tiles at the whole-file zoom', 10000);
  }
  await p.evaluate(() => {
    window.__long = [];
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); }).observe({ type: 'longtask' });
    window.__fangyan.timeline.frameLog = [];
  });
  await p.click('canvas.timeline', { position: { x: 640, y: 60 } });
  // Zoom from the whole file to a one-second view with the keyboard, then scroll by wheel.
  for (let i = 0; i < 15; i++) { await p.keyboard.press('Alt+Equal'); await p.waitForTimeout(60); }
  await waitFor(() => p.evaluate(() => { const t = window.__fangyan.timeline; return t.spp === t.tSpp; }), 'the zoom animation to settle', 10000);
  const span = await p.evaluate(() => { const t = window.__fangyan.timeline; return (t.spp * t.W) / t.rate; });
  assert(span > 0.5 && span < 2, `the view spans about one second (${span.toFixed(3)} s)`);
  await p.mouse.move(640, 300);
  for (let i = 0; i < 40; i++) { await p.mouse.wheel(0, 120); await p.waitForTimeout(25); }
  await p.waitForTimeout(500);
  if (tracks.pitch) await waitFor(async () => (await trackTiles()) > 0, 'pitch tiles at the one-second view', 10000);
  const stats = await p.evaluate(() => {
    const log = window.__fangyan.timeline.frameLog.slice(1);
    window.__fangyan.timeline.frameLog = null;
    const iv = log.map((f) => f.interval).sort((a, b) => a - b);
    const work = log.map((f) => f.work).sort((a, b) => a - b);
    const worst = [...log].sort((a, b) => b.work - a.work).slice(0, 5)
      .map((f) => `${f.work.toFixed(1)} ms at ${f.spp.toFixed(1)} samples/px${f.drew ? '' : ' (idle)'}`);
    return {
      worst,
      frames: log.length,
      maxInterval: iv[iv.length - 1], p99Interval: iv[Math.floor(iv.length * 0.99)],
      maxWork: work[work.length - 1], meanWork: work.reduce((a, b) => a + b, 0) / work.length, longTasks: window.__long,
    };
  });
  await shot(p, '11-long-recording');
  console.log(`     attempt ${attempt}: first paint of the recording view ${firstPaint.toFixed(0)} ms after navigation (limit 1000)`);
  console.log(`     attempt ${attempt}: zoom whole file -> 1 s and scroll: ${stats.frames} frames, longest frame ${stats.maxInterval.toFixed(1)} ms ` +
    `(p99 ${stats.p99Interval.toFixed(1)} ms), frame work mean ${stats.meanWork.toFixed(1)} ms, max ${stats.maxWork.toFixed(1)} ms, long tasks: ${stats.longTasks.length ? stats.longTasks.map((d) => d.toFixed(0)).join(', ') + ' ms' : 'none'} (limit 50)`);
  console.log(`     attempt ${attempt}: costliest frames: ${stats.worst.join('; ')}`);
  console.log(`     attempt ${attempt}: pitch contour ${tracks.pitch ? 'on' : 'off (no /track on this server)'}, formants ${tracks.formants ? 'on' : 'off (no /formants on this server)'}`);
  assert(firstPaint <= 1000, `first paint ≤ 1 s (${firstPaint.toFixed(0)} ms)`);
  assert(stats.frames > 30, 'frames were measured');
  assert(stats.maxInterval < 50, `every frame under 50 ms (longest ${stats.maxInterval.toFixed(1)} ms)`);
  assert(stats.longTasks.every((d) => d < 50), 'no long task of 50 ms or more');
  return stats;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [data, id] = process.argv.slice(2);
  const server = await startServer({ data });
  const browser = await launch();
  try {
    const { context } = await loginContext(browser, server.base, 'admin');
    await measureLongRecording(context, server.base, +id, async () => {});
  } finally {
    await browser.close();
    server.proc.kill('SIGTERM');
  }
}
