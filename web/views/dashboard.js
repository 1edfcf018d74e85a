// The project dashboard: progress (segments by status, audio hours), ASR CER by model ×
// dialect as an inline SVG bar chart, the worst segments (a click opens one), throughput and
// agreement per annotator, the quality per transcriber over time (rejection rate and
// reviewer-corrected CER by day or week), and a CSV download beside every table. Every number comes from
// the /api/projects/{id}/… tables; nothing is computed here but the bar lengths.

import * as api from '../api.js';
import { h, text, clear } from '../dom.js';
import { crumbs } from '../app.js';
import { t, fmtNumber, fmtPercent, fmtDuration, fmtDate } from '../i18n.js';

export const name = 'dashboard';

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element: attributes set with setAttribute, children appended (strings as text). */
function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const pct = (x) => fmtPercent(x, 1);
const num = (x, d = 2) => fmtNumber(x, { minimumFractionDigits: d, maximumFractionDigits: d });
/** Hours as a duration: minutes and seconds under an hour ("3 min 20 s", not "0.06 h"). */
const hours = (x) => fmtDuration(x === null || x === undefined ? x : x * 3600);
/** A cell of user data (names, texts, models): excluded from the language checks. */
const user = (v) => ({ user: v });

/** A table with a caption and a CSV link. `cols`: [[header, row => value], …]. */
function table(id, caption, csvHref, cols, rows, onRow) {
  const body = h('tbody');
  for (const r of rows) {
    const tr = h('tr', onRow ? { class: 'clickable', tabindex: 0 } : {}, ...cols.map(([, f]) => {
      const v = f(r);
      return v !== null && typeof v === 'object' ? text('td', String(v.user ?? ''), { 'data-user': '' }) : text('td', String(v));
    }));
    if (onRow) {
      tr.addEventListener('click', () => onRow(r));
      tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') onRow(r); });
    }
    body.appendChild(tr);
  }
  if (!rows.length) body.appendChild(h('tr', {}, h('td', { colspan: cols.length, class: 'muted' }, t('dash.nothing'))));
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
    role: 'img', 'aria-label': t('dash.chartLabel'),
  });
  rows.forEach((r, i) => {
    const y = top + i * (barH + gap);
    const w = ((r.cer ?? 0) / max) * plotW;
    const label = `${r.model || t('dash.noModel')} · ${r.dialect || t('dash.noDialect')}`;
    const g = svg('g', { class: 'bar', 'data-model': r.model, 'data-dialect': r.dialect, 'data-cer': r.cer ?? '', 'data-segments': r.segments });
    g.append(
      svg('text', { x: labelW - 8, y: y + barH * 0.7, 'text-anchor': 'end', class: 'label', 'data-user': '' }, label),
      svg('rect', { x: labelW, y, width: Math.max(1, w), height: barH, class: 'cer' }, svg('title', {}, t('dash.barTitle', { label, cer: pct(r.cer), n: fmtNumber(r.n), segments: fmtNumber(r.segments) }))),
      svg('text', { x: labelW + w + 6, y: y + barH * 0.7, class: 'value' }, pct(r.cer)));
    chart.appendChild(g);
  });
  chart.appendChild(svg('line', { x1: labelW, x2: labelW, y1: 0, y2: height - 20, class: 'axis' }));
  chart.appendChild(svg('text', { x: labelW, y: height - 4, class: 'axis-label' }, `0 — ${pct(max)} CER`));
  return chart;
}

