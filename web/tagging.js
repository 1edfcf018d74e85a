// Span tagging in the recording view (issue 7): the feature picker dialog opened on the
// characters selected in the transcript box (filter the project's schema, arrows + Enter),
// then the expected form (pinyin, pre-filled by the server), the realised form (pinyin or IPA,
// with an IPA palette), the server's suggestions (Alt+number accepts one), a note, and save;
// plus the list of a segment's spans under its editor. Offsets sent to the API are Unicode
// scalar offsets, converted from the textarea's UTF-16 selection.

import * as api from './api.js';
import { h, text, clear } from './dom.js';
import * as keys from './keys.js';
import { t, errorText } from './i18n.js';

const IPA = ['ʂ', 'ɕ', 'ʐ', 'ŋ', 'ɲ', 'ɤ', 'ə', 'ɿ', 'ʅ', 'ʔ', 'ɛ', 'ɔ', 'ʈ', 'ɻ', 'ʰ', 'ː'];
const schemas = new Map();

/** The project's tag schema (cached for the page's life). */
export async function schema(project) {
  if (!schemas.has(project)) schemas.set(project, api.tagSchema(project).catch((e) => { schemas.delete(project); throw e; }));
  return schemas.get(project);
}

/** Active (not archived) features of a schema. */
export function features(sch) {
  return (sch.features || []).filter((f) => !f.archived);
}

/** UTF-16 offsets of a string → Unicode scalar offsets. */
export function scalarOffset(value, utf16) {
  return Array.from(value.slice(0, utf16)).length;
}

/** Renders the spans of segment `seg` into `box`; returns a refresh function. */
export function spanList(box, seg, canEdit) {
  const refresh = async () => {
    let spans;
    try {
      ({ spans } = await api.spans(seg));
    } catch (e) {
      clear(box).appendChild(h('p', { class: 'error' }, t('tag.spansFailed', { message: errorText(e) })));
      return;
    }
    clear(box);
    if (!spans.length) return;
    const ul = h('ul', { class: 'spans' });
    for (const s of spans) {
      const del = canEdit && h('button', { type: 'button', class: 'small', 'aria-label': t('tag.deleteSpan') }, '×');
      if (del) {
        del.addEventListener('click', async () => {
          try { await api.deleteSpan(s.id); refresh(); } catch (e) { box.appendChild(h('p', { class: 'error' }, errorText(e))); }
        });
      }
      ul.appendChild(h('li', { class: 'span', 'data-id': s.id, 'data-feature': s.feature },
        h('code', {}, s.feature), ' ', text('span', s.chars, { class: 'chars', 'data-user': '' }), ' ',
        text('span', `${s.expected} → ${s.realised || '?'}`, { class: 'forms', 'data-user': '' }),
        s.note ? text('span', ` (${s.note})`, { class: 'muted', 'data-user': '' }) : null,
        s.needs_review ? h('span', { class: 'flag', title: t('tag.changedTitle') }, ' ', t('tag.needsReview')) : null,
        del ? ' ' : null, del));
    }
    box.appendChild(ul);
  };
  refresh();
  return refresh;
}

/**
 * Opens the feature picker on the selection of `area` (the segment's textarea).
 * `beforeSave` is awaited first (so the server has the text); `onSaved(span)` after.
 */
