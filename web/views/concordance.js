// The concordance (issue 7): search a project's transcripts and span tags (text substring or
// regex, feature, realised form, status, label, speaker fields), shown keyword-in-context
// (left | match | right); each hit plays the audio around it, "Play all" plays them in turn,
// and the same query downloads as CSV.

import * as api from '../api.js';
import { h, text, clear, fmtTime } from '../dom.js';
import { crumbs } from '../app.js';
import { t, errorText, fmtNumber } from '../i18n.js';
import { schema, features } from '../tagging.js';

export const name = 'concordance';

export async function render(main, { project }) {
  const [p, sch] = await Promise.all([api.project(project), schema(project).catch(() => ({ features: [] }))]);
  crumbs([[t('nav.projects'), '#/projects'], [{ user: p.name }, `#/p/${project}`], [t('nav.concordance')]]);
  const saved = new URLSearchParams(location.hash.split('?')[1] || '');

  const input = (id, label, attrs = {}) => {
    const el = h('input', { type: 'text', id: `cq-${id}`, name: id, autocomplete: 'off', value: saved.get(id) || '', ...attrs });
    return [el, h('label', {}, label + ' ', el)];
  };
  const [textIn, textLabel] = input('text', t('cq.text'), { value: saved.get('text') || saved.get('regex') || '' });
  const regexBox = h('input', { type: 'checkbox', id: 'cq-regex', checked: saved.has('regex') });
  const feature = h('select', { id: 'cq-feature', name: 'feature' }, h('option', { value: '' }, t('cq.anyFeature')),
    features(sch).map((f) => h('option', { value: f.code, 'data-user': '' }, `${f.code} ${f.label_zh || ''} · ${f.label_en || ''}`)));
  feature.value = saved.get('feature') || '';
  const [realised, realisedLabel] = input('realised', t('cq.realised'));
  const status = h('select', { id: 'cq-status', name: 'status' },
    ['', 'new', 'in_progress', 'submitted', 'approved', 'rejected'].map((s) => h('option', { value: s }, s ? t(`segment.status.${s}`) : t('cq.anyStatus'))));
  status.value = saved.get('status') || '';
  const [label, labelLabel] = input('label', t('cq.label'), { placeholder: 'variety=cmn-southwestern', translate: 'no' });
  const [speaker, speakerLabel] = input('speaker', t('cq.speaker'));
  const [variety, varietyLabel] = input('native_variety', t('speaker.native_variety'));
  const [birthplace, birthplaceLabel] = input('birthplace', t('cq.birthplace'));
  const go = h('button', { type: 'submit', id: 'cq-search' }, t('cq.search'));
  const form = h('form', { class: 'concordance-form', id: 'concordance-form' },
    textLabel, h('label', {}, regexBox, ' ', t('cq.regex')), h('label', {}, t('cq.feature'), ' ', feature), realisedLabel,
    h('label', {}, t('cq.status'), ' ', status), labelLabel, speakerLabel, varietyLabel, birthplaceLabel, go);
  const info = h('p', { class: 'muted', id: 'cq-info' });
  const csv = h('a', { class: 'button csv', id: 'cq-csv', hidden: true }, t('cq.csv'));
  const playAll = h('button', { type: 'button', id: 'cq-play-all', disabled: true }, t('cq.playAll'));
  const stop = h('button', { type: 'button', id: 'cq-stop' }, t('cq.stop'));
  const audio = h('audio', { id: 'cq-audio', preload: 'none' });
  const results = h('ol', { class: 'kwic', id: 'kwic' });
  main.append(h('h1', {}, t('nav.concordance')), form, h('div', { class: 'toolbar' }, playAll, stop, csv, info), audio, results);

  const filters = () => {
    const f = {};
    const t = textIn.value.trim();
    if (t) f[regexBox.checked ? 'regex' : 'text'] = t;
    for (const [k, el] of [['feature', feature], ['realised', realised], ['status', status], ['label', label],
      ['speaker', speaker], ['native_variety', variety], ['birthplace', birthplace]]) {
      if (el.value.trim()) f[k] = el.value.trim();
    }
    return f;
  };

  // ---- playback: one audio element, seek to the clip, stop at its end ----------------------
  let stopAt = null;
  let onEnd = null;
  let playingLi = null;
  const finish = () => {
    stopAt = null;
    if (playingLi) playingLi.classList.remove('playing');
    playingLi = null;
    const f = onEnd;
    onEnd = null;
    if (f) f();
  };
  audio.addEventListener('timeupdate', () => {
    if (stopAt !== null && audio.currentTime >= stopAt) { audio.pause(); finish(); }
  });
  audio.addEventListener('ended', finish);
  audio.addEventListener('playing', () => { audio.dataset.played = String(+(audio.dataset.played || 0) + 1); });
  async function play(hit, li) {
    audio.pause();
    if (stopAt !== null) finish();
    const src = api.audioUrl(hit.recording_id);
    if (audio.getAttribute('src') !== src) {
      audio.src = src;
      audio.preload = 'auto';
      await new Promise((resolve, reject) => {
        audio.addEventListener('loadedmetadata', resolve, { once: true });
        audio.addEventListener('error', () => reject(new Error(t('cq.audioFailed'))), { once: true });
        audio.load();
      });
    }
    if (playingLi) playingLi.classList.remove('playing');
    playingLi = li;
    li.classList.add('playing');
    audio.currentTime = hit.clip_start;
    audio.dataset.clipStart = String(hit.clip_start);
    audio.dataset.clipEnd = String(hit.clip_end);
    stopAt = hit.clip_end;
    return new Promise((resolve) => {
      onEnd = resolve;
      audio.play().catch((e) => { info.textContent = t('rec.playbackFailed', { message: e.message }); finish(); });
    });
  }
  let playingAll = false;
  stop.addEventListener('click', () => { playingAll = false; audio.pause(); finish(); });

  let hits = [];
  async function search() {
    const f = filters();
    history.replaceState(null, '', `#/p/${project}/concordance?${new URLSearchParams(f)}`);
    clear(results);
    info.textContent = t('cq.searching');
    csv.hidden = true;
    try {
      const r = await api.concordance(project, { ...f, limit: 500 });
      hits = r.hits;
    } catch (e) {
      info.textContent = `${errorText(e)} (${e.code})`;
      hits = [];
      playAll.disabled = true;
      return;
    }
    info.textContent = t('cq.hits', { n: `${fmtNumber(hits.length)}${hits.length >= 500 ? '+' : ''}` });
    csv.href = api.concordanceCsvUrl(project, f);
    csv.hidden = false;
    playAll.disabled = !hits.length;
    hits.forEach((hit, i) => {
      const li = h('li', { class: 'hit', 'data-segment': hit.segment_id, 'data-span': hit.span_id ?? '' });
      const btn = h('button', { type: 'button', class: 'small play', 'aria-label': t('cq.playHit', { n: i + 1 }) }, '▶');
      btn.addEventListener('click', () => play(hit, li));
      // Element.append writes null as "null": absent parts are empty strings.
      li.append(btn, ' ',
        text('span', hit.left, { class: 'left', 'data-user': '' }),
        text('span', hit.match, { class: 'match', 'data-user': '' }),
        text('span', hit.right, { class: 'right', 'data-user': '' }), ' ',
        hit.feature ? h('code', { class: 'feature' }, hit.feature) : '', ' ',
        hit.span_id ? text('span', `${hit.expected} → ${hit.realised || '?'}`, { class: 'forms', 'data-user': '' }) : '', ' ',
        h('a', { href: `#/r/${hit.recording_id}/s/${hit.segment_id}`, class: 'muted' }, fmtTime(hit.clip_start, 1)));
      results.appendChild(li);
    });
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); search(); });
  playAll.addEventListener('click', async () => {
    playingAll = true;
    const lis = [...results.children];
    for (let i = 0; i < hits.length && playingAll; i++) {
      try { await play(hits[i], lis[i]); } catch (e) { info.textContent = e.message; break; }
    }
    playingAll = false;
  });
  if ([...saved.keys()].length) search();

  return () => { playingAll = false; audio.pause(); audio.removeAttribute('src'); };
}
