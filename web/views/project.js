// A project: its recordings with status and progress, upload with a progress bar per file
// (bytes sent, then the ingest job's Server-Sent Events), members, speakers, claim next, and
// the caller's unread comment threads.

import * as guidelines from '../guidelines.js';
import * as api from '../api.js';
import { h, text, clear, fmtTime, filePicker } from '../dom.js';
import { crumbs } from '../app.js';
import * as keys from '../keys.js';
import * as comments from '../comments.js';
import { t, errorText, fmtNumber } from '../i18n.js';

export const name = 'project';

/** Claims the next open segment and opens it. */
export async function claimNext(project) {
  const res = await api.claim(project);
  if (!res.segment) {
    window.dispatchEvent(new CustomEvent('fangyan:toast', { detail: t('project.nothingToClaim') }));
    return false;
  }
  location.hash = `#/r/${res.segment.recording_id}/s/${res.segment.id}`;
  return true;
}

/** The modes of an ASR import (the project form and the recording's import button). */
export function asrModeOptions() {
  return ['auto', 'attach', 'create'].map((m) => h('option', { value: m }, t(`asr.mode.${m}`)));
}

/** One line of an ASR import's result. */
export function asrImportLine(i) {
  const li = h('li', {}, text('span', `${i.file} → ${i.recording_name}`, { 'data-user': '' }), ': ',
    h('code', {}, i.format), i.model ? text('span', ` (${i.model})`, { 'data-user': '' }) : '', ', ',
    t('asr.result', { created: fmtNumber(i.created), attached: fmtNumber(i.attached), unplaced: fmtNumber(i.unplaced) }));
  if (i.warnings.length) li.appendChild(text('span', `; ${i.warnings.join('; ')}`, { class: 'muted', 'data-user': '' }));
  return li;
}