export async function openPicker({ project, seg, area, beforeSave, onSaved }) {
  const value = area.value;
  let a = area.selectionStart ?? 0;
  let b = area.selectionEnd ?? a;
  if (a === b) { // no selection: the character after the caret
    if (a >= value.length) return { error: t('tag.selectFirst') };
    b = a + Array.from(value.slice(a))[0].length;
  }
  const charStart = scalarOffset(value, a);
  const charEnd = scalarOffset(value, b);
  const chars = value.slice(a, b);
  const sch = await schema(project);
  const all = features(sch);
  const root = document.getElementById('overlay-root');
  const restore = document.activeElement;

  const filter = h('input', { type: 'text', id: 'feature-filter', placeholder: t('tag.filterPlaceholder'), 'aria-label': t('tag.filterLabel'), autocomplete: 'off' });
  const list = h('ul', { class: 'feature-list', id: 'feature-list', role: 'listbox' });
  const body = h('div', {});
  const panel = h('div', { class: 'panel tag-panel' },
    h('h2', {}, t('tag.title'), ' ', text('span', chars, { class: 'chars', id: 'tag-chars', 'data-user': '' })), body);
  const dlg = h('div', { class: 'overlay', id: 'tag-dialog', role: 'dialog', 'aria-label': t('tag.dialogLabel') }, panel);
  const close = () => { dlg.remove(); if (restore && restore.focus) restore.focus(); };

  // ---- step 1: choose the feature ----------------------------------------------------------
  let shown = [];
  let cur = 0;
  const draw = () => {
    const words = filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    shown = all.filter((f) => {
      const hay = `${f.code} ${f.label_zh || ''} ${f.label_en || ''} ${f.group || ''} ${f.examples || ''}`.toLowerCase();
      return words.every((w) => hay.includes(w));
    });
    cur = Math.min(cur, Math.max(0, shown.length - 1));
    clear(list);
    shown.forEach((f, i) => {
      const li = h('li', { role: 'option', 'data-code': f.code, 'aria-selected': i === cur ? 'true' : 'false', class: i === cur ? 'current' : '' },
        h('code', {}, f.code), ' ', text('span', f.label_zh || '', { 'data-user': '' }), ' · ', text('span', f.label_en || '', { class: 'muted', 'data-user': '' }));
      li.addEventListener('click', () => choose(f));
      list.appendChild(li);
    });
    if (!shown.length) list.appendChild(h('li', { class: 'muted' }, t('tag.noMatch')));
    const c = list.children[cur];
    if (c && c.scrollIntoView) c.scrollIntoView({ block: 'nearest' });
  };
  filter.addEventListener('input', () => { cur = 0; draw(); });
  filter.addEventListener('keydown', (e) => {
    if (keys.composing(e)) return;
    if (e.key === 'ArrowDown') { cur = Math.min(shown.length - 1, cur + 1); draw(); e.preventDefault(); }
    else if (e.key === 'ArrowUp') { cur = Math.max(0, cur - 1); draw(); e.preventDefault(); }
    else if (e.key === 'Enter' && shown[cur]) { e.preventDefault(); choose(shown[cur]); }
  });
  body.append(filter, list, h('p', { class: 'muted' }, t('tag.pickerHelp')));

  // ---- step 2: forms, note, save -------------------------------------------------------------
  function choose(f) {
    let feature = f;
    const featLabel = h('p', { id: 'tag-feature' });
    const showFeature = () => {
      clear(featLabel).append(h('code', {}, feature.code), ' ', text('span', feature.label_zh || '', { 'data-user': '' }), ' · ', text('span', feature.label_en || '', { 'data-user': '' }));
      featLabel.dataset.code = feature.code;
    };
    showFeature();
    // Heteronyms (行, 长, 了, 还): the other readings are offered in a list under the box.
    const readingsList = h('datalist', { id: 'tag-expected-alternatives' });
    const expected = h('input', { type: 'text', id: 'tag-expected', 'aria-label': t('tag.expectedLabel'), autocomplete: 'off', list: 'tag-expected-alternatives' });
    const realised = h('input', { type: 'text', id: 'tag-realised', 'aria-label': t('tag.realisedLabel'), autocomplete: 'off' });
    const script = h('select', { id: 'tag-script', 'aria-label': t('tag.scriptLabel') },
      h('option', { value: 'pinyin' }, t('tag.pinyin')), h('option', { value: 'ipa' }, 'IPA'));
    const note = h('input', { type: 'text', id: 'tag-note', 'aria-label': t('tag.note'), autocomplete: 'off' });
    const sugg = h('ul', { class: 'suggestions', id: 'tag-suggestions' });
    const err = h('p', { class: 'error', id: 'tag-error' });
    const palette = h('div', { class: 'ipa-palette' }, IPA.map((sym) => {
      const btn = h('button', { type: 'button', class: 'small', 'data-sym': sym, title: t('tag.insertSym', { sym }), translate: 'no' }, sym);
      btn.addEventListener('mousedown', (e) => e.preventDefault()); // keep the caret in the box
      btn.addEventListener('click', () => {
        realised.setRangeText(sym, realised.selectionStart ?? realised.value.length, realised.selectionEnd ?? realised.value.length, 'end');
        script.value = 'ipa';
        realised.focus();
        realised.dispatchEvent(new Event('input'));
      });
      return btn;
    }));
    let suggestions = [];
    let seq = 0;
    const suggest = async () => {
      const n = ++seq;
      try {
        const r = await api.suggestTags(chars, realised.value, expected.value || undefined);
        if (n !== seq) return;
        if (!expected.value && r.expected) expected.value = r.expected;
        clear(readingsList);
        [r.expected, ...(r.alternatives || [])].filter(Boolean)
          .forEach((p) => readingsList.appendChild(h('option', { value: p })));
        suggestions = (r.suggestions || []).filter((s) => all.some((x) => x.code === s.code));
        clear(sugg);
        suggestions.slice(0, 9).forEach((s, i) => {
          const li = h('li', { 'data-code': s.code },
            h('kbd', {}, `Alt+${i + 1}`), ' ', h('code', {}, s.code), ' ', text('span', s.reason, { class: 'muted', 'data-user': '' }));
          li.addEventListener('click', () => accept(i));
          sugg.appendChild(li);
        });
      } catch (e) { if (n === seq) err.textContent = errorText(e); }
    };
    const accept = (i) => {
      const s = suggestions[i];
      const f2 = s && all.find((x) => x.code === s.code);
      if (f2) { feature = f2; showFeature(); }
    };
    let timer = 0;
    realised.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(suggest, 150); });
    const saveBtn = h('button', { type: 'submit', id: 'tag-save' }, t('tag.save'));
    const form = h('form', { class: 'tag-form', id: 'tag-form' },
      featLabel,
      h('label', {}, t('tag.expected'), ' ', expected, readingsList),
      h('label', {}, t('tag.realised'), ' ', realised, ' ', script),
      palette,
      h('div', {}, h('span', { class: 'muted' }, t('tag.suggestions'), ' '), sugg),
      h('label', {}, t('tag.note'), ' ', note),
      err,
      h('div', { class: 'buttons' }, saveBtn, h('button', { type: 'button', onclick: close }, t('tag.cancel'))));
    let saving = false;
    const save = async () => {
      if (saving) return;
      saving = true;
      err.textContent = '';
      try {
        if (beforeSave) await beforeSave();
        const span = await api.createSpan(seg, {
          char_start: charStart, char_end: charEnd, feature: feature.code,
          expected: expected.value.trim() || undefined, realised: realised.value.trim(),
          realised_script: script.value, note: note.value.trim(),
        });
        close();
        if (onSaved) onSaved(span);
      } catch (e) {
        err.textContent = `${errorText(e)} (${e.code})`;
      } finally { saving = false; }
    };
    form.addEventListener('submit', (e) => { e.preventDefault(); save(); });
    form.addEventListener('keydown', (e) => {
      if (keys.composing(e)) return;
      if (e.key === 'Enter' && (e.ctrlKey || e.target.tagName === 'INPUT')) { e.preventDefault(); save(); }
      else if (e.altKey && /^Digit[1-9]$/.test(e.code)) { e.preventDefault(); accept(+e.code.slice(5) - 1); }
    });
    clear(body).append(form);
    suggest();
    realised.focus();
  }

  dlg.addEventListener('keydown', (e) => {
    if (keys.composing(e)) return;
    if (e.key === 'Escape') { e.preventDefault(); close(); }
    e.stopPropagation(); // the recording view's shortcuts stay out of the dialog
  });
  root.appendChild(dlg);
  draw();
  filter.focus();
  return { dialog: dlg };
}

