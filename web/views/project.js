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
    for (const s of speakers) speakerList.appendChild(h('li', {}, text('span', s.code)));
    if (!speakers.length) speakerList.appendChild(h('li', { class: 'muted' }, 'No speakers yet.'));
  }
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
    h('div', { class: 'columns' },
      h('section', {}, h('h2', {}, 'Members'), memberList, p.role === 'admin' ? memberForm : null),
      h('section', {}, h('h2', {}, 'Speakers'), speakerList, p.role !== 'reviewer' ? speakerForm : null)));
  await Promise.all([refresh(), loadPeople()]);
  return () => { closed = true; clearTimeout(poll); window.removeEventListener('keydown', onKey); sources.forEach((s) => s.close()); };
}