export async function render(main, { project }) {
  const { projects } = await api.projects();
  const p = projects.find((x) => x.id === project);
  if (!p) { main.appendChild(h('p', { class: 'error' }, t('project.noSuch'))); return; }
  crumbs([[t('nav.projects'), '#/projects'], [{ user: p.name }, `#/p/${p.id}`]]);
  const sources = [];
  const recBody = h('tbody');
  const table = h('table', { class: 'recordings' },
    h('thead', {}, h('tr', {}, h('th', {}, t('project.col.recording')), h('th', {}, t('project.col.duration')), h('th', {}, t('project.col.status')), h('th', {}, t('project.col.progress')))),
    recBody);

  async function refresh() {
    const { recordings } = await api.recordings(project);
    clear(recBody);
    for (const r of recordings) recBody.appendChild(row(r));
    if (!recordings.length) recBody.appendChild(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, t('project.noRecordings'))));
    // Imports started elsewhere (another tab, the CLI) have no event stream here: poll them.
    clearTimeout(poll);
    if (!closed && recordings.some((r) => r.status === 'importing')) poll = setTimeout(() => refresh().catch(() => {}), 3000);
  }
  let poll = 0;
  let closed = false;

  // The ingest progress of recordings this page uploaded (from their job's event stream): the
  // table shows the same figure as the upload list, not a bar of its own.
  const ingest = new Map();
  function showIngest(id, fraction) {
    ingest.set(id, fraction);
    const tr = recBody.querySelector(`tr[data-recording="${id}"][data-status="importing"]`);
    if (!tr) return;
    tr.querySelector('progress').value = fraction;
    tr.querySelector('.progress-label').textContent = t('upload.processing', { pct: Math.round(fraction * 100) });
  }
  function row(r) {
    const importing = r.status === 'importing';
    const progress = r.status === 'failed' ? null : h('progress', { max: 1, value: importing ? (ingest.get(r.id) || 0) : 0 });
    const label = h('span', { class: 'progress-label' },
      importing && ingest.has(r.id) ? t('upload.processing', { pct: Math.round(ingest.get(r.id) * 100) }) : '');
    const tr = h('tr', { 'data-recording': r.id, 'data-status': r.status },
      h('td', {}, r.status === 'ready' ? text('a', r.name, { href: `#/r/${r.id}`, class: 'recording-link', 'data-user': '' }) : text('span', r.name, { 'data-user': '' })),
      h('td', {}, r.samples ? fmtTime(r.samples / r.analysis_rate, 1) : ''),
      h('td', { class: 'status-cell' }, r.status === 'failed' ? t('recording.failed', { reason: r.error_code ? errorText({ code: r.error_code, message: r.error_message }) : '' }) : t(`recording.status.${r.status}`)),
      h('td', {}, progress, label));
    if (r.status === 'ready') {
      api.segments(r.id).then(({ segments }) => {
        const done = segments.filter((s) => s.status === 'submitted' || s.status === 'approved').length;
        progress.value = segments.length ? done / segments.length : 0;
        label.textContent = t('project.segmentsDone', { done: fmtNumber(done), total: fmtNumber(segments.length) });
      }).catch(() => {});
    }
    return tr;
  }

  // Upload: one line per file, bytes then ingest progress from the job's event stream.
  const uploads = h('ul', { class: 'uploads' });
  const fileInput = h('input', { type: 'file', multiple: true, accept: 'audio/*,video/*', id: 'upload-input' });
  fileInput.addEventListener('change', () => {
    for (const f of fileInput.files) uploadOne(f);
    fileInput.value = '';
  });
  function uploadOne(file) {
    // One bar per stage: the bytes sent, then the ingest job's progress (the same figure the
    // recordings table shows). A refused or failed upload shows its reason, not a bar.
    const bar = h('progress', { max: 1, value: 0 });
    const state = h('span', { class: 'upload-state' }, t('upload.uploading', { pct: 0 }));
    const li = h('li', { class: 'upload', 'data-state': 'uploading' }, text('span', file.name, { class: 'name', 'data-user': '' }), bar, state);
    uploads.appendChild(li);
    const failed = (message) => {
      li.dataset.state = 'failed';
      bar.remove();
      state.classList.add('error');
      state.textContent = message;
    };
    const ready = () => {
      bar.value = 1;
      li.dataset.state = 'ready';
      state.textContent = t('upload.ready');
      refresh();
    };
    api.upload(project, file, (f) => { bar.value = f; state.textContent = t('upload.uploading', { pct: Math.round(f * 100) }); })
      .then((res) => {
        li.dataset.state = 'processing';
        bar.value = 0;
        state.textContent = t('upload.processing', { pct: 0 });
        ingest.set(res.recording, 0);
        refresh();
        const es = new EventSource(api.jobEventsUrl(res.job));
        sources.push(es);
        es.onmessage = (ev) => {
          const e = JSON.parse(ev.data);
          li.dataset.progress = e.progress;
          if (e.status === 'done') {
            es.close();
            ready();
          } else if (e.status === 'failed') {
            es.close();
            failed(t('upload.failed', { reason: errorText({ code: e.error_code, message: e.error_code }) }));
            refresh();
          } else {
            bar.value = e.progress;
            state.textContent = t('upload.processing', { pct: Math.round(e.progress * 100) });
            showIngest(res.recording, e.progress);
          }
        };
        es.onerror = () => {
          // The stream ends after the last event; ask once more for the final state.
          es.close();
          api.job(res.job).then((j) => {
            if (j.status === 'done') ready();
            else if (j.status === 'failed') { failed(t('upload.failed', { reason: errorText({ code: j.error_code, message: j.error_code }) })); refresh(); }
          }).catch(() => {});
        };
      })
      .catch((err) => failed(t('upload.refused', { reason: errorText(err) })));
  }

  // Members and speakers.
  const memberList = h('ul', { class: 'list members' });
  const speakerList = h('ul', { class: 'list speakers' });
  async function loadPeople() {
    const [{ members }, { speakers }] = await Promise.all([api.members(project), api.speakers(project)]);
    clear(memberList);
    for (const m of members) memberList.appendChild(h('li', {}, text('span', m.name, { 'data-user': '' }), h('span', { class: 'role', 'data-role': m.role }, t(`role.${m.role}`))));
    clear(speakerList);
    for (const s of speakers) speakerList.appendChild(speakerItem(s));
    if (!speakers.length) speakerList.appendChild(h('li', { class: 'muted' }, t('project.noSpeakers')));
  }
  // Speaker metadata for dialect work: a summary line, and an edit form for editors.
  const SPEAKER_FIELDS = ['gender', 'age_band', 'birthplace_province', 'birthplace_city', 'self_reported_accent', 'native_variety']
    .map((k) => [k, t(`speaker.${k}`)]);
  function speakerItem(s) {
    const summary = SPEAKER_FIELDS.map(([k]) => s[k]).filter(Boolean).join(' · ');
    const li = h('li', { class: 'speaker', 'data-code': s.code }, text('span', s.code, { class: 'code', 'data-user': '' }), ' ',
      text('span', summary, { class: 'muted meta', 'data-user': '' }));
    if (p.role === 'reviewer') return li;
    const edit = h('button', { type: 'button', class: 'link edit-speaker' }, t('project.editSpeaker'));
    edit.addEventListener('click', () => {
      const inputs = SPEAKER_FIELDS.map(([k, label]) => h('input', { name: k, placeholder: label, value: s[k] || '', dir: 'auto' }));
      const err = h('span', { class: 'error' });
      const form = h('form', { class: 'inline speaker-form' }, ...inputs, h('button', { type: 'submit' }, t('common.save')), err);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const fields = Object.fromEntries(inputs.map((i) => [i.name, i.value.trim()]));
        try { await api.patchSpeaker(s.id, fields); loadPeople(); } catch (x) { err.textContent = errorText(x); }
      });
      li.appendChild(form);
      edit.remove();
    });
    li.appendChild(edit);
    return li;
  }
  const speakerCsv = h('input', { type: 'file', accept: '.csv,text/csv', id: 'speaker-csv' });
  const speakerCsvState = h('span', { class: 'muted' });
  speakerCsv.addEventListener('change', async () => {
    const f = speakerCsv.files[0];
    if (!f) return;
    try {
      const r = await api.importSpeakers(project, await f.text());
      speakerCsvState.textContent = t('project.speakersImported', { created: fmtNumber(r.created), updated: fmtNumber(r.updated) });
      loadPeople();
    } catch (x) { speakerCsvState.textContent = errorText(x); }
    speakerCsv.value = '';
  });
  const speakerImport = h('p', { class: 'speaker-import' }, t('project.speakerImport'), ' ', h('code', {}, 'code, gender, age_band, birthplace_province, birthplace_city, self_reported_accent, native_variety'), ' ',
    filePicker(speakerCsv, t('project.chooseCsv')), ' ', speakerCsvState);

  const memberName = h('input', { placeholder: t('project.userName'), dir: 'auto' });
  const memberRole = h('select', {}, ...['transcriber', 'reviewer', 'admin'].map((r) => h('option', { value: r }, t(`role.${r}`))));
  const memberError = h('span', { class: 'error' });
  const memberForm = h('form', { class: 'inline' }, memberName, memberRole, h('button', { type: 'submit' }, t('project.addMember')), memberError);
  memberForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    memberError.textContent = '';
    try { await api.addMember(project, memberName.value, memberRole.value); memberName.value = ''; loadPeople(); } catch (err) { memberError.textContent = errorText(err); }
  });
  const speakerCode = h('input', { placeholder: t('project.speakerCode'), dir: 'auto' });
  const speakerError = h('span', { class: 'error' });
  const speakerForm = h('form', { class: 'inline' }, speakerCode, h('button', { type: 'submit' }, t('project.addSpeaker')), speakerError);
  speakerForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    speakerError.textContent = '';
    try { await api.addSpeaker(project, speakerCode.value); speakerCode.value = ''; loadPeople(); } catch (err) { speakerError.textContent = errorText(err); }
  });

  const actions = h('div', { class: 'actions' });
  if (p.role === 'transcriber' || p.role === 'admin') {
    actions.appendChild(h('button', { type: 'button', id: 'claim-next', onclick: () => claimNext(project) },
      t('action.claimNext', { key: keys.comboFor('claim') })));
  }
  if (p.role === 'reviewer' || p.role === 'admin') {
    actions.appendChild(h('a', { href: `#/p/${project}/review`, class: 'button', id: 'review-link' }, t('nav.reviewQueue')));
  }
  actions.appendChild(h('a', { href: `#/p/${project}/dashboard`, class: 'button', id: 'dashboard-link' }, t('nav.dashboard')));
  actions.append(h('a', { href: `#/p/${project}/concordance`, class: 'button', id: 'concordance-link' }, t('nav.concordance')), h('a', { href: `#/p/${project}/schema`, class: 'button', id: 'schema-link' }, t('nav.schema')));

  // ASR output in: files matched to recordings by name (or a mapping), and the live server.
  const asrFiles = h('input', { type: 'file', multiple: true, id: 'asr-input',
    accept: '.json,.srt,.vtt,.ctm,.txt,.TextGrid,.textgrid,.eaf' });
  const asrMode = h('select', { id: 'asr-mode' },
    ...asrModeOptions());
  const asrModel = h('input', { id: 'asr-model', placeholder: t('asr.modelPlaceholder') });
  const asrTier = h('input', { id: 'asr-tier', placeholder: t('asr.tierPlaceholder') });
  const asrMapping = h('input', { id: 'asr-mapping', placeholder: t('asr.mappingPlaceholder') });
  const asrResult = h('ul', { class: 'list asr-results', id: 'asr-results' });
  const asrForm = h('form', { class: 'stack', id: 'asr-form' }, filePicker(asrFiles, t('asr.chooseFiles')), asrMode, asrModel, asrTier, asrMapping,
    h('button', { type: 'submit' }, t('asr.import')), asrResult);
  asrForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(asrResult);
    try {
      const { imports } = await api.importAsr(project, asrFiles.files,
        { mode: asrMode.value, model: asrModel.value, tier: asrTier.value, mapping: asrMapping.value });
      for (const i of imports) asrResult.appendChild(asrImportLine(i));
      refresh();
    } catch (err) { asrResult.appendChild(text('li', errorText(err), { class: 'error' })); }
  });
  const settings = p.role === 'admin' ? await api.project(project) : null;
  const serverUrl = h('input', { id: 'asr-url', translate: 'no', placeholder: 'http://localhost:8080', value: settings?.asr?.url || '' });
  const serverModel = h('input', { id: 'asr-server-model', placeholder: t('asr.serverModel'), value: settings?.asr?.model || '' });
  const serverLang = h('input', { id: 'asr-language', placeholder: t('asr.serverLanguage'), value: settings?.asr?.language || '' });
  const serverKey = h('input', { id: 'asr-key', type: 'password', placeholder: settings?.asr?.key_set ? t('asr.keySet') : t('asr.keyOptional') });
  const serverState = h('span', { class: 'muted', id: 'asr-server-state' });
  const serverForm = h('form', { class: 'stack', id: 'asr-server-form' }, serverUrl, serverModel, serverLang, serverKey,
    h('div', {}, h('button', { type: 'submit' }, t('asr.saveServer')), ' ',
      h('button', { type: 'button', id: 'pre-annotate', onclick: async () => {
        serverState.textContent = '';
        try {
          const { jobs } = await api.preAnnotate(project);
          serverState.textContent = t('asr.queued', { n: fmtNumber(jobs.length) });
          watchJobs(jobs);
        } catch (err) { serverState.textContent = errorText(err); }
      } }, t('asr.preAnnotateAll'))), serverState);
  serverForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const asr = { url: serverUrl.value.trim(), model: serverModel.value.trim(), language: serverLang.value.trim() };
    if (serverKey.value) asr.key = serverKey.value;
    try { await api.updateProject(project, { asr }); serverState.textContent = t('common.saved'); serverKey.value = ''; } catch (err) { serverState.textContent = errorText(err); }
  });
  function watchJobs(jobs) {
    for (const { job, recording } of jobs) {
      const es = new EventSource(api.jobEventsUrl(job));
      sources.push(es);
      es.onmessage = (ev) => {
        const j = JSON.parse(ev.data);
        const cell = recBody.querySelector(`tr[data-recording="${recording}"] .progress-label`);
        if (cell) cell.textContent = j.status === 'running' ? t('asr.jobRunning', { pct: Math.round(j.progress * 100) }) : t(`asr.job.${j.status}`) + (j.error_code ? ` (${errorText({ code: j.error_code, message: j.error_code })})` : '');
        if (j.status !== 'running') { es.close(); if (j.status === 'done') refresh(); }
      };
      es.onerror = () => es.close();
    }
  }

  if (p.role === 'admin') actions.appendChild(h('a', { href: `#/p/${project}/export`, class: 'button', id: 'export-link' }, t('nav.export')));
  const onKey = (e) => {
    if (keys.actionOf(e) === 'claim' && (p.role === 'transcriber' || p.role === 'admin')) { e.preventDefault(); claimNext(project); }
  };
  window.addEventListener('keydown', onKey);

  // Element.append writes null as the text "null": role-gated parts are filtered out (the
  // "nullnull" a transcriber saw under the recordings table).
  const unreadBox = h('div', { id: 'unread-box' });
  const parts = (...xs) => xs.filter((x) => x !== null && x !== undefined && x !== false);
  main.append(...parts(
    text('h1', p.name, { 'data-user': '' }),
    h('p', { class: 'muted' }, t('project.yourRole', { role: t(`role.${p.role}`) })),
    actions, unreadBox,
    guidelines.panel(project),
    h('h2', {}, t('project.recordings')), table,
    p.role === 'admin' ? h('section', { class: 'card' }, h('h3', {}, t('project.upload')), filePicker(fileInput, t('project.chooseAudio')), uploads) : null,
    p.role === 'admin' ? h('div', { class: 'columns' },
      h('section', { class: 'card' }, h('h3', {}, t('asr.import')),
        h('p', { class: 'muted' }, h('span', { translate: 'no' }, 'Whisper, faster-whisper, WhisperX, FunASR, CTM, SRT, WebVTT, TextGrid, EAF, Label Studio, Audacity'), t('asr.formatsMatched')),
        asrForm),
      h('section', { class: 'card' }, h('h3', {}, t('asr.live')),
        h('p', { class: 'muted' }, t('asr.liveHelp'), ' ', h('code', {}, 'POST /v1/audio/transcriptions'), h('span', { translate: 'no' }, ' (whisper.cpp, faster-whisper)')),
        serverForm)) : null,
    h('div', { class: 'columns' },
      h('section', {}, ...parts(h('h2', {}, t('project.members')), memberList, p.role === 'admin' ? memberForm : null)),
      h('section', {}, ...parts(h('h2', {}, t('project.speakers')), speakerList, p.role !== 'reviewer' ? speakerForm : null,
        p.role === 'admin' ? speakerImport : null)))));
  await Promise.all([refresh(), loadPeople(),
    comments.unreadCard(project).then((card) => unreadBox.appendChild(card)).catch(() => {})]);
  return () => { closed = true; clearTimeout(poll); window.removeEventListener('keydown', onKey); sources.forEach((s) => s.close()); };
}
