// The export page of a project: choose layouts, filters, text layer, rate and splits; start an
// export (a background job); watch its progress; download the finished .tar.gz.

import * as api from '../api.js';
import { h, text, clear } from '../dom.js';
import { crumbs } from '../app.js';

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
  if (!r.ok) throw new Error((data.error && data.error.message) || r.statusText);
  return data;
}

function list(value) {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

export async function render(main, { project }) {
  const { projects } = await api.projects();
  const p = projects.find((x) => x.id === project);
  if (!p) { main.appendChild(h('p', { class: 'error' }, 'No such project.')); return; }
  crumbs([['Projects', '#/projects'], [p.name, `#/p/${p.id}`], ['Export']]);

  const boxes = LAYOUTS.map((l) => h('input', { type: 'checkbox', value: l, checked: true, id: `layout-${l}` }));
  const textLayer = h('select', { id: 'export-text' },
    ...['verbatim', 'display', 'normalised'].map((v) => text('option', v, { value: v })));
  const markers = h('select', { id: 'export-markers' },
    ...['keep', 'angle', 'upper', 'drop'].map((v) => text('option', v, { value: v })));
  const keepUnk = h('input', { type: 'checkbox', id: 'export-keep-unk' });
  const rate = h('input', { type: 'number', id: 'export-rate', value: 16000, min: 8000, max: 48000, step: 1000 });
  const splits = h('input', { id: 'export-splits', value: '0.8,0.1,0.1' });
  const seed = h('input', { type: 'number', id: 'export-seed', value: 0 });
  const stratify = h('input', { type: 'checkbox', id: 'export-stratify' });
  const status = h('input', { id: 'export-status', value: 'approved' });
  const labels = h('input', { id: 'export-labels', placeholder: 'variety=cmn-beijing, …' });
  const features = h('input', { id: 'export-features', placeholder: 'INIT_RETRO_TO_DENTAL, …' });
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
        text('td', e.status, { class: `status-${e.status}` }),
        h('td', {}, h('progress', { max: 100, value: pct }), ` ${pct}%`),
        text('td', e.utterances == null ? '' : `${e.utterances} utt., ${(e.seconds / 3600).toFixed(2)} h`),
        h('td', {}, e.status === 'done'
          ? h('a', { href: `/api/exports/${e.id}/download`, download: `export-${e.id}.tar.gz` }, 'Download .tar.gz')
          : text('span', e.error || '', { class: 'error' }))));
    }
    const busy = exports.some((e) => e.status === 'queued' || e.status === 'running');
    clearTimeout(timer);
    if (busy) timer = setTimeout(refresh, 1000);
  }

  async function start() {
    const ratios = list(splits.value).map(Number);
    const day = (el, end) => (el.value ? Date.parse(el.value) + (end ? 86400000 : 0) : null);
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
      msg.textContent = `Export ${r.export} started.`;
      await refresh();
    } catch (e) {
      msg.textContent = e.message;
    }
  }

  const field = (label, el) => h('label', { class: 'field' }, text('span', label), el);
  main.appendChild(h('section', { class: 'export' },
    text('h2', 'Export a corpus'),
    h('fieldset', {}, text('legend', 'Layouts'),
      ...boxes.map((b) => h('label', { class: 'check' }, b, ` ${b.value}`))),
    h('fieldset', {}, text('legend', 'Segments'),
      field('Status', status), field('Labels', labels), field('Features', features),
      field('Changed from', from), field('Changed to', to)),
    h('fieldset', {}, text('legend', 'Text and audio'),
      field('Text layer', textLayer), field('Markers', markers),
      h('label', { class: 'check' }, keepUnk, ' keep segments with [unk]'),
      field('Sample rate (Hz)', rate)),
    h('fieldset', {}, text('legend', 'Splits (speaker-disjoint)'),
      field('train,dev,test', splits), field('Seed', seed),
      h('label', { class: 'check' }, stratify, ' stratify by variety')),
    h('button', { type: 'button', id: 'export-start', onclick: start }, 'Start export'),
    msg,
    h('table', { class: 'exports' },
      h('thead', {}, h('tr', {}, ...['#', 'status', 'progress', 'size', ''].map((t) => text('th', t)))),
      table)));
  await refresh();
  return () => clearTimeout(timer);
}
