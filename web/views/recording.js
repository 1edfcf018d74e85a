// The recording view: timeline (overview, ruler, waveform, spectrogram, pitch, speaker
// lanes), playback, and the transcript list whose selected row is the editor: a text box
// pre-filled from ASR, the diff against ASR with live CER, speaker, split/merge/insert/delete.
// Text and boundary changes go through the outbox (autosave, offline queue, conflicts);
// structural edits (split, merge, insert, delete) need the server and reload the list.

import * as guidelines from '../guidelines.js';
import * as api from '../api.js';
import { h, text, clear, fmtTime, newId } from '../dom.js';
import { crumbs, session } from '../app.js';
import * as keys from '../keys.js';
import * as outbox from '../outbox.js';
import { renderDiff } from '../textdiff.js';
import { Timeline } from '../timeline.js';
import { claimNext, asrModeOptions, asrImportLine } from './project.js';
import { t, errorText, fmtDate } from '../i18n.js';
import * as tagging from '../tagging.js';
import * as comments from '../comments.js';
import { layersPanel } from '../layers.js';
import { UndoStack } from '../undo.js';
import * as phonetics from '../phonetics.js';
import { settingsButton } from '../viewsettings.js';
import { VirtualList } from '../vlist.js';

export const name = 'recording';

const NUDGE_SECS = 0.01;

/** Every sentence the undo and history code shows (one place, for the translation catalogue). */
const TEXT = {
  get history() { return t('history.show'); },
  get hideHistory() { return t('history.hide'); },
  get restore() { return t('history.restore'); },
  get current() { return t('history.current'); },
  get you() { return t('history.you'); },
  user: (id) => (id === null || id === undefined ? t('history.system') : t('history.user', { id })),
  revision: (r, who, when) => `v${r.version} · ${who} · ${when} · ${t(`segment.status.${r.status}`)}`,
  layer: (k) => t(`history.layer.${k}`),
  get nothingToUndo() { return t('undo.nothing'); },
  get nothingToRedo() { return t('redo.nothing'); },
  undoFailed: (m) => t('undo.failed', { message: m }),
  redoFailed: (m) => t('redo.failed', { message: m }),
};
const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2];

function toast(msg) {
  window.dispatchEvent(new CustomEvent('fangyan:toast', { detail: msg }));
}

