// The export page of a project: choose layouts, filters, text layer, rate and splits; start an
// export (a background job); watch its progress; download the finished .tar.gz.

import * as api from '../api.js';
import { h, text, clear } from '../dom.js';
import { crumbs } from '../app.js';
import { t, errorText, fmtNumber, fmtDuration } from '../i18n.js';

export const name = 'export';

const LAYOUTS = ['kaldi', 'lhotse', 'nemo', 'hf', 'cv', 'textgrid', 'eaf', 'vtt', 'srt', 'nist', 'audacity'];

async function call(method, path, body) {
  const r = await fetch(path, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
    credentials: 'same-origin',
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    const e = new Error((data.error && data.error.message) || r.statusText);
    e.code = data.error && data.error.code;
    e.status = r.status;
    throw e;
  }
  return data;
}

function list(value) {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * The filter's day as the user's local midnight (a date input's value is a calendar day; 
 * `Date.parse("2026-12-01")` would read it as UTC midnight, 8 hours off in China), or, with
 * `end`, the next day's local midnight: the filter covers the whole day where the user is.
 */
export function localDay(value, end) {
  if (!value) return null;
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y, m - 1, d + (end ? 1 : 0)).getTime();
}

export async function render(main, { project }) {
  const { projects } = await api.projects();
  const p = projects.find((x) => x.id === project);
  if (!p) { main.appendChild(h('p', { class: 'error' }, t('project.noSuch'))); return; }
  crumbs([[t('nav.projects'), '#/projects'], [{ user: p.name }, `#/p/${p.id}`], [t('nav.export')]]);

  const boxes = LAYOUTS.map((l) => h('input', { type: 'checkbox', value: l, checked: true, id: `layout-${l}` }));
  const textLayer = h('select', { id: 'export-text' },
    ...['verbatim', 'display', 'normalised'].map((v) => h('option', { value: v }, t(`export.layer.${v}`))));
  const markers = h('select', { id: 'export-markers' },
    ...['keep', 'angle', 'upper', 'drop'].map((v) => h('option', { value: v }, t(`export.markers.${v}`))));
  const keepUnk = h('input', { type: 'checkbox', id: 'export-keep-unk' });
  const rate = h('input', { type: 'number', id: 'export-rate', value: 16000, min: 8000, max: 48000, step: 1000 });
  const splits = h('input', { id: 'export-splits', value: '0.8,0.1,0.1' });
  const seed = h('input', { type: 'number', id: 'export-seed', value: 0 });
  const stratify = h('input', { type: 'checkbox', id: 'export-stratify' });
  const status = h('input', { id: 'export-status', value: 'approved', translate: 'no' });
  const labels = h('input', { id: 'export-labels', translate: 'no', placeholder: 'variety=cmn-beijing, …' });
  const features = h('input', { id: 'export-features', translate: 'no', placeholder: 'INIT_RETRO_TO_DENTAL, …' });
  const from = h('input', { type: 'date', id: 'export-from' });
  const to = h('input', { type: 'date', id: 'export-to' });
  const msg = h('p', { class: 'muted', id: 'export-msg' });
  const table = h('tbody', { id: 'export-list' });
  let timer = null;

  async function refresh() {
    const { exports } = await call('GET', `/api/projects/${project}/exports`);
    clear(table);
    for (const e of exports) {
      const pct = Math.round(e.progress * 100);
      table.appendChild(h('tr', { 'data-id': e.id },
        text('td', String(e.id)),
        h('td', { class: `status-${e.status}`, 'data-status': e.status }, t(`export.status.${e.status}`)),
        h('td', {}, h('progress', { max: 100, value: pct }), ` ${fmtNumber(pct)}%`),
        h('td', {}, e.utterances == null ? '' : t('export.size', { n: fmtNumber(e.utterances), duration: fmtDuration(e.seconds) })),
        h('td', {}, e.status === 'done'
          ? h('a', { href: `/api/exports/${e.id}/download`, download: `export-${e.id}.tar.gz` }, t('export.download'))
          : text('span', e.error || '', { class: 'error', 'data-user': '' }))));
    }
    const busy = exports.some((e) => e.status === 'queued' || e.status === 'running');
    clearTimeout(timer);
    if (busy) timer = setTimeout(refresh, 1000);
  }

  async function start() {
    const ratios = list(splits.value).map(Number);
    const day = (el, end) => localDay(el.value, end);
    const body = {
      filters: {
        status: list(status.value), labels: list(labels.value), features: list(features.value),
        from_ms: day(from, false), to_ms: day(to, true),
      },
      options: {
        layouts: boxes.filter((b) => b.checked).map((b) => b.value),
        text_layer: textLayer.value, markers: markers.value, keep_unintelligible: keepUnk.checked,
        rate: Number(rate.value), splits: ratios, seed: Number(seed.value), stratify_by_variety: stratify.checked,
      },
    };
    try {
      const r = await call('POST', `/api/projects/${project}/exports`, body);
      msg.textContent = t('export.started', { id: r.export });
      await refresh();
    } catch (e) {
      msg.textContent = errorText(e);
    }
  }

  const field = (label, el) => h('label', { class: 'field' }, text('span', label), el);
  main.appendChild(h('section', { class: 'export' },
    h('h2', {}, t('export.title')),
    h('fieldset', {}, h('legend', {}, t('export.layouts')),
      ...boxes.map((b) => h('label', { class: 'check', translate: 'no' }, b, ` ${b.value}`))),
    h('fieldset', {}, h('legend', {}, t('export.segments')),
      field(t('export.statusField'), status), field(t('export.labels'), labels), field(t('export.features'), features),
      field(t('export.from'), from), field(t('export.to'), to)),
    h('fieldset', {}, h('legend', {}, t('export.textAudio')),
      field(t('export.textLayer'), textLayer), field(t('export.markers'), markers),
      h('label', { class: 'check' }, keepUnk, ' ', t('export.keepUnk')),
      field(t('export.rate'), rate)),
    h('fieldset', {}, h('legend', {}, t('export.splits')),
      field(t('export.splitRatios'), splits), field(t('export.seed'), seed),
      h('label', { class: 'check' }, stratify, ' ', t('export.stratify'))),
    h('button', { type: 'button', id: 'export-start', onclick: start }, t('export.start')),
    msg,
    h('table', { class: 'exports' },
      h('thead', {}, h('tr', {}, ...['#', t('export.col.status'), t('export.col.progress'), t('export.col.size'), ''].map((c) => h('th', {}, c)))),
      table)));
  await refresh();
  return () => clearTimeout(timer);
}
