// Test harness: spawns the real `fangyan` binary on its own port and data directory, sets up
// users with the admin CLI, launches Debian's chromium through playwright-core, and runs
// named steps with real assertions. No browser is downloaded.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
export const shots = path.join(here, 'screenshots');

export function binary() {
  if (process.env.FANGYAN_BIN) return process.env.FANGYAN_BIN;
  const target = process.env.CARGO_TARGET_DIR || path.join(repo, 'target');
  // The release build, as scripts/test makes it (FANGYAN_BIN names another).
  return path.join(target, 'release', 'fangyan');
}

export function assert(cond, message) {
  if (!cond) throw new Error('assertion failed: ' + message);
}

export function assertEq(actual, expected, message) {
  if (actual !== expected) {
    throw new Error(`assertion failed: ${message}\n  expected: ${JSON.stringify(expected)?.slice(0, 300)}\n  actual:   ${JSON.stringify(actual)?.slice(0, 300)}`);
  }
}

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// With FANGYAN_BROWSER_DATABASE_URL (a Postgres server; scripts/test sets it for one browser
// file), every data directory gets its own schema there and the binary runs on Postgres.
const databases = new Map();
function databaseEnv(data) {
  const server = process.env.FANGYAN_BROWSER_DATABASE_URL;
  if (!server) return {};
  if (!databases.has(data)) {
    const schema = 'b' + Buffer.from(path.basename(data)).toString('hex').toLowerCase();
    const r = spawnSync('psql', [server, '-q', '-v', 'ON_ERROR_STOP=1', '-c', `CREATE SCHEMA IF NOT EXISTS ${schema}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`creating schema ${schema}: ${r.stderr}`);
    const sep = server.includes('?') ? '&' : '?';
    databases.set(data, `${server}${sep}options=-c%20search_path%3D${schema}`);
  }
  return { FANGYAN_DATABASE_URL: databases.get(data) };
}

function cli(data, args, input) {
  const env = { ...process.env, ...databaseEnv(data) };
  const r = spawnSync(binary(), [...args, '--data', data], { input, encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`fangyan ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** A server with users admin, transcriber, reviewer (password = name + "-pw") in project "proj". */
/** With `data`, serves that directory as it is instead; with `port`, on that port (a restart). */
export async function startServer(opts = {}) {
  const data = opts.data || fs.mkdtempSync(path.join(os.tmpdir(), 'fangyan-browser-'));
  if (!opts.data) {
    // `admin` is also an instance admin: the tests create projects through the API.
    for (const u of ['admin', 'transcriber', 'reviewer']) cli(data, ['user', 'add', u, '--password-stdin', ...(u === 'admin' ? ['--admin'] : [])], `${u}-pw\n`);
    cli(data, ['project', 'create', 'proj']);
    cli(data, ['project', 'add-member', 'proj', 'admin', '--role', 'admin']);
    cli(data, ['project', 'add-member', 'proj', 'transcriber', '--role', 'transcriber']);
    cli(data, ['project', 'add-member', 'proj', 'reviewer', '--role', 'reviewer']);
  }
  const port = opts.port || await freePort();
  const proc = spawn(binary(), ['serve', '--addr', `127.0.0.1:${port}`, '--data', data], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...databaseEnv(data), RUST_LOG: process.env.RUST_LOG || 'warn' },
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; if (stderr.length > 100000) stderr = stderr.slice(-50000); });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(base + '/api');
      if (r.ok) break;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    base, data, proc,
    stderr: () => stderr,
    stop() {
      proc.kill('SIGTERM');
      if (!opts.data) fs.rmSync(data, { recursive: true, force: true });
    },
  };
}

/** A small API client for checks from the test side (cookie session). */
export async function apiClient(base, name) {
  const res = await fetch(base + '/api/login', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password: `${name}-pw` }),
  });
  assert(res.ok, `login ${name}`);
  const cookie = res.headers.get('set-cookie').split(';')[0];
  const call = async (method, url, body) => {
    // A browser names its page's origin on every state-changing request (src/edge.rs).
    const init = { method, headers: { cookie, origin: base } };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) { init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    const r = await fetch(base + url, init);
    const data = await r.json().catch(() => null);
    return { status: r.status, data };
  };
  return {
    cookie,
    get: (u) => call('GET', u),
    post: (u, b) => call('POST', u, b),
    put: (u, b) => call('PUT', u, b),
  };
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
  });
}

