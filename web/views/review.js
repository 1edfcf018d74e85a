// The review queue: submitted segments of a project, each with the ASR hypothesis, the
// transcriber's text and their character diff side by side, a play button and the segment's
// comment thread; approve or reject (with a comment) by button or keyboard.

import * as api from '../api.js';
import { h, text, clear, fmtTime } from '../dom.js';
import { crumbs } from '../app.js';
import * as keys from '../keys.js';
import { renderDiff } from '../textdiff.js';
import * as comments from '../comments.js';
import { t, errorText, fmtNumber } from '../i18n.js';

export const name = 'review';

export async function render(main, { project }) {
  const { projects } = await api.projects();
  const p = projects.find((x) => x.id === project);
  if (!p) { main.appendChild(h('p', { class: 'error' }, t('project.noSuch'))); return; }
  crumbs([[t('nav.projects'), '#/projects'], [{ user: p.name }, `#/p/${p.id}`], [t('nav.reviewQueue')]]);
  const list = h('ol', { class: 'transcript review-list', id: 'review-list' });
  const comment = h('textarea', { id: 'review-comment', rows: 2, dir: 'auto', placeholder: t('review.commentPlaceholder') });
  const info = h('p', { class: 'muted', id: 'review-info' });
  const audio = new Audio();
  audio.preservesPitch = true;
  let stopAt = null;
  audio.addEventListener('timeupdate', () => { if (stopAt !== null && audio.currentTime >= stopAt) { audio.pause(); stopAt = null; } });
  let segs = [];
  let cur = 0;
  const rates = new Map();

  async function load() {
    segs = (await api.reviewQueue(project)).segments;
    for (const id of new Set(segs.map((s) => s.recording_id))) {
      if (!rates.has(id)) rates.set(id, await api.recording(id));
    }
    clear(list);
    segs.forEach((s, i) => list.appendChild(row(s, i)));
    if (!segs.length) list.appendChild(h('li', { class: 'muted', id: 'review-empty' }, t('review.empty')));
    info.textContent = t('review.waiting', { n: fmtNumber(segs.length) });
    focus(Math.min(cur, segs.length - 1));
  }
  function row(s, i) {
    const diffEl = h('div', { class: 'diff', dir: 'auto' });
    renderDiff(diffEl, s.asr_text || '', s.text_verbatim);
    const column = (cls, label, body) => h('section', { class: `col ${cls}` }, h('h4', {}, label), body);
    const threadBox = h('div', { class: 'thread-box' });
    const threadButton = h('button', { type: 'button', class: 'thread-toggle' }, t('comments.open'));
    threadButton.addEventListener('click', () => {
      if (threadBox.firstChild) { clear(threadBox); threadButton.textContent = t('comments.open'); return; }
      threadBox.appendChild(comments.thread(s));
      threadButton.textContent = t('comments.close');
    });
    const li = h('li', { class: 'seg', 'data-id': s.id },
      h('span', { class: 'when mono' }, `${fmtTime(s.start_sample / rates.get(s.recording_id).analysis_rate, 2)} – ${fmtTime(s.end_sample / rates.get(s.recording_id).analysis_rate, 2)}`),
      text('span', rates.get(s.recording_id).name, { class: 'muted', 'data-user': '' }),
      h('div', { class: 'side-by-side' },
        column('asr', t('review.col.asr'), s.asr_text ? text('div', s.asr_text, { class: 'text', 'data-user': '' }) : h('div', { class: 'text muted' }, t('diff.noAsr'))),
        column('typed', t('review.col.text'), text('div', s.text_verbatim, { class: 'text preview', 'data-user': '' })),
        column('changes', t('review.col.diff'), diffEl)),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', onclick: () => play(s) }, t('review.play')),
        h('button', { type: 'button', class: 'approve', onclick: () => verdict(s, 'approved') }, t('review.approve', { key: keys.comboFor('approve') })),
        h('button', { type: 'button', class: 'reject', onclick: () => verdict(s, 'rejected') }, t('review.reject', { key: keys.comboFor('reject') })),
        threadButton,
        h('a', { href: `#/r/${s.recording_id}/s/${s.id}` }, t('review.open'))),
      threadBox);
    li.addEventListener('click', () => focus(i));
    return li;
  }
  function focus(i) {
    if (i < 0 || !segs[i]) return;
    cur = i;
    list.querySelectorAll('li.seg').forEach((li, k) => li.classList.toggle('selected', k === i));
  }
  async function play(s) {
    const rate = rates.get(s.recording_id).analysis_rate;
    const url = api.audioUrl(s.recording_id);
    if (!audio.src.endsWith(url)) audio.src = url;
    audio.currentTime = s.start_sample / rate;
    stopAt = s.end_sample / rate;
    audio.play().catch(() => {});
  }
  async function verdict(s, v) {
    if (v === 'rejected' && !comment.value.trim()) {
      info.textContent = t('review.commentRequired');
      comment.focus();
      return;
    }
    try {
      await api.review(s.id, v, comment.value);
      comment.value = '';
      info.textContent = t(`review.done.${v}`, { id: s.id });
      await load();
    } catch (e) {
      info.textContent = t('review.failed', { message: errorText(e) });
    }
  }
  const onKey = (e) => {
    if (keys.composing(e) || keys.helpOpen()) return;
    const a = keys.actionOf(e);
    const s = segs[cur];
    if (!a) return;
    const map = {
      approve: () => s && verdict(s, 'approved'),
      reject: () => s && verdict(s, 'rejected'),
      next: () => focus(cur + 1),
      prev: () => focus(cur - 1),
      playPause: () => (audio.paused ? s && play(s) : audio.pause()),
      replay: () => s && play(s),
    };
    if (map[a]) { e.preventDefault(); map[a](); }
  };
  window.addEventListener('keydown', onKey);
  main.append(h('h1', {}, t('nav.reviewQueue')), info, h('label', { class: 'block' }, t('review.comment'), comment), list);
  await load();
  return () => { window.removeEventListener('keydown', onKey); audio.pause(); comments.reset(); };
}