/**
 * The segment-level tags of segment `seg` (the schema's controlled vocabularies: a select for
 * single-value fields, checkboxes for multi-value ones) rendered into `box`; each change saves
 * the segment's whole tag set (PUT), and a refusal (e.g. a required field) is shown as worded.
 */
export async function segmentTags(box, seg, project, canEdit) {
  let sch; let current;
  try {
    [sch, { tags: current }] = await Promise.all([schema(project), api.segmentTags(seg)]);
  } catch (e) {
    clear(box).appendChild(h('p', { class: 'error' }, t('tag.tagsFailed', { message: errorText(e) })));
    return;
  }
  clear(box);
  const fields = (sch.segment_fields || []).filter((f) => !f.archived);
  if (!fields.length) return;
  const state = h('span', { class: 'muted tag-state' });
  const controls = [];
  const label = (x) => `${x.label_zh || ''}${x.label_zh && x.label_en ? ' / ' : ''}${x.label_en || x.id}`;
  const save = async () => {
    const tags = {};
    for (const c of controls) {
      const v = c.read();
      if (v !== null && !(Array.isArray(v) && !v.length)) tags[c.id] = v;
    }
    state.textContent = t('tag.saving');
    try { await api.putSegmentTags(seg, tags); state.textContent = t('common.saved'); } catch (e) { state.textContent = errorText(e); }
  };
  const row = h('div', { class: 'segment-tags' });
  for (const f of fields) {
    const values = (f.values || []).filter((v) => !v.archived || (current[f.id] || []).includes(v.id));
    const have = current[f.id] || [];
    if (f.multi) {
      const boxes = values.map((v) => h('input', { type: 'checkbox', value: v.id, checked: have.includes(v.id), disabled: !canEdit }));
      boxes.forEach((b) => b.addEventListener('change', save));
      controls.push({ id: f.id, read: () => boxes.filter((b) => b.checked).map((b) => b.value) });
      row.appendChild(h('fieldset', { class: 'tag-field', 'data-field': f.id }, h('legend', { 'data-user': '' }, label(f)),
        ...values.map((v, i) => h('label', {}, boxes[i], ' ', text('span', label(v), { 'data-user': '' })))));
    } else {
      const sel = h('select', { name: f.id, disabled: !canEdit, 'data-field': f.id },
        h('option', { value: '' }, '—'), ...values.map((v) => h('option', { value: v.id, 'data-user': '' }, label(v))));
      sel.value = have[0] || '';
      sel.addEventListener('change', save);
      controls.push({ id: f.id, read: () => sel.value || null });
      row.appendChild(h('label', { class: 'tag-field' }, text('span', `${label(f)}${f.required ? ' *' : ''}`, { 'data-user': '' }), ' ', sel));
    }
  }
  box.append(row, state);
}