/** Per transcriber and day or week: decisions, rejection rate, reviewer-corrected CER. */
async function qualityCard(project, base) {
  const box = h('div', { class: 'quality-table' });
  const bucket = h('select', { id: 'quality-bucket', 'aria-label': t('dash.quality.bucket') },
    ...['week', 'day'].map((b) => h('option', { value: b }, t(`dash.quality.${b}`))));
  const csv = h('a', { class: 'csv', download: 'quality.csv' }, 'CSV');
  async function load() {
    const { rows } = await api.quality(project, bucket.value);
    csv.href = api.csvUrl(`${base}/quality`, { bucket: bucket.value });
    const t0 = table('quality-rows', '', '', [
      [t('dash.col.person'), (r) => user(r.user)], [t('dash.col.period'), (r) => fmtDate(r.bucket_start, { dateStyle: 'medium', timeZone: 'UTC' })],
      [t('dash.col.reviews'), (r) => fmtNumber(r.reviews)], [t('dash.col.rejections'), (r) => fmtNumber(r.rejections)],
      [t('dash.col.rejectionRate'), (r) => pct(r.rejection_rate)], [t('dash.col.approved'), (r) => fmtNumber(r.approved_segments)],
      [t('dash.col.correctedCer'), (r) => pct(r.cer)]], rows);
    clear(box).appendChild(t0.querySelector('table'));
    box.dataset.bucket = bucket.value;
  }
  bucket.addEventListener('change', () => load().catch(() => {}));
  await load();
  return h('section', { class: 'card', id: 'quality' },
    h('div', { class: 'table-head' }, h('h2', {}, t('dash.quality')),
      h('label', {}, t('dash.quality.bucket'), ' ', bucket), csv),
    h('p', { class: 'muted' }, t('dash.quality.help')), box);
}