export async function render(main, params) {
  // Everything the first paint needs is asked for at once.
  const segP = api.segments(params.recording).catch((e) => e);
  const projP = api.projects();
  const rec = await api.recording(params.recording);
  if (rec.status !== 'ready') {
    main.appendChild(h('p', { class: 'error' }, t('rec.notReady', { status: t(`recording.status.${rec.status}`) })));
    return;
  }
  const rate = rec.analysis_rate;
  const samples = rec.samples;
  const stateKey = `fangyan.view.${rec.id}`;
  const saved = JSON.parse(localStorage.getItem(stateKey) || '{}');
  // The segments (20 000 in a 12-hour recording) are awaited only once the timeline is up, so
  // its peaks are fetched while they load; its first paint waits for both.
  const [{ projects }, spk, unread] = await Promise.all([
    projP, api.speakers(rec.project_id).catch(() => ({ speakers: [] })),
    comments.unread(rec.project_id).catch(() => ({ bySegment: new Map() })),
  ]);
  const project = projects.find((p) => p.id === rec.project_id) || { name: '', role: 'reviewer' };
  const canEdit = project.role !== 'reviewer';
  let speakers = spk.speakers;
  crumbs([[t('nav.projects'), '#/projects'], [{ user: project.name }, `#/p/${rec.project_id}`], [{ user: rec.name }]]);

  // ---- segments: server state with queued local changes laid over it ----------------------
  let segs = [];
  const undo = new UndoStack();
  function adopt(list) {
    segs = list.filter((s) => !s.deleted).map((s) => {
      outbox.setVersion(s.id, s.version);
      return { ...s, ...outbox.pending(s.id) };
    });
    segs.sort((a, b) => a.start_sample - b.start_sample || a.id - b.id);
  }
  let selId = null;
  const selected = () => segs.find((s) => s.id === selId) || null;
  const indexOf = (id) => segs.findIndex((s) => s.id === id);

  // ---- audio --------------------------------------------------------------------------------
  const audio = new Audio();
  audio.preload = 'metadata';
  audio.src = api.audioUrl(rec.id);
  audio.preservesPitch = true;
  let speed = keys.getSetting('speed', 1);
  audio.playbackRate = speed;
  let loop = !!saved.loop;
  let range = null; // {start, end} in seconds while a segment plays
  let playhead = saved.playhead || 0;
  audio.currentTime = playhead;
  const isPlaying = () => !audio.paused;
  const position = () => (audio.readyState ? audio.currentTime : playhead);

  function playFrom(secs, end = null) {
    audio.currentTime = secs;
    playhead = secs;
    range = end === null ? null : { start: secs, end };
    const p = audio.play();
    if (p) p.catch((e) => toast(t('rec.playbackFailed', { message: e.message })));
  }
  function playSegment(s) {
    if (s) playFrom(s.start_sample / rate, s.end_sample / rate);
  }
  function togglePlay() {
    if (audio.paused) {
      const s = selected();
      const t = position();
      if (s && (t < s.start_sample / rate || t >= s.end_sample / rate - 0.01)) playSegment(s);
      else playFrom(t, s && t < s.end_sample / rate ? s.end_sample / rate : null);
    } else audio.pause();
  }

  // ---- layout ---------------------------------------------------------------------------------
  const status = h('span', { class: 'muted', id: 'play-state' }, t('rec.paused'));
  const speedLabel = h('span', { id: 'speed' }, `${speed}×`);
  const loopBox = h('input', { type: 'checkbox', id: 'loop', checked: loop });
  const pitchBox = h('input', { type: 'checkbox', id: 'pitch-toggle' });
  const specBox = h('input', { type: 'checkbox', id: 'spec-toggle', checked: true });
  const timeLabel = h('span', { id: 'time', class: 'mono' }, fmtTime(playhead));
  // The phonetician's view settings: this user's, in this browser (web/phonetics.js).
  const userId = session.user && session.user.id;
  let view = phonetics.load(userId);
  const applyView = (next) => {
    view = phonetics.normalise(next);
    phonetics.save(userId, view);
    tl.setSettings(view);
    autoGainBox.checked = view.autoGain;
  };
  const autoGainBox = h('input', { type: 'checkbox', id: 'auto-gain', checked: view.autoGain });
  autoGainBox.addEventListener('change', () => applyView({ ...view, autoGain: autoGainBox.checked }));
  const specSettings = settingsButton({ get: () => view, onChange: applyView });
  const toolbar = h('div', { class: 'toolbar' },
    h('button', { type: 'button', id: 'play', onclick: togglePlay }, t('rec.playPause', { key: keys.comboFor('playPause') })),
    timeLabel, status,
    h('button', { type: 'button', onclick: () => setSpeed(-1) }, '−'), speedLabel,
    h('button', { type: 'button', onclick: () => setSpeed(1) }, '+'),
    h('label', {}, loopBox, t('rec.loop')),
    h('label', {}, pitchBox, t('rec.pitch')),
    h('label', {}, specBox, t('rec.spectrogram')),
    specSettings.el,
    h('span', { class: 'gain', role: 'group', 'aria-label': t('rec.amplitude') },
      h('button', { type: 'button', id: 'gain-down', title: t('key.gainDown'), onclick: () => tl.zoomGain(0.5) }, t('rec.gainDown')),
      h('button', { type: 'button', id: 'gain-up', title: t('key.gainUp'), onclick: () => tl.zoomGain(2) }, t('rec.gainUp')),
      h('label', {}, autoGainBox, t('rec.autoGain'))),
    h('button', { type: 'button', id: 'zoom-in', onclick: () => tl.zoomBy(2, position() * rate) }, t('rec.zoomIn')),
    h('button', { type: 'button', id: 'zoom-out', onclick: () => tl.zoomBy(0.5, position() * rate) }, t('rec.zoomOut')),
    h('button', { type: 'button', id: 'zoom-all', onclick: () => tl.zoomTo(0, samples) }, t('rec.wholeFile')));
  loopBox.addEventListener('change', () => { loop = loopBox.checked; persist(); });
  pitchBox.addEventListener('change', () => tl.togglePitch(pitchBox.checked));
  specBox.addEventListener('change', () => { tl.showSpec = specBox.checked; tl.dirty = true; });
  const tlBox = h('div', { class: 'timeline-box' });
  const list = h('ol', { class: 'transcript', id: 'transcript' });
  main.append(text('h1', rec.name, { class: 'rec-title', 'data-user': '' }), toolbar, tlBox,
    h('div', { class: 'editor-actions' },
      canEdit ? [
        h('button', { type: 'button', id: 'split', onclick: () => split() }, t('action.split', { key: keys.comboFor('split') })),
        h('button', { type: 'button', id: 'merge', onclick: () => merge() }, t('action.merge', { key: keys.comboFor('merge') })),
        h('button', { type: 'button', id: 'insert', onclick: () => insert() }, t('action.insert', { key: keys.comboFor('insert') })),
        h('button', { type: 'button', id: 'delete', onclick: () => remove() }, t('action.delete', { key: keys.comboFor('delete') })),
        h('button', { type: 'button', id: 'submit', onclick: () => submit() }, t('action.submit', { key: keys.comboFor('submit') })),
        h('button', { type: 'button', id: 'claim', onclick: () => claimNext(rec.project_id) }, t('action.claimNext', { key: keys.comboFor('claim') })),
      ] : h('span', { class: 'muted' }, t('rec.readOnly')),
      project.role === 'admin' ? asrImportButton() : null),
    guidelines.panel(rec.project_id, { compact: true }),
    list);

  /** The admin's "Import ASR" on this recording: a hypothesis file onto it, no mapping to type. */
  function asrImportButton() {
    const file = h('input', { type: 'file', id: 'rec-asr-file', hidden: true, accept: '.json,.srt,.vtt,.ctm,.txt,.TextGrid,.textgrid,.eaf' });
    const mode = h('select', { id: 'rec-asr-mode', 'aria-label': t('asr.modeLabel') }, ...asrModeOptions());
    const result = h('ul', { class: 'list asr-results', id: 'rec-asr-results' });
    const button = h('button', { type: 'button', id: 'rec-asr-import', onclick: () => file.click() }, t('asr.importHere'));
    file.addEventListener('change', async () => {
      if (!file.files.length) return;
      clear(result);
      try {
        const { imports } = await api.importAsrFor(rec.id, file.files, { mode: mode.value });
        for (const i of imports) result.appendChild(asrImportLine(i));
        await reload(selId);
      } catch (e) { result.appendChild(text('li', errorText(e), { class: 'error' })); }
      file.value = '';
    });
    return h('span', { class: 'asr-import' }, button, mode, file, result);
  }
  const lanesOf = () => {
    const ids = new Set(segs.map((s) => s.speaker_id ?? null));
    return [null, ...speakers.map((s) => s.id).filter((id) => ids.has(id))];
  };
  const speakerName = (id) => (id === null ? t('rec.noSpeaker') : (speakers.find((s) => s.id === id) || { code: `#${id}` }).code);
  const tl = new Timeline(tlBox, {
    recording: rec.id, rate, samples,
    settings: view,
    onSettings: (next) => applyView(next),
    segments: () => segs,
    selected,
    playhead: position,
    isPlaying,
    speakerName,
    onSeek: (secs) => { range = null; audio.currentTime = secs; playhead = secs; timeLabel.textContent = fmtTime(secs); persist(); },
    onSelect: (s, play) => { select(s.id, { focus: true }); if (play) playSegment(s); },
    onBoundary: (s, edge, sample) => setBounds(s, edge === 'start' ? sample : s.start_sample, edge === 'end' ? sample : s.end_sample),
  });
  tl.contentReady = false;
  if (saved.view && saved.view.spp) tl.zoomTo(saved.view.start, saved.view.start + saved.view.spp * tl.W, false);
  window.__fangyan = { timeline: tl, audio, segments: () => segs, selected, undo };
  const segList = await segP;
  if (segList instanceof Error || !tlBox.isConnected) {
    // Refused, or the view was left while they loaded: what is already up goes.
    audio.removeAttribute('src');
    tl.destroy();
    specSettings.close();
    if (segList instanceof Error) throw segList;
    return null;
  }
  adopt(segList.segments);
  selId = params.segment ?? saved.selId ?? (segs[0] && segs[0].id);
  if (!segs.some((s) => s.id === selId)) selId = segs[0] ? segs[0].id : null;
  tl.setLanes(lanesOf());
  tl.contentReady = true;

  // ---- transcript list -----------------------------------------------------------------------
  // Windowed (web/vlist.js): of a long list only the rows near the viewport are in the DOM; the
  // selected row (the editor) and the playing row stay. `rows` holds the mounted rows.
  let followed = null; // the segment under the playhead while playing
  const vlist = new VirtualList(list, {
    render: (s) => row(s),
    keyOf: (s) => s.id,
    pinned: () => [selId, followed],
  });
  const rows = { get: (id) => vlist.rows.get(id), values: () => vlist.rows.values() };
  function renderList() {
    vlist.setItems(segs);
    if (!segs.length) list.appendChild(h('li', { class: 'muted' }, t('rec.noSegments', { key: keys.comboFor('insert') })));
    openEditor();
  }
  function row(s) {
    const li = h('li', { class: `seg${s.id === selId ? ' selected' : ''}${s.id === followed ? ' playing' : ''}`, 'data-id': s.id, 'data-status': s.status },
      h('span', { class: 'when mono' }, `${fmtTime(s.start_sample / rate, 2)} – ${fmtTime(s.end_sample / rate, 2)}`),
      h('span', { class: 'spk', 'data-user': '' }, speakerName(s.speaker_id ?? null)),
      h('span', { class: 'st', 'data-status': s.status }, t(`segment.status.${s.status}`)),
      comments.badge(unread.bySegment.get(s.id)),
      text('div', s.text_verbatim || s.asr_text || '', { class: 'preview', 'data-user': '' }));
    li.addEventListener('click', (e) => {
      if (e.target.closest('.editor')) return;
      select(s.id, { focus: true });
      playSegment(s);
    });
    return li;
  }
  function updateRow(s) {
    const li = rows.get(s.id);
    if (!li) return;
    li.dataset.status = s.status;
    li.querySelector('.when').textContent = `${fmtTime(s.start_sample / rate, 2)} – ${fmtTime(s.end_sample / rate, 2)}`;
    li.querySelector('.spk').textContent = speakerName(s.speaker_id ?? null);
    li.querySelector('.st').textContent = t(`segment.status.${s.status}`);
    li.querySelector('.st').dataset.status = s.status;
    li.querySelector('.preview').textContent = s.text_verbatim || s.asr_text || '';
  }

  // The editor lives in the selected row.
  let editor = null;
  let historyFor = null; // the segment whose history panel is open
  function openEditor() {
    if (editor) editor.el.remove();
    editor = null;
    const s = selected();
    for (const li of rows.values()) li.classList.toggle('selected', +li.dataset.id === selId);
    if (!s) return;
    const li = vlist.mount(s.id);
    li.classList.add('selected');
    const initial = s.text_verbatim || s.asr_text || '';
    const area = h('textarea', { class: 'text', dir: 'auto', rows: 2, spellcheck: false, 'aria-label': t('rec.transcript'), readonly: !canEdit });
    area.value = initial;
    const diffEl = h('div', { class: 'diff', dir: 'auto' });
    const cerEl = h('span', { class: 'cer' });
    const spkSel = h('select', { class: 'speaker', disabled: !canEdit, 'aria-label': t('rec.speaker'), 'data-user': '' });
    const fillSpeakers = () => {
      clear(spkSel);
      if ((s.speaker_id ?? null) === null) spkSel.appendChild(h('option', { value: '' }, t('rec.noSpeakerOption')));
      for (const sp of speakers) spkSel.appendChild(h('option', { value: sp.id }, sp.code));
      spkSel.appendChild(h('option', { value: 'new' }, t('rec.newSpeaker')));
      spkSel.value = s.speaker_id ?? '';
    };
    fillSpeakers();
    spkSel.addEventListener('change', async () => {
      if (spkSel.value === 'new') {
        const code = prompt(t('rec.speakerCodePrompt'));
        if (code) {
          try {
            const made = await api.addSpeaker(rec.project_id, code);
            speakers = (await api.speakers(rec.project_id)).speakers;
            setSpeaker(s, made.id);
          } catch (e) { toast(errorText(e)); }
        }
        fillSpeakers();
      } else if (spkSel.value) setSpeaker(s, +spkSel.value);
    });
    // Display and normalised layers; the project's normaliser scores what is typed.
    const layers = layersPanel(s, { canEdit, cerEl, onField: (name, value) => outbox.queue(s.id, { [name]: value }) });
    const refresh = () => layers.update(area.value, renderDiff(diffEl, s.asr_text || '', area.value));
    // While an input method composes (pinyin "jintian" before 今天 is chosen) nothing is
    // saved, shown in the list or drawn in the lane: the committed text is, on compositionend.
    let composing = false;
    const commit = () => {
      if (!canEdit || composing || area.value === s.text_verbatim) return;
      undo.change(`text:${s.id}`, s.text_verbatim || '', area.value, (text) => applyFields(s.id, { text_verbatim: text }));
      s.text_verbatim = area.value;
      outbox.queue(s.id, { text_verbatim: area.value });
      li.querySelector('.preview').textContent = area.value;
      refresh();
      tl.dirty = true;
    };
    area.addEventListener('compositionstart', () => { composing = true; });
    area.addEventListener('compositionend', () => { composing = false; commit(); });
    area.addEventListener('input', (e) => { if (!e.isComposing) commit(); });
    // The browser's own undo knows nothing of markers, splits or the server: Ctrl+Z is ours.
    area.addEventListener('beforeinput', (e) => {
      if (e.inputType === 'historyUndo' || e.inputType === 'historyRedo') e.preventDefault();
    });
    refresh();
    // The panel stays open for its segment when the editor is rebuilt (after a save).
    const historyBox = h('ol', { class: 'history', id: 'history', hidden: historyFor !== s.id });
    const historyButton = h('button', { type: 'button', class: 'small', id: 'history-toggle' }, historyFor === s.id ? TEXT.hideHistory : TEXT.history);
    historyButton.addEventListener('click', () => {
      historyBox.hidden = !historyBox.hidden;
      historyFor = historyBox.hidden ? null : s.id;
      historyButton.textContent = historyBox.hidden ? TEXT.history : TEXT.hideHistory;
      if (!historyBox.hidden) showHistory(s, historyBox);
    });
    if (historyFor === s.id) showHistory(s, historyBox);
    const el = h('div', { class: 'editor' }, comments.lastReview(s), area,
      h('div', { class: 'meta' }, h('label', {}, t('rec.speaker'), ' ', spkSel), cerEl,
        h('span', { class: 'muted' }, `v${s.version} · ${t(`segment.status.${s.status}`)}`), historyButton),
      historyBox,
      h('div', { class: 'diff-row' }, h('span', { class: 'muted' }, t('rec.diffLabel'), ' '), diffEl), layers.el);
    const spanBox = h('div', { class: 'span-box', id: 'spans' });
    const tagBox = h('div', { class: 'tag-box', id: 'segment-tags' });
    // The thread: reading it clears the row's badge; a reopen comes back as a segment event.
    el.append(tagBox, spanBox, comments.thread(s, {
      canReopen: project.role !== 'transcriber',
      onRead: () => { unread.bySegment.delete(s.id); rows.get(s.id)?.querySelector('.badge.unread')?.remove(); },
      onChanged: (srv) => window.dispatchEvent(new CustomEvent('fangyan:segment', { detail: srv })),
    }));
    tagging.segmentTags(tagBox, s.id, rec.project_id, canEdit);
    li.appendChild(el);
    editor = { el, area, seg: s, refresh, historyBox, spans: tagging.spanList(spanBox, s.id, canEdit) };
  }

  function select(id, { focus = false, scroll = true } = {}) {
    selId = id;
    openEditor();
    const s = selected();
    if (s) {
      tl.reveal(s.start_sample, s.end_sample);
      const li = rows.get(id);
      if (li && scroll) li.scrollIntoView({ block: 'nearest' });
      if (focus && editor) editor.area.focus({ preventScroll: true });
    }
    tl.dirty = true;
    persist();
  }

  // ---- edits ----------------------------------------------------------------------------------
  function setBounds(s, start, end) {
    if (!canEdit) return;
    start = Math.max(0, Math.round(start));
    end = Math.min(samples, Math.round(end));
    if (end <= start) { toast(t('rec.endAfterStart')); return; }
    undo.change(`bounds:${s.id}`, { start_sample: s.start_sample, end_sample: s.end_sample }, { start_sample: start, end_sample: end }, (b) => applyFields(s.id, b));
    applyFields(s.id, { start_sample: start, end_sample: end });
  }
  /** Applies fields to a segment here and queues them for the server (edits, undo, restore). */
  function applyFields(id, fields) {
    outbox.queue(id, fields);
    const s = segs.find((x) => x.id === id);
    if (!s) return;
    Object.assign(s, fields);
    segs.sort((a, b) => a.start_sample - b.start_sample || a.id - b.id);
    vlist.reorder(segs);
    updateRow(s);
    if ('speaker_id' in fields) tl.setLanes(lanesOf());
    if (editor && editor.seg === s && 'text_verbatim' in fields && editor.area.value !== fields.text_verbatim) {
      editor.area.value = fields.text_verbatim;
      editor.refresh();
    }
    tl.dirty = true;
  }
  function nudge(edge, secs) {
    const s = selected();
    if (!s) return;
    const d = Math.round(secs * rate);
    if (edge === 'start') setBounds(s, s.start_sample + d, s.end_sample);
    else setBounds(s, s.start_sample, s.end_sample + d);
    // A short excerpt around the moved boundary, so the ear confirms it.
    const at = (edge === 'start' ? s.start_sample : s.end_sample) / rate;
    if (edge === 'start') playFrom(at, Math.min(s.end_sample / rate, at + 0.5));
    else playFrom(Math.max(s.start_sample / rate, at - 0.5), at);
  }
  function setSpeaker(s, id) {
    if (s.speaker_id != null) undo.change(`speaker:${s.id}`, s.speaker_id, id, (v) => applyFields(s.id, { speaker_id: v }));
    applyFields(s.id, { speaker_id: id });
  }
  function cycleSpeaker() {
    const s = selected();
    if (!s || !speakers.length) { toast(t('rec.addSpeakerFirst')); return; }
    const i = speakers.findIndex((x) => x.id === s.speaker_id);
    setSpeaker(s, speakers[(i + 1) % speakers.length].id);
    openEditor();
    editor && editor.area.focus();
  }
  function insertMarker(marker) {
    if (!editor || !canEdit) return;
    const a = editor.area;
    const at = a.selectionStart ?? a.value.length;
    const end = a.selectionEnd ?? at;
    // A marker is one undo step of its own (setRangeText is invisible to the browser's undo).
    undo.seal();
    a.setRangeText(marker, at, end, 'end');
    a.dispatchEvent(new Event('input'));
    undo.seal();
    a.focus();
  }

  /** A structural edit: the outbox drains first, the list reloads after. Throws on failure. */
  async function serverEdit(work) {
    await outbox.idle();
    const focusId = await work();
    await reload(focusId);
  }
  // The structural edit in flight: an undo waits for it, so Ctrl+Z right after a split
  // undoes the split, not the step before it.
  let inFlight = Promise.resolve();
  function structural(label, work) {
    if (!canEdit) return;
    const run = inFlight.then(async () => {
      try {
        await serverEdit(work);
      } catch (e) {
        toast(t('rec.opFailed', { op: t(`rec.op.${label}`), reason: e.offline ? t('rec.needsConnection') : errorText(e) }));
        await reload(selId).catch(() => {});
      }
    });
    inFlight = run;
    return run;
  }
  async function reload(focusId) {
    const { segments } = await api.segments(rec.id);
    adopt(segments);
    if (focusId !== undefined && segs.some((s) => s.id === focusId)) selId = focusId;
    else if (!segs.some((s) => s.id === selId)) selId = segs[0] ? segs[0].id : null;
    tl.setLanes(lanesOf());
    renderList();
    select(selId, { focus: true });
  }

  // The server operations behind split, merge, insert and delete and their undo steps; each
  // call carries a save id of its own (creation has none: a new segment is a new id).
  const ops = {
    split: async (id, at, offset) => (await api.split(id, outbox.versionOf(id), newId(), at, offset)).segments.map((x) => x.id),
    merge: async (id) => (await api.merge(id, outbox.versionOf(id), newId())).segments[0].id,
    create: async (start, end, text) => (await api.createSegment(rec.id, start, end, text)).id,
    remove: (id) => api.deleteSegment(id, outbox.versionOf(id), newId()),
  };
  function split() {
    const s = selected();
    if (!s) return;
    return structural('split', async () => {
      let at = Math.round(position() * rate);
      const a = editor && editor.area;
      const chars = a ? Array.from(a.value) : [];
      const caret = a ? Array.from(a.value.slice(0, a.selectionStart ?? 0)).length : 0;
      if (at <= s.start_sample || at >= s.end_sample) {
        // The playhead is elsewhere: divide the time in proportion to the caret.
        const frac = chars.length ? Math.min(0.95, Math.max(0.05, caret / chars.length)) : 0.5;
        at = Math.round(s.start_sample + frac * (s.end_sample - s.start_sample));
      }
      if (!s.text_verbatim && s.asr_text) {
        // The text box shows the ASR pre-fill: save it first so the split divides it.
        const saved = await api.saveSegment(s.id, { version: outbox.versionOf(s.id), save_id: newId(), text_verbatim: a.value });
        outbox.setVersion(s.id, saved.version);
      }
      const [first] = await ops.split(s.id, at, caret);
      undo.push({
        undo: () => serverEdit(() => ops.merge(first)),
        redo: () => serverEdit(async () => (await ops.split(first, at, caret))[0]),
      });
      return first;
    });
  }
  function merge() {
    const s = selected();
    if (!s) return;
    const next = segs[indexOf(s.id) + 1];
    const at = s.end_sample;
    const offset = Array.from(s.text_verbatim || '').length;
    return structural('merge', async () => {
      const first = await ops.merge(s.id);
      undo.push({
        undo: () => serverEdit(async () => {
          const [, second] = await ops.split(first, at, offset);
          // A gap between the two is given back to it (the split starts the second at `at`).
          if (next && second && next.start_sample !== at) {
            await reload(first);
            applyFields(second, { start_sample: next.start_sample });
          }
          return first;
        }),
        redo: () => serverEdit(() => ops.merge(first)),
      });
      return first;
    });
  }
  function insert() {
    return structural('insert', async () => {
      const at = Math.round(position() * rate);
      if (segs.some((s) => s.start_sample <= at && at < s.end_sample)) throw new Error(t('rec.insideSegment'));
      const next = segs.find((s) => s.start_sample > at);
      const end = Math.min(samples, next ? next.start_sample : samples, at + 2 * rate);
      if (end <= at) throw new Error(t('rec.noRoom'));
      const step = { id: await ops.create(at, end, '') };
      undo.push({
        undo: () => serverEdit(async () => { await ops.remove(step.id); }),
        redo: () => serverEdit(async () => { step.id = await ops.create(at, end, ''); return step.id; }),
      });
      return step.id;
    });
  }
  function remove() {
    const s = selected();
    if (!s) return;
    const i = indexOf(s.id);
    const gone = { ...s };
    return structural('delete', async () => {
      await ops.remove(s.id);
      const step = { id: s.id };
      undo.push({
        // Brought back as a new segment with the same time, text and speaker.
        undo: () => serverEdit(async () => {
          step.id = await ops.create(gone.start_sample, gone.end_sample, gone.text_verbatim || '');
          if (gone.speaker_id != null) { await reload(step.id); applyFields(step.id, { speaker_id: gone.speaker_id }); }
          return step.id;
        }),
        redo: () => serverEdit(async () => { await ops.remove(step.id); }),
      });
      const n = segs[i + 1] || segs[i - 1];
      return n ? n.id : undefined;
    });
  }
  async function undoOrRedo(how) {
    if (!canEdit) return;
    await inFlight;
    try {
      const moved = await undo[how]();
      if (!moved) toast(how === 'undo' ? TEXT.nothingToUndo : TEXT.nothingToRedo);
    } catch (e) {
      toast((how === 'undo' ? TEXT.undoFailed : TEXT.redoFailed)(errorText(e)));
      await reload(selId).catch(() => {});
    }
  }

  /** The segment's revisions, newest first, each with a restore (a new revision). */
  async function showHistory(s, box) {
    clear(box);
    let revs;
    try { revs = (await api.revisions(s.id)).revisions; } catch (e) { box.appendChild(h('li', { class: 'error' }, errorText(e))); return; }
    const me = session.user && session.user.id;
    const latest = revs.length ? revs[revs.length - 1].version : null;
    // Which layers each revision changed, against the one before it.
    revs.forEach((r, i) => {
      const prev = revs[i - 1];
      const changed = ['text_verbatim', 'text_display', 'text_norm'].filter((k) => !prev || (r[k] ?? '') !== (prev[k] ?? ''));
      if (prev && (r.start_sample !== prev.start_sample || r.end_sample !== prev.end_sample)) changed.push('bounds');
      r.layer = (changed.length ? changed : ['none']).map((k) => TEXT.layer(k)).join(t('list.sep'));
    });
    for (const r of [...revs].reverse()) {
      const who = r.author_id === me ? TEXT.you : (r.author_name || TEXT.user(r.author_id));
      const when = fmtDate(r.created_at);
      const li = h('li', { 'data-version': r.version },
        h('span', { class: 'muted mono' }, TEXT.revision(r, who, when)),
        h('span', { class: 'muted layer' }, r.layer),
        text('span', r.text_verbatim, { class: 'rev-text', 'data-user': '' }));
      if (r.version === latest) li.appendChild(h('span', { class: 'muted' }, TEXT.current));
      else if (canEdit) {
        li.appendChild(h('button', { type: 'button', class: 'small restore', onclick: () => {
          const fields = { text_verbatim: r.text_verbatim, start_sample: r.start_sample, end_sample: r.end_sample };
          const before = { text_verbatim: s.text_verbatim || '', start_sample: s.start_sample, end_sample: s.end_sample };
          undo.seal();
          undo.change(`restore:${s.id}`, before, fields, (f) => applyFields(s.id, f));
          undo.seal();
          applyFields(s.id, fields);
          outbox.idle().then(() => { if (!box.hidden) showHistory(s, box); });
        } }, TEXT.restore));
      }
      box.appendChild(li);
    }
  }
  async function submit() {
    const s = selected();
    if (!s || !canEdit) return;
    try {
      if (!s.text_verbatim && s.asr_text) outbox.queue(s.id, { text_verbatim: s.asr_text });
      await outbox.idle();
      const res = await api.submit(s.id, outbox.versionOf(s.id));
      outbox.setVersion(s.id, res.version);
      Object.assign(s, res);
      updateRow(s);
      openEditor();
      if (project.role === 'transcriber') await claimNext(rec.project_id);
      else go(1, true);
    } catch (e) { toast(t('rec.submitFailed', { message: errorText(e) })); }
  }
  function go(delta, play) {
    const i = indexOf(selId);
    const n = segs[i + delta];
    if (!n) { toast(delta > 0 ? t('rec.lastSegment') : t('rec.firstSegment')); return; }
    select(n.id, { focus: true });
    if (play) playSegment(n);
  }
  function saveNext() {
    outbox.flush();
    go(1, true);
  }
  function setSpeed(dir) {
    const i = SPEEDS.indexOf(speed);
    speed = SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (i < 0 ? 2 : i) + dir))];
    audio.playbackRate = speed;
    audio.preservesPitch = true;
    speedLabel.textContent = `${speed}×`;
    keys.putSetting('speed', speed);
  }

  // ---- keyboard -------------------------------------------------------------------------------
  const handlers = {
    playPause: togglePlay,
    replay: () => playSegment(selected()),
    loop: () => { loop = !loop; loopBox.checked = loop; persist(); },
    slower: () => setSpeed(-1),
    faster: () => setSpeed(1),
    saveNext,
    prev: () => go(-1, true),
    next: () => go(1, true),
    startEarlier: () => nudge('start', -NUDGE_SECS),
    startLater: () => nudge('start', NUDGE_SECS),
    endEarlier: () => nudge('end', -NUDGE_SECS),
    endLater: () => nudge('end', NUDGE_SECS),
    split, merge, insert, delete: remove,
    undo: () => undoOrRedo('undo'),
    redo: () => undoOrRedo('redo'),
    speaker: cycleSpeaker,
    zoomIn: () => tl.zoomBy(2, position() * rate),
    zoomOut: () => tl.zoomBy(0.5, position() * rate),
    zoomSegment: () => { const s = selected(); if (s) tl.zoomTo(s.start_sample - (s.end_sample - s.start_sample) * 0.1, s.end_sample + (s.end_sample - s.start_sample) * 0.1); },
    pitch: () => { pitchBox.checked = tl.togglePitch(); },
    gainUp: () => tl.zoomGain(2),
    gainDown: () => tl.zoomGain(0.5),
    autoGain: () => applyView({ ...view, autoGain: !view.autoGain }),
    specSettings: () => specSettings.toggle(),
    submit,
    claim: () => claimNext(rec.project_id),
    tagFeature: async () => {
      if (!editor || !canEdit) return;
      const ed = editor;
      const r = await tagging.openPicker({ project: rec.project_id, seg: ed.seg.id, area: ed.area,
        beforeSave: () => {
          // Spans anchor in the verbatim text: an untouched ASR pre-fill becomes it first.
          if (!ed.seg.text_verbatim && ed.area.value) { ed.seg.text_verbatim = ed.area.value; outbox.queue(ed.seg.id, { text_verbatim: ed.area.value }); }
          return outbox.idle();
        },
        onSaved: () => ed.spans() }).catch((e) => ({ error: e.message }));
      if (r && r.error) toast(r.error);
    },
  };
  for (const m of Object.keys(keys.MARKERS)) handlers[m] = () => insertMarker(keys.MARKERS[m]);
  const onKey = (e) => {
    if (keys.composing(e) || keys.helpOpen() || document.getElementById('conflict') || document.getElementById('relogin')) return;
    const action = keys.actionOf(e);
    if (!action || !handlers[action]) return;
    const t = e.target;
    // Enter means "save and next" only in the text box or on the page itself, not on buttons.
    if (action === 'saveNext' && t instanceof HTMLElement && !(t.matches('textarea.text') || t === document.body)) return;
    e.preventDefault();
    handlers[action]();
  };
  window.addEventListener('keydown', onKey);

  // ---- playback loop ------------------------------------------------------------------------
  let raf = 0;
  const tick = () => {
    raf = requestAnimationFrame(tick);
    if (!audio.paused) {
      const t = audio.currentTime;
      playhead = t;
      if (range && t >= range.end) {
        if (loop) audio.currentTime = range.start;
        else { audio.pause(); audio.currentTime = range.end; playhead = range.end; range = null; }
      }
      // The timeline pages along with the playhead; the transcript follows it.
      const x = tl.xOf(t * rate);
      if (x > tl.W * 0.95 || x < 0) { [tl.tStart] = tl.clampView(t * rate - tl.tSpp * tl.W * 0.05, tl.tSpp); tl.dirty = true; }
      const cur = segs.find((s) => s.start_sample <= t * rate && t * rate < s.end_sample);
      if (cur && cur.id !== followed) {
        if (followed && rows.get(followed)) rows.get(followed).classList.remove('playing');
        followed = cur.id;
        const li = vlist.mount(cur.id);
        if (li) { li.classList.add('playing'); if (cur.id !== selId) li.scrollIntoView({ block: 'nearest' }); }
      }
      timeLabel.textContent = fmtTime(t);
    }
  };
  raf = requestAnimationFrame(tick);
  audio.addEventListener('play', () => { status.textContent = t('rec.playing'); status.dataset.state = 'playing'; });
  // A segment that ends at the end of the file: the audio ends (and pauses) before the tick
  // sees it pass the segment's end, so the loop wraps here.
  audio.addEventListener('ended', () => {
    if (loop && range) {
      audio.currentTime = range.start;
      playhead = range.start;
      const p = audio.play();
      if (p) p.catch((e) => toast(t('rec.playbackFailed', { message: e.message })));
    }
  });
  audio.addEventListener('pause', () => { if (audio.ended && loop && range) return; status.textContent = t('rec.paused'); status.dataset.state = 'paused'; timeLabel.textContent = fmtTime(audio.currentTime); persist(); });

  // Saves and conflicts arrive as events from the outbox.
  const onSegment = (e) => {
    const srv = e.detail;
    const s = segs.find((x) => x.id === srv.id);
    if (!s) return;
    if (outbox.hasPending(s.id)) { s.version = srv.version; return; }
    Object.assign(s, srv);
    updateRow(s);
    if (editor && editor.seg === s && document.activeElement !== editor.area) openEditor();
    else if (editor && editor.seg === s && editor.area.value !== (s.text_verbatim || s.asr_text || '')) {
      editor.area.value = s.text_verbatim || s.asr_text || '';
      editor.refresh();
    }
    tl.dirty = true;
  };
  window.addEventListener('fangyan:segment', onSegment);
  // Another tab queued edits: show them here too (not over the text box being typed in).
  const onPending = () => {
    for (const s of segs) {
      const mine = editor && editor.seg === s && document.activeElement === editor.area;
      const p = outbox.pending(s.id);
      if (mine || !Object.keys(p).some((k) => s[k] !== p[k])) continue;
      Object.assign(s, p);
      updateRow(s);
      if (editor && editor.seg === s) { editor.area.value = s.text_verbatim || s.asr_text || ''; editor.refresh(); }
      tl.dirty = true;
    }
  };
  window.addEventListener('fangyan:pending', onPending);

  // ---- restore ---------------------------------------------------------------------------------
  // Written at once (a small synchronous write), so a reload right after a change finds it;
  // the interval keeps the playhead and view, and pagehide catches the last moment.
  function persist() {
    localStorage.setItem(stateKey, JSON.stringify({ selId, loop, playhead: position(), view: tl.view() }));
  }
  const persistView = setInterval(persist, 2000);
  window.addEventListener('pagehide', persist);

  renderList();
  if (selId) select(selId, { focus: canEdit, scroll: true });
  if (saved.view && saved.view.spp) tl.zoomTo(saved.view.start, saved.view.start + saved.view.spp * tl.W, false);
  outbox.flush();

  return () => {
    persist();
    audio.pause();
    audio.removeAttribute('src');
    audio.load();
    cancelAnimationFrame(raf);
    clearInterval(persistView);
    tl.destroy();
    vlist.destroy();
    window.removeEventListener('keydown', onKey);
    specSettings.close();
    window.removeEventListener('fangyan:segment', onSegment);
    window.removeEventListener('fangyan:pending', onPending);
    window.removeEventListener('pagehide', persist);
    delete window.__fangyan;
    comments.reset();
  };
}
