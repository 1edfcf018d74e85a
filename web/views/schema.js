// The tag-schema page (issue 7): the project's segment fields, speaker fields and features,
// bilingual and readable; admins also get the JSON editor, whose refusals (invalid schema,
// 409 tag_in_use for removals of values still in use) are shown as the server words them.

import * as api from '../api.js';
import { h, text, clear } from '../dom.js';
import { crumbs } from '../app.js';
import { t, errorText } from '../i18n.js';

export const name = 'schema';

const bi = (o) => `${o.label_zh || ''} · ${o.label_en || ''}`;

function readable(box, sch) {
  clear(box);
  const fields = (title, list) => {
    if (!list || !list.length) return;
    box.appendChild(h('h2', {}, title));
    const dl = h('dl', { class: 'schema-fields' });
    for (const f of list) {
      dl.appendChild(h('dt', { class: f.archived ? 'archived' : '' }, h('code', {}, f.id), ' ', text('span', bi(f), { 'data-user': '' }),
        f.multi ? h('span', { class: 'muted' }, ' ', t('schema.multi')) : null,
        f.archived ? h('span', { class: 'muted' }, ' ', t('schema.archived')) : null));
      dl.appendChild(h('dd', {}, h('ul', { class: 'values' }, (f.values || []).map((v) =>
        h('li', { class: v.archived ? 'archived' : '' }, h('code', {}, v.id), ' ', text('span', bi(v), { 'data-user': '' }),
          v.archived ? h('span', { class: 'muted' }, ' ', t('schema.archived')) : null)))));
    }
    box.appendChild(dl);
  };
  fields(t('schema.segmentFields'), sch.segment_fields);
  fields(t('schema.speakerFields'), sch.speaker_fields);
  const feats = sch.features || [];
  if (feats.length) {
    box.appendChild(h('h2', {}, t('schema.features')));
    const tbody = h('tbody');
    for (const f of feats) {
      tbody.appendChild(h('tr', { class: f.archived ? 'archived' : '', 'data-code': f.code },
        h('td', {}, h('code', {}, f.code)), text('td', f.group || '', { 'data-user': '' }), text('td', f.label_zh || '', { 'data-user': '' }),
        text('td', f.label_en || '', { 'data-user': '' }), text('td', f.examples || '', { 'data-user': '' }), h('td', {}, f.archived ? t('schema.archivedWord') : '')));
    }
    box.appendChild(h('table', { class: 'schema-features' },
      h('thead', {}, h('tr', {}, [t('schema.col.code'), t('schema.col.group'), t('schema.col.zh'), t('schema.col.en'), t('schema.col.examples'), ''].map((c) => h('th', {}, c)))), tbody));
  }
}

export async function render(main, { project }) {
  const [p, sch] = await Promise.all([api.project(project), api.tagSchema(project)]);
  crumbs([[t('nav.projects'), '#/projects'], [{ user: p.name }, `#/p/${project}`], [t('nav.schema')]]);
  const box = h('div', { id: 'schema-readable' });
  main.append(h('h1', {}, t('nav.schema')), box);
  readable(box, sch);
  const role = p.role || ((await api.projects()).projects.find((x) => x.id === project) || {}).role;
  if (role !== 'admin') return;
  const area = h('textarea', { id: 'schema-json', rows: 24, spellcheck: false, class: 'mono', 'aria-label': t('schema.jsonLabel'), 'data-user': '' });
  area.value = JSON.stringify(sch, null, 1);
  const msg = h('p', { id: 'schema-msg', role: 'status' });
  const save = h('button', { type: 'button', id: 'schema-save' }, t('common.save'));
  save.addEventListener('click', async () => {
    msg.className = '';
    let body;
    try { body = JSON.parse(area.value); } catch (e) {
      msg.className = 'error';
      msg.textContent = t('schema.badJson', { message: e.message });
      return;
    }
    try {
      const saved = await api.saveTagSchema(project, body);
      area.value = JSON.stringify(saved, null, 1);
      readable(box, saved);
      msg.textContent = t('schema.saved');
    } catch (e) {
      msg.className = 'error';
      msg.textContent = t('schema.refused', { status: e.status, code: e.code, message: errorText(e) });
    }
  });
  main.append(h('h2', {}, t('schema.edit')),
    h('p', { class: 'muted' }, t('schema.editHelp')),
    area, h('div', { class: 'buttons' }, save), msg);
}