/**
 * Console errors and failed requests (status >= 400 or no answer) of every page watched,
 * as "label: what" lines; a test that causes one on purpose removes it with `expectProblem`.
 */
export const problems = [];

/** Records the console errors and failed requests of `page` under `label`. */
export function watchProblems(page, label) {
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${label}: console error: ${m.text()}`); });
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText || '';
    // Navigations and media loads the page itself cancels are not failures of the app.
    if (why.includes('ERR_ABORTED')) return;
    problems.push(`${label}: request failed: ${r.method()} ${r.url()} ${why}`);
  });
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`${label}: HTTP ${r.status()} ${r.request().method()} ${r.url()}`); });
}

/** Removes the recorded problems matching `re` (caused on purpose); returns how many. */
export function expectProblem(re) {
  let n = 0;
  for (let i = problems.length - 1; i >= 0; i--) if (re.test(problems[i])) { problems.splice(i, 1); n++; }
  return n;
}

/**
 * A fresh browser context. The interface language follows the browser's: `locale` defaults
 * to en-US so that tests asserting English words get them (tests/browser/i18n.mjs passes
 * zh-CN); `timezoneId` as playwright takes it.
 */
export async function newContext(browser, { locale = 'en-US', timezoneId } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale, ...(timezoneId ? { timezoneId } : {}) });
  await serveWebFrom(context, process.env.FANGYAN_WEB_DIR);
  return context;
}

const TYPES = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8' };

/**
 * With FANGYAN_WEB_DIR (a checkout's web/ folder), the context's pages get the app shell and
 * its modules from that folder instead of the binary's embedded copy, with the headers the
 * server sends (its CSP): release builds embed web/ when they are compiled, so this tries a
 * change to web/ against a binary built before it, without a 10-minute build. Unset, nothing
 * is intercepted: the tests see what the binary serves.
 */
async function serveWebFrom(context, dir) {
  if (!dir) return;
  const root = path.resolve(dir);
  await context.route((url) => url.pathname === '/' || url.pathname.startsWith('/web/'), async (route) => {
    const url = new URL(route.request().url());
    const rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice('/web/'.length));
    const file = path.resolve(root, rel);
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file)) return route.continue();
    const response = await route.fetch();
    const headers = { ...response.headers(), 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' };
    delete headers['content-length'];
    delete headers.etag;
    await route.fulfill({ status: 200, headers, body: fs.readFileSync(file) });
  });
}

/** A fresh browser context logged in through the login page. */
export async function loginContext(browser, base, name, opts = {}) {
  const context = await newContext(browser, opts);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`  [${name} page error] ${e.message}`));
  watchProblems(page, name);
  await page.goto(base + '/');
  await page.waitForSelector('form.login');
  await page.fill('input[name=name]', name);
  await page.fill('input[name=password]', `${name}-pw`);
  await page.click('form.login button[type=submit]');
  await page.waitForSelector('ul.projects');
  return { context, page };
}

export async function waitFor(fn, what, timeout = 15000, every = 100) {
  const t0 = Date.now();
  let last;
  while (Date.now() - t0 < timeout) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last && last.message ? last.message : JSON.stringify(last)})`);
}

/** Runs steps in order; a failed step is reported and the rest still run when they can. */
export async function runSteps(steps, browser) {
  const results = [];
  for (const [name, fn] of steps) {
    const t0 = Date.now();
    try {
      await fn();
      results.push([name, 'ok', Date.now() - t0]);
      console.log(`ok   ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      results.push([name, 'FAILED', Date.now() - t0]);
      console.log(`FAIL ${name} (${Date.now() - t0} ms)\n     ${String(e.stack || e).split('\n').slice(0, 6).join('\n     ')}`);
      // What every open page shows, to explain the failure.
      let n = 0;
      for (const c of browser ? browser.contexts() : []) {
        for (const p of c.pages()) {
          n++;
          const what = await p.evaluate(() => `${location.hash} | ${document.getElementById('view').innerText.slice(0, 300).replace(/\s+/g, ' ')}`).catch((err) => err.message);
          console.log(`     page ${n}: ${what}`);
          await p.screenshot({ path: path.join(shots, `failed-${name.split(' ')[0]}-page${n}.png`) }).catch(() => {});
        }
      }
    }
  }
  return results;
}