export async function render(main, { project }) {
  const p = await api.project(project);
  crumbs([[t('nav.projects'), '#/projects'], [{ user: p.name }, `#/p/${project}`], [t('nav.dashboard'), null]]);
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

  const status = table('progress', t('dash.progress'), api.csvUrl(`${base}/progress`),
    [[t('dash.col.status'), (r) => t(`segment.status.${r.status}`)], [t('dash.col.segments'), (r) => fmtNumber(r.segments)], [t('dash.col.duration'), (r) => hours(r.hours)]], prog.statuses);
  const summary = h('p', { class: 'summary' },
    t('dash.summary', { segments: fmtNumber(prog.segments), segmented: hours(prog.segment_hours), recorded: hours(prog.recording_hours) }));
  main.append(h('h1', {}, text('span', p.name, { 'data-user': '' }), t('dash.titleSuffix')), summary, status);
  if (!canSeeScores) return null;

  main.append(h('section', { class: 'card', id: 'cer-by-model' },
    h('div', { class: 'table-head' }, h('h2', {}, t('dash.cerByModel')),
      h('a', { href: api.csvUrl(`${base}/metrics`, { by: 'model,dialect', sort: 'key' }), class: 'csv', download: 'cer-by-model.csv' }, 'CSV')),
    h('p', { class: 'muted' }, t('dash.total', { cer: pct(byModel.total.cer), wer: pct(byModel.total.wer), segments: fmtNumber(byModel.total.segments) }), ' ', h('code', {}, byModel.normaliser)),
    byModel.rows.length ? cerChart(byModel.rows) : h('p', { class: 'muted' }, t('dash.noAsr'))));

  main.append(table('worst', t('dash.worst'), api.csvUrl(`${base}/metrics`, { by: 'segment', limit: 20 }),
    [['CER', (r) => pct(r.cer)], [t('dash.col.recording'), (r) => user(r.recording)], [t('dash.col.at'), (r) => num(r.start_s, 1)],
      ['ASR', (r) => user(r.hypothesis)], [t('dash.col.final'), (r) => user(r.reference)], [t('dash.col.model'), (r) => user(r.model || '')]],
    worst.rows, (r) => { location.hash = `#/r/${r.recording_id}/s/${r.segment}`; }));

  main.append(table('throughput', t('dash.throughput'), api.csvUrl(`${base}/throughput`),
    [[t('dash.col.person'), (r) => user(r.user)], [t('dash.col.segments'), (r) => fmtNumber(r.segments)], [t('dash.col.audio'), (r) => fmtDuration(r.audio_minutes * 60)],
      [t('dash.col.active'), (r) => fmtDuration(r.active_hours * 3600)], [t('dash.col.minPerHour'), (r) => num(r.minutes_per_hour)]], people.people));

  main.append(await qualityCard(project, base));

  main.append(table('agreement', t('dash.agreement', { segments: fmtNumber(agreement.segments), cer: pct(agreement.cer) }),
    api.csvUrl(`${base}/agreement/summary`),
    [[t('dash.col.annotator'), (r) => user(r.user)], [t('dash.col.segments'), (r) => fmtNumber(r.segments)], [t('dash.col.differences'), (r) => fmtNumber(r.errors)], [t('dash.col.interCer'), (r) => pct(r.cer)]],
    agreement.annotators));
  if (agreement.kappa.length) {
    main.append(h('section', { class: 'card', id: 'kappa' }, h('h2', {}, t('dash.kappa')),
      h('table', { class: 'data' }, h('thead', {}, h('tr', {}, h('th', {}, t('dash.col.field')), h('th', {}, t('dash.col.segments')), h('th', {}, 'κ'))),
        h('tbody', {}, ...agreement.kappa.map((k) => h('tr', {}, h('td', {}, h('code', {}, k.field)), h('td', {}, fmtNumber(k.segments)), h('td', {}, num(k.kappa, 3))))))));
  }

  // Accent features: the ASR's error rate inside each feature's spans against outside them.
  const outside = features.outside.cer;
  const featureRows = features.asr.map((r) => ({ ...r, model: r.feature, dialect: t('dash.spans', { n: fmtNumber(r.spans) }) }));
  const chart = featureRows.length ? cerChart(featureRows) : h('p', { class: 'muted' }, t('dash.noSpans'));
  if (featureRows.length) chart.id = 'feature-chart';
  main.append(h('section', { class: 'card', id: 'features' },
    h('div', { class: 'table-head' }, h('h2', {}, t('dash.features')),
      h('a', { href: api.csvUrl(`${base}/features/stats`, { table: 'asr' }), class: 'csv', download: 'feature-asr.csv' }, 'CSV')),
    h('p', { class: 'muted' }, t('dash.outside', { cer: pct(outside), chars: fmtNumber(features.outside.chars) })),
    chart,
    h('table', { class: 'data' },
      h('thead', {}, h('tr', {}, ...['dash.col.feature', 'dash.col.spans', 'dash.col.chars', 'dash.col.errors', 'dash.col.cerInside', 'dash.col.ratio'].map((c) => h('th', {}, t(c))))),
      h('tbody', {}, ...features.asr.map((r) => h('tr', {}, h('td', {}, h('code', {}, r.feature)), h('td', {}, fmtNumber(r.spans)),
        h('td', {}, fmtNumber(r.chars)), h('td', {}, fmtNumber(r.errors)), h('td', {}, pct(r.cer)), h('td', {}, num(r.ratio))))))));
  main.append(table('feature-counts', t('dash.featureCounts'), api.csvUrl(`${base}/features/stats`, { table: 'counts' }),
    [[t('dash.col.feature'), (r) => user(r.feature)], [t('dash.col.variety'), (r) => user(r.variety)], [t('dash.col.speaker'), (r) => user(r.speaker)], [t('dash.col.spans'), (r) => fmtNumber(r.spans)]], features.counts));
  main.append(table('feature-agreement', t('dash.featureAgreement'), api.csvUrl(`${base}/features/stats`, { table: 'agreement' }),
    [[t('dash.col.feature'), (r) => user(r.feature)], [t('dash.col.first'), (r) => fmtNumber(r.first)], [t('dash.col.second'), (r) => fmtNumber(r.second)], [t('dash.col.matched'), (r) => fmtNumber(r.matched)], ['F1', (r) => num(r.f1, 3)]],
    features.agreement));
  return null;
}
