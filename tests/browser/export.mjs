// The export page: a segment approved through the API, then in the browser the admin opens
// #/p/{id}/export, picks a few layouts, starts the export, watches it finish and downloads
// the .tar.gz (checked: gzip bytes).
import fs from 'node:fs';
import path from 'node:path';
import { repo, assert, assertEq, startServer, apiClient, launch, loginContext, waitFor, problems } from './harness.mjs';

const server = await startServer();
let browser;
try {
  const { base } = server;
  const admin = await apiClient(base, 'admin');
  const transcriber = await apiClient(base, 'transcriber');
  const reviewer = await apiClient(base, 'reviewer');
  const project = (await admin.get('/api/projects')).data.projects.find((p) => p.name === 'proj').id;
  const form = new FormData();
  const bytes = fs.readFileSync(path.join(repo, 'fixtures/real/zh-funasr-binhai-query.wav'));
  form.append('file', new Blob([bytes]), 'binhai.wav');
  const up = await admin.post(`/api/projects/${project}/recordings`, form);
  assert(up.status === 202, `upload: ${JSON.stringify(up.data)}`);
  await waitFor(async () => (await admin.get(`/api/recordings/${up.data.recording}`)).data.status === 'ready', 'ingest', 60000);
  const claimed = (await transcriber.post(`/api/projects/${project}/claim`, {})).data.segment;
  const saved = (await transcriber.put(`/api/segments/${claimed.id}`, { version: claimed.version, save_id: 'x', text_verbatim: '我想问一下滨海' })).data;
  await transcriber.post(`/api/segments/${claimed.id}/submit`, { version: saved.version });
  const ok = await reviewer.post(`/api/segments/${claimed.id}/review`, { verdict: 'approved' });
  assert(ok.status === 200, `approve: ${JSON.stringify(ok.data)}`);

  browser = await launch();
  const { page } = await loginContext(browser, base, 'admin');
  await page.goto(`${base}/#/p/${project}`);
  await page.click('#export-link');
  await page.waitForSelector('#export-start');
  for (const l of ['lhotse', 'nemo', 'hf', 'cv', 'eaf', 'vtt', 'srt', 'nist', 'audacity']) await page.uncheck(`#layout-${l}`);
  await page.fill('#export-splits', '1,0,0');
  await page.click('#export-start');
  const href = await waitFor(() => page.getAttribute('#export-list a[download]', 'href'), 'export finished', 30000);
  const r = await page.request.get(base + href);
  const body = await r.body();
  assert(r.ok() && body[0] === 0x1f && body[1] === 0x8b, 'the download is a gzip stream');
  const e = (await admin.get('/api/projects/' + project + '/exports')).data.exports[0];
  assert(e.status === 'done' && e.utterances === 1, `one utterance exported: ${JSON.stringify(e)}`);
  assert(JSON.stringify(e.definition.options.layouts) === '["kaldi","textgrid"]', 'layouts from the page');
  // No console errors and no failed requests (the page is watched by loginContext).
  for (const p of problems) console.log(`  ${p}`);
  assertEq(JSON.stringify(problems, null, 1), '[]', 'problems');
  console.log('export page: ok');
} finally {
  if (browser) await browser.close();
  server.stop();
}
