// The three text layers of a segment in the editor (issue 17, point 5): verbatim is the main
// text area; display (punctuated, for people) and normalised (the scoring and training form)
// are edited here. The project's normaliser runs on the server (POST /api/segments/{id}/preview)
// as the transcriber types, so the preview and the live CER are the dashboard's own numbers;
// while the server cannot be asked (offline), the browser's own CER stands in and says so.

import * as api from './api.js';
import { h } from './dom.js';
import { t, fmtPercent } from './i18n.js';

/** How long typing must pause before the server is asked (ms). */
const DEBOUNCE_MS = 250;

/**
 * The layers panel for segment `s`. `onField(name, value)` queues an edit of `text_display` or
 * `text_norm`; `cerEl` is the editor's CER readout, which the server's score replaces.
 * Returns `{ el, update(verbatim, localCer) }`: call `update` on every change of the verbatim.
 */
export function layersPanel(s, { canEdit, onField, cerEl }) {
  const field = (name, label) => {
    const area = h('textarea', {
      class: `layer ${name}`, dir: 'auto', rows: 1, spellcheck: false, readonly: !canEdit,
      'aria-label': label, 'data-user': '', 'data-layer': name,
    });
    area.value = s[name] || '';
    let composing = false;
    const commit = () => {
      if (!canEdit || composing || area.value === (s[name] || '')) return;
      s[name] = area.value;
      onField(name, area.value);
    };
    area.addEventListener('compositionstart', () => { composing = true; });
    area.addEventListener('compositionend', () => { composing = false; commit(); });
    area.addEventListener('input', (e) => { if (!e.isComposing) commit(); });
    return area;
  };
  const display = field('text_display', t('layers.display'));
  const norm = field('text_norm', t('layers.norm'));
  display.placeholder = t('layers.displayEmpty');
  norm.placeholder = t('layers.normEmpty');
  const previewText = h('code', { class: 'norm-preview', dir: 'auto', 'data-user': '' });
  const normaliserName = h('span', { class: 'muted normaliser' });
  const usePreview = h('button', { type: 'button', class: 'small', id: 'use-preview', disabled: !canEdit }, t('layers.usePreview'));
  usePreview.addEventListener('click', () => {
    norm.value = previewText.textContent;
    norm.dispatchEvent(new Event('input'));
  });
  const el = h('details', { class: 'layers', id: 'layers' },
    h('summary', {}, t('layers.title')),
    h('label', {}, t('layers.verbatimNote')),
    h('label', { class: 'layer-row' }, h('span', {}, t('layers.display')), display),
    h('label', { class: 'layer-row' }, h('span', {}, t('layers.norm')), norm),
    h('div', { class: 'layer-row' }, h('span', {}, t('layers.preview')), previewText, usePreview),
    normaliserName);

  let timer = null;
  let asked = 0; // the newest request wins; answers to older ones are dropped
  function show(cer, source) {
    cerEl.textContent = cer === null ? '' : t(source === 'project' ? 'rec.cer' : 'rec.cerLocal', { cer: fmtPercent(cer) });
    cerEl.dataset.cer = cer === null ? '' : cer.toFixed(4);
    cerEl.dataset.source = source;
  }
  function update(verbatim, localCer) {
    // The last figure stays while typing (no flicker between two normalisers); before the
    // first answer, the browser's own, marked as such.
    if (!cerEl.dataset.source) show(localCer, 'local');
    cerEl.dataset.pending = '1';
    clearTimeout(timer);
    if (s.blind) { show(localCer, 'local'); delete cerEl.dataset.pending; return; }
    timer = setTimeout(async () => {
      // An editor closed meanwhile (another row selected, the view left, a logout) asks nothing.
      if (!el.isConnected) return;
      const mine = ++asked;
      try {
        const p = await api.previewSegment(s.id, verbatim);
        if (mine !== asked) return;
        previewText.textContent = p.normalised;
        normaliserName.textContent = t('layers.normaliser', { name: p.normaliser });
        show(s.asr_text ? p.cer : null, 'project');
      } catch (e) {
        // Offline, a blind segment, a text too long to score: the browser's figure, marked.
        if (mine !== asked) return;
        previewText.textContent = '';
        show(localCer, 'local');
      }
      delete cerEl.dataset.pending;
    }, DEBOUNCE_MS);
  }
  return { el, update };
}
