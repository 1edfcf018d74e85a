// The project dashboard: progress (segments by status, audio hours), ASR CER by model ×
// dialect as an inline SVG bar chart, the worst segments (a click opens one), throughput and
// agreement per annotator, and a CSV download beside every table. Every number comes from
// the /api/projects/{id}/… tables; nothing is computed here but the bar lengths.

import * as api from '../api.js';
import { h, text } from '../dom.js';
import { crumbs } from '../app.js';

export const name = 'dashboard';

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element: attributes set with setAttribute, children appended (strings as text). */
function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const pct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`);
const num = (x, d = 2) => (x === null || x === undefined ? '—' : Number(x).toFixed(d));

/** A table with a caption and a CSV link. `cols`: [[header, row => value], …]. */
function table(id, caption, csvHref, cols, rows, onRow) {
  const body = h('tbody');
  for (const r of rows) {
    const tr = h('tr', onRow ? { class: 'clickable', tabindex: 0 } : {}, ...cols.map(([, f]) => text('td', String(f(r)))));
    if (onRow) {
      tr.addEventListener('click', () => onRow(r));
      tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') onRow(r); });
    }
    body.appendChild(tr);
  }
  if (!rows.length) body.appendChild(h('tr', {}, h('td', { colspan: cols.length, class: 'muted' }, 'Nothing yet.')));
  return h('section', { class: 'card', id },
    h('div', { class: 'table-head' }, h('h2', {}, caption),
      h('a', { href: csvHref, class: 'csv', download: `${id}.csv` }, 'CSV')),
    h('table', { class: 'data' }, h('thead', {}, h('tr', {}, ...cols.map(([c]) => h('th', {}, c)))), body));
}

/** Horizontal bars, one per model × dialect row, longest = worst. */
function cerChart(rows) {
  const barH = 22; const gap = 6; const labelW = 260; const plotW = 420; const top = 8;
  const max = Math.max(0.0001, ...rows.map((r) => r.cer ?? 0));
  const height = top + rows.length * (barH + gap) + 24;
  const chart = svg('svg', {
    id: 'cer-chart', width: labelW + plotW + 80, height, viewBox: `0 0 ${labelW + plotW + 80} ${height}`,
    role: 'img', 'aria-label': 'ASR character error rate by model and dialect',
  });
  rows.forEach((r, i) => {
    const y = top + i * (barH + gap);
    const w = ((r.cer ?? 0) / max) * plotW;
    const label = `${r.model || '(no model)'} · ${r.dialect || '(no dialect)'}`;
    const g = svg('g', { class: 'bar', 'data-model': r.model, 'data-dialect': r.dialect, 'data-cer': r.cer ?? '', 'data-segments': r.segments });
    g.append(
      svg('text', { x: labelW - 8, y: y + barH * 0.7, 'text-anchor': 'end', class: 'label' }, label),
      svg('rect', { x: labelW, y, width: Math.max(1, w), height: barH, class: 'cer' }, svg('title', {}, `${label}: CER ${pct(r.cer)} over ${r.n} characters, ${r.segments} segments`)),
      svg('text', { x: labelW + w + 6, y: y + barH * 0.7, class: 'value' }, pct(r.cer)));
    chart.appendChild(g);
  });
  chart.appendChild(svg('line', { x1: labelW, x2: labelW, y1: 0, y2: height - 20, class: 'axis' }));
  chart.appendChild(svg('text', { x: labelW, y: height - 4, class: 'axis-label' }, `0 — ${pct(max)} CER`));
  return chart;
}

export async function render(main, { project }) {
  const p = await api.project(project);
  crumbs([['Projects', '#/projects'], [p.name, `#/p/${project}`], ['Dashboard', null]]);
  const base = `/api/projects/${project}`;
  const canSeeScores = p.role === 'admin' || p.role === 'reviewer';
  const [prog, byModel, worst, people, agreement, features] = await Promise.all([
    api.progress(project),
    canSeeScores ? api.metrics(project, 'model,dialect', { sort: 'key' }) : null,
    canSeeScores ? api.metrics(project, 'segment', { limit: 20 }) : null,
    canSeeScores ? api.throughput(project) : null,
    canSeeScores ? api.agreementSummary(project) : null,
    canSeeScores ? api.featureStats(project) : null,
  ]);

  const status = table('progress', 'Progress', api.csvUrl(`${base}/progress`),
    [['Status', (r) => r.status], ['Segments', (r) => r.segments], ['Hours', (r) => num(r.hours, 3)]], prog.statuses);
  const summary = h('p', { class: 'summary' },
    `${prog.segments} segments, ${num(prog.segment_hours, 2)} h segmented of ${num(prog.recording_hours, 2)} h recorded.`);
  main.append(text('h1', `${p.name}: dashboard`), summary, status);
  if (!canSeeScores) return null;

  main.append(h('section', { class: 'card', id: 'cer-by-model' },
    h('div', { class: 'table-head' }, h('h2', {}, 'ASR CER by model × dialect'),
      h('a', { href: api.csvUrl(`${base}/metrics`, { by: 'model,dialect', sort: 'key' }), class: 'csv', download: 'cer-by-model.csv' }, 'CSV')),
    h('p', { class: 'muted' }, `Total: ${pct(byModel.total.cer)} CER, ${pct(byModel.total.wer)} WER over ${byModel.total.segments} finished segments (normaliser ${byModel.normaliser}).`),
    byModel.rows.length ? cerChart(byModel.rows) : h('p', { class: 'muted' }, 'No finished segments with ASR text yet.')));

  main.append(table('worst', 'Worst segments', api.csvUrl(`${base}/metrics`, { by: 'segment', limit: 20 }),
    [['CER', (r) => pct(r.cer)], ['Recording', (r) => r.recording], ['At', (r) => num(r.start_s, 1)],
      ['ASR', (r) => r.hypothesis], ['Final', (r) => r.reference], ['Model', (r) => r.model || '']],
    worst.rows, (r) => { location.hash = `#/r/${r.recording_id}/s/${r.segment}`; }));

  main.append(table('throughput', 'Throughput per person', api.csvUrl(`${base}/throughput`),
    [['Person', (r) => r.user], ['Segments', (r) => r.segments], ['Audio min', (r) => num(r.audio_minutes)],
      ['Active h', (r) => num(r.active_hours)], ['Audio min / h', (r) => num(r.minutes_per_hour)]], people.people));

  main.append(table('agreement', `Agreement (${agreement.segments} double-annotated segments, CER ${pct(agreement.cer)})`,
    api.csvUrl(`${base}/agreement/summary`),
    [['Annotator', (r) => r.user], ['Segments', (r) => r.segments], ['Differences', (r) => r.errors], ['Inter-annotator CER', (r) => pct(r.cer)]],
    agreement.annotators));
  if (agreement.kappa.length) {
    main.append(h('section', { class: 'card', id: 'kappa' }, h('h2', {}, "Cohen's kappa per label"),
      h('table', { class: 'data' }, h('thead', {}, h('tr', {}, h('th', {}, 'Field'), h('th', {}, 'Segments'), h('th', {}, 'κ'))),
        h('tbody', {}, ...agreement.kappa.map((k) => h('tr', {}, text('td', k.field), h('td', {}, String(k.segments)), h('td', {}, num(k.kappa, 3))))))));
  }

  // Accent features: the ASR's error rate inside each feature's spans against outside them.
  const outside = features.outside.cer;
  const featureRows = features.asr.map((r) => ({ ...r, model: r.feature, dialect: `${r.spans} spans` }));
  const chart = featureRows.length ? cerChart(featureRows) : h('p', { class: 'muted' }, 'No tagged spans in finished segments yet.');
  if (featureRows.length) chart.id = 'feature-chart';
  main.append(h('section', { class: 'card', id: 'features' },
    h('div', { class: 'table-head' }, h('h2', {}, 'Accent features: ASR CER inside tagged spans'),
      h('a', { href: api.csvUrl(`${base}/features/stats`, { table: 'asr' }), class: 'csv', download: 'feature-asr.csv' }, 'CSV')),
    h('p', { class: 'muted' }, `Outside every span: ${pct(outside)} CER over ${features.outside.chars} characters.`),
    chart,
    h('table', { class: 'data' },
      h('thead', {}, h('tr', {}, ...['Feature', 'Spans', 'Characters', 'Errors', 'CER inside', '× outside'].map((c) => h('th', {}, c)))),
      h('tbody', {}, ...features.asr.map((r) => h('tr', {}, text('td', r.feature), h('td', {}, String(r.spans)),
        h('td', {}, String(r.chars)), h('td', {}, String(r.errors)), h('td', {}, pct(r.cer)), h('td', {}, num(r.ratio))))))));
  main.append(table('feature-counts', 'Accent features by variety and speaker', api.csvUrl(`${base}/features/stats`, { table: 'counts' }),
    [['Feature', (r) => r.feature], ['Variety', (r) => r.variety], ['Speaker', (r) => r.speaker], ['Spans', (r) => r.spans]], features.counts));
  main.append(table('feature-agreement', 'Span agreement per feature (double-annotated segments)', api.csvUrl(`${base}/features/stats`, { table: 'agreement' }),
    [['Feature', (r) => r.feature], ['First', (r) => r.first], ['Second', (r) => r.second], ['Matched', (r) => r.matched], ['F1', (r) => num(r.f1, 3)]],
    features.agreement));
  return null;
}
