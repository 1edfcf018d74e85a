// A project: its recordings with status and progress, upload with a progress bar per file
// (bytes sent, then the ingest job's Server-Sent Events), members, speakers, claim next.

import * as api from '../api.js';
import { h, text, clear, fmtTime } from '../dom.js';
import { crumbs } from '../app.js';
import * as keys from '../keys.js';

export const name = 'project';

/** Claims the next open segment and opens it. */
export async function claimNext(project) {
  const res = await api.claim(project);
  if (!res.segment) {
    window.dispatchEvent(new CustomEvent('fangyan:toast', { detail: 'Nothing left to claim in this project.' }));
    return false;
  }
  location.hash = `#/r/${res.segment.recording_id}/s/${res.segment.id}`;
  return true;
}

export async function render(main, { project }) {
  const { projects } = await api.projects();
  const p = projects.find((x) => x.id === project);
  if (!p) { main.appendChild(h('p', { class: 'error' }, 'No such project.')); return; }
  crumbs([['Projects', '#/projects'], [p.name, `#/p/${p.id}`]]);
  const sources = [];
  const recBody = h('tbody');
  const table = h('table', { class: 'recordings' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Recording'), h('th', {}, 'Duration'), h('th', {}, 'Status'), h('th', {}, 'Progress'))),
    recBody);

  async function refresh() {
    const { recordings } = await api.recordings(project);
    clear(recBody);
    for (const r of recordings) recBody.appendChild(row(r));
    if (!recordings.length) recBody.appendChild(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'No recordings yet.')));
    // Imports started elsewhere (another tab, the CLI) have no event stream here: poll them.
    clearTimeout(poll);
    if (!closed && recordings.some((r) => r.status === 'importing')) poll = setTimeout(() => refresh().catch(() => {}), 3000);
  }
  let poll = 0;
  let closed = false;

  function row(r) {
    const progress = h('progress', { max: 1, value: r.status === 'ready' ? 0 : 0 });
    const label = h('span', { class: 'progress-label' });
    const tr = h('tr', { 'data-recording': r.id, 'data-status': r.status },
      h('td', {}, r.status === 'ready' ? text('a', r.name, { href: `#/r/${r.id}`, class: 'recording-link' }) : text('span', r.name)),
      h('td', {}, r.samples ? fmtTime(r.samples / r.analysis_rate, 1) : ''),
      h('td', { class: 'status-cell' }, r.status === 'failed' ? `failed: ${r.error_message || r.error_code}` : r.status),
      h('td', {}, progress, label));
    if (r.status === 'ready') {
      api.segments(r.id).then(({ segments }) => {
        const done = segments.filter((s) => s.status === 'submitted' || s.status === 'approved').length;
        progress.value = segments.length ? done / segments.length : 0;
        label.textContent = `${done}/${segments.length} segments done`;
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
    const bar = h('progress', { max: 1, value: 0 });
    const state = h('span', { class: 'upload-state' }, 'uploading');
    const li = h('li', { class: 'upload', 'data-state': 'uploading' }, text('span', file.name, { class: 'name' }), bar, state);
    uploads.appendChild(li);
    api.upload(project, file, (f) => { bar.value = f * 0.2; state.textContent = `uploading ${Math.round(f * 100)}%`; })
      .then((res) => {
        li.dataset.state = 'processing';
        state.textContent = 'processing 0%';
        refresh();
        const es = new EventSource(api.jobEventsUrl(res.job));
        sources.push(es);
        es.onmessage = (ev) => {
          const e = JSON.parse(ev.data);
          bar.value = 0.2 + 0.8 * e.progress;
          li.dataset.progress = e.progress;
          if (e.status === 'done') {
            es.close();
            bar.value = 1;
            li.dataset.state = 'ready';
            state.textContent = 'ready';
            refresh();
          } else if (e.status === 'failed') {
            es.close();
            li.dataset.state = 'failed';
            state.textContent = `failed (${e.error_code})`;
            refresh();
          } else state.textContent = `processing ${Math.round(e.progress * 100)}%`;
        };
        es.onerror = () => {
          // The stream ends after the last event; ask once more for the final state.
          es.close();
          api.job(res.job).then((j) => {
            if (j.status === 'done') { bar.value = 1; li.dataset.state = 'ready'; state.textContent = 'ready'; refresh(); }
            else if (j.status === 'failed') { li.dataset.state = 'failed'; state.textContent = `failed (${j.error_code})`; }
          }).catch(() => {});
        };
      })
      .catch((err) => {
        li.dataset.state = 'failed';
        state.textContent = `refused: ${err.message}`;
      });
  }

  // Members and speakers.
  const memberList = h('ul', { class: 'list members' });
  const speakerList = h('ul', { class: 'list speakers' });
  async function loadPeople() {
    const [{ members }, { speakers }] = await Promise.all([api.members(project), api.speakers(project)]);
    clear(memberList);
    for (const m of members) memberList.appendChild(h('li', {}, text('span', m.name), h('span', { class: 'role' }, m.role)));
    clear(speakerList);
    for (const s of speakers) speakerList.appendChild(speakerItem(s));
    if (!speakers.length) speakerList.appendChild(h('li', { class: 'muted' }, 'No speakers yet.'));
  }
  // Speaker metadata for dialect work: a summary line, and an edit form for editors.
  const SPEAKER_FIELDS = [['gender', 'gender'], ['age_band', 'age band'], ['birthplace_province', 'province'],
    ['birthplace_city', 'city'], ['self_reported_accent', 'self-reported accent'], ['native_variety', 'native variety']];
  function speakerItem(s) {
    const summary = SPEAKER_FIELDS.map(([k]) => s[k]).filter(Boolean).join(' · ');
    const li = h('li', { class: 'speaker', 'data-code': s.code }, text('span', s.code, { class: 'code' }), ' ',
      text('span', summary, { class: 'muted meta' }));
    if (p.role === 'reviewer') return li;
    const edit = h('button', { type: 'button', class: 'link edit-speaker' }, 'edit');
    edit.addEventListener('click', () => {
      const inputs = SPEAKER_FIELDS.map(([k, label]) => h('input', { name: k, placeholder: label, value: s[k] || '', dir: 'auto' }));
      const err = h('span', { class: 'error' });
      const form = h('form', { class: 'inline speaker-form' }, ...inputs, h('button', { type: 'submit' }, 'Save'), err);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const fields = Object.fromEntries(inputs.map((i) => [i.name, i.value.trim()]));
        try { await api.patchSpeaker(s.id, fields); loadPeople(); } catch (x) { err.textContent = x.message; }
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
      speakerCsvState.textContent = `${r.created} created, ${r.updated} updated`;
      loadPeople();
    } catch (x) { speakerCsvState.textContent = x.message; }
    speakerCsv.value = '';
  });
  const speakerImport = h('p', { class: 'speaker-import' }, 'Import speaker metadata (CSV: code, gender, age_band, birthplace_province, birthplace_city, self_reported_accent, native_variety): ',
    speakerCsv, ' ', speakerCsvState);

  const memberName = h('input', { placeholder: 'user name', dir: 'auto' });
  const memberRole = h('select', {}, ...['transcriber', 'reviewer', 'admin'].map((r) => h('option', { value: r }, r)));
  const memberError = h('span', { class: 'error' });
  const memberForm = h('form', { class: 'inline' }, memberName, memberRole, h('button', { type: 'submit' }, 'Add member'), memberError);
  memberForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    memberError.textContent = '';
    try { await api.addMember(project, memberName.value, memberRole.value); memberName.value = ''; loadPeople(); } catch (err) { memberError.textContent = err.message; }
  });
  const speakerCode = h('input', { placeholder: 'speaker code', dir: 'auto' });
  const speakerError = h('span', { class: 'error' });
  const speakerForm = h('form', { class: 'inline' }, speakerCode, h('button', { type: 'submit' }, 'Add speaker'), speakerError);
  speakerForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    speakerError.textContent = '';
    try { await api.addSpeaker(project, speakerCode.value); speakerCode.value = ''; loadPeople(); } catch (err) { speakerError.textContent = err.message; }
  });

  const actions = h('div', { class: 'actions' });
  if (p.role === 'transcriber' || p.role === 'admin') {
    actions.appendChild(h('button', { type: 'button', id: 'claim-next', onclick: () => claimNext(project) },
      `Claim next (${keys.comboFor('claim')})`));
  }
  if (p.role === 'reviewer' || p.role === 'admin') {
    actions.appendChild(h('a', { href: `#/p/${project}/review`, class: 'button', id: 'review-link' }, 'Review queue'));
  }
  actions.appendChild(h('a', { href: `#/p/${project}/dashboard`, class: 'button', id: 'dashboard-link' }, 'Dashboard'));
  actions.append(h('a', { href: `#/p/${project}/concordance`, class: 'button', id: 'concordance-link' }, 'Concordance'), h('a', { href: `#/p/${project}/schema`, class: 'button', id: 'schema-link' }, 'Tag schema'));

  // ASR output in: files matched to recordings by name (or a mapping), and the live server.
  const asrFiles = h('input', { type: 'file', multiple: true, id: 'asr-input',
    accept: '.json,.srt,.vtt,.ctm,.txt,.TextGrid,.textgrid,.eaf' });
  const asrMode = h('select', { id: 'asr-mode' },
    h('option', { value: 'auto' }, 'auto: replace untouched segments, else attach'),
    h('option', { value: 'attach' }, 'attach to existing segments by time'),
    h('option', { value: 'create' }, 'create segments'));
  const asrModel = h('input', { id: 'asr-model', placeholder: 'model name (if the file does not say)' });
  const asrTier = h('input', { id: 'asr-tier', placeholder: 'tier (TextGrid, EAF)' });
  const asrMapping = h('input', { id: 'asr-mapping', placeholder: '{"file.json": "recording name"}' });
  const asrResult = h('ul', { class: 'list asr-results', id: 'asr-results' });
  const asrForm = h('form', { class: 'stack', id: 'asr-form' }, asrFiles, asrMode, asrModel, asrTier, asrMapping,
    h('button', { type: 'submit' }, 'Import ASR output'), asrResult);
  asrForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(asrResult);
    try {
      const { imports } = await api.importAsr(project, asrFiles.files,
        { mode: asrMode.value, model: asrModel.value, tier: asrTier.value, mapping: asrMapping.value });
      for (const i of imports) {
        asrResult.appendChild(text('li', `${i.file} → ${i.recording_name}: ${i.format}${i.model ? ` (${i.model})` : ''}, ` +
          `${i.created} created, ${i.attached} attached, ${i.unplaced} unplaced${i.warnings.length ? `; ${i.warnings.join('; ')}` : ''}`));
      }
      refresh();
    } catch (err) { asrResult.appendChild(text('li', err.message, { class: 'error' })); }
  });
  const settings = p.role === 'admin' ? await api.project(project) : null;
  const serverUrl = h('input', { id: 'asr-url', placeholder: 'http://localhost:8080', value: settings?.asr?.url || '' });
  const serverModel = h('input', { id: 'asr-server-model', placeholder: 'model', value: settings?.asr?.model || '' });
  const serverLang = h('input', { id: 'asr-language', placeholder: 'language (zh)', value: settings?.asr?.language || '' });
  const serverKey = h('input', { id: 'asr-key', type: 'password', placeholder: settings?.asr?.key_set ? 'key set (type to replace)' : 'API key (optional)' });
  const serverState = h('span', { class: 'muted', id: 'asr-server-state' });
  const serverForm = h('form', { class: 'stack', id: 'asr-server-form' }, serverUrl, serverModel, serverLang, serverKey,
    h('div', {}, h('button', { type: 'submit' }, 'Save server'), ' ',
      h('button', { type: 'button', id: 'pre-annotate', onclick: async () => {
        serverState.textContent = '';
        try {
          const { jobs } = await api.preAnnotate(project);
          serverState.textContent = `${jobs.length} recording(s) queued for pre-annotation`;
          watchJobs(jobs);
        } catch (err) { serverState.textContent = err.message; }
      } }, 'Pre-annotate all recordings')), serverState);
  serverForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const asr = { url: serverUrl.value.trim(), model: serverModel.value.trim(), language: serverLang.value.trim() };
    if (serverKey.value) asr.key = serverKey.value;
    try { await api.updateProject(project, { asr }); serverState.textContent = 'saved'; serverKey.value = ''; } catch (err) { serverState.textContent = err.message; }
  });
  function watchJobs(jobs) {
    for (const { job, recording } of jobs) {
      const es = new EventSource(api.jobEventsUrl(job));
      sources.push(es);
      es.onmessage = (ev) => {
        const j = JSON.parse(ev.data);
        const cell = recBody.querySelector(`tr[data-recording="${recording}"] .progress-label`);
        if (cell) cell.textContent = j.status === 'running' ? `ASR ${Math.round(j.progress * 100)}%` : `ASR ${j.status}${j.error_code ? ` (${j.error_code})` : ''}`;
        if (j.status !== 'running') { es.close(); if (j.status === 'done') refresh(); }
      };
      es.onerror = () => es.close();
    }
  }

  if (p.role === 'admin') actions.appendChild(h('a', { href: `#/p/${project}/export`, class: 'button', id: 'export-link' }, 'Export'));
  const onKey = (e) => {
    if (keys.actionOf(e) === 'claim' && (p.role === 'transcriber' || p.role === 'admin')) { e.preventDefault(); claimNext(project); }
  };
  window.addEventListener('keydown', onKey);

  main.append(
    text('h1', p.name),
    h('p', { class: 'muted' }, `Your role: ${p.role}`),
    actions,
    h('h2', {}, 'Recordings'), table,
    p.role === 'admin' ? h('section', { class: 'card' }, h('h3', {}, 'Upload recordings'), fileInput, uploads) : null,
    p.role === 'admin' ? h('div', { class: 'columns' },
      h('section', { class: 'card' }, h('h3', {}, 'Import ASR output'),
        h('p', { class: 'muted' }, 'Whisper, faster-whisper, WhisperX, FunASR, CTM, SRT, WebVTT, TextGrid, EAF, Label Studio, Audacity. Files are matched to recordings by name.'),
        asrForm),
      h('section', { class: 'card' }, h('h3', {}, 'Live pre-annotation'),
        h('p', { class: 'muted' }, 'Any server with the OpenAI-compatible POST /v1/audio/transcriptions (whisper.cpp, faster-whisper servers).'),
        serverForm)) : null,
    h('div', { class: 'columns' },
      h('section', {}, h('h2', {}, 'Members'), memberList, p.role === 'admin' ? memberForm : null),
      h('section', {}, h('h2', {}, 'Speakers'), speakerList, p.role !== 'reviewer' ? speakerForm : null,
        p.role === 'admin' ? speakerImport : null)));
  await Promise.all([refresh(), loadPeople()]);
  return () => { closed = true; clearTimeout(poll); window.removeEventListener('keydown', onKey); sources.forEach((s) => s.close()); };
}
