// The tag-schema page (issue 7): the project's segment fields, speaker fields and features,
// bilingual and readable; admins also get the JSON editor, whose refusals (invalid schema,
// 409 tag_in_use for removals of values still in use) are shown as the server words them.

import * as api from '../api.js';
import { h, text, clear } from '../dom.js';
import { crumbs } from '../app.js';

export const name = 'schema';

const bi = (o) => `${o.label_zh || ''} · ${o.label_en || ''}`;

function readable(box, sch) {
  clear(box);
  const fields = (title, list) => {
    if (!list || !list.length) return;
    box.appendChild(h('h2', {}, title));
    const dl = h('dl', { class: 'schema-fields' });
    for (const f of list) {
      dl.appendChild(h('dt', { class: f.archived ? 'archived' : '' }, h('code', {}, f.id), ' ', text('span', bi(f)),
        f.multi ? h('span', { class: 'muted' }, ' (several values)') : null,
        f.archived ? h('span', { class: 'muted' }, ' (archived)') : null));
      dl.appendChild(h('dd', {}, h('ul', { class: 'values' }, (f.values || []).map((v) =>
        h('li', { class: v.archived ? 'archived' : '' }, h('code', {}, v.id), ' ', text('span', bi(v)),
          v.archived ? h('span', { class: 'muted' }, ' (archived)') : null)))));
    }
    box.appendChild(dl);
  };
  fields('Segment fields', sch.segment_fields);
  fields('Speaker fields', sch.speaker_fields);
  const feats = sch.features || [];
  if (feats.length) {
    box.appendChild(h('h2', {}, 'Features'));
    const tbody = h('tbody');
    for (const f of feats) {
      tbody.appendChild(h('tr', { class: f.archived ? 'archived' : '', 'data-code': f.code },
        h('td', {}, h('code', {}, f.code)), text('td', f.group || ''), text('td', f.label_zh || ''),
        text('td', f.label_en || ''), text('td', f.examples || ''), text('td', f.archived ? 'archived' : '')));
    }
    box.appendChild(h('table', { class: 'schema-features' },
      h('thead', {}, h('tr', {}, ['Code', 'Group', '中文', 'English', 'Examples', ''].map((t) => h('th', {}, t)))), tbody));
  }
}

export async function render(main, { project }) {
  const [p, sch] = await Promise.all([api.project(project), api.tagSchema(project)]);
  crumbs([['Projects', '#/projects'], [p.name, `#/p/${project}`], ['Tag schema']]);
  const box = h('div', { id: 'schema-readable' });
  main.append(h('h1', {}, 'Tag schema'), box);
  readable(box, sch);
  const role = p.role || ((await api.projects()).projects.find((x) => x.id === project) || {}).role;
  if (role !== 'admin') return;
  const area = h('textarea', { id: 'schema-json', rows: 24, spellcheck: false, class: 'mono', 'aria-label': 'Tag schema (JSON)' });
  area.value = JSON.stringify(sch, null, 1);
  const msg = h('p', { id: 'schema-msg', role: 'status' });
  const save = h('button', { type: 'button', id: 'schema-save' }, 'Save');
  save.addEventListener('click', async () => {
    msg.className = '';
    let body;
    try { body = JSON.parse(area.value); } catch (e) {
      msg.className = 'error';
      msg.textContent = 'Not valid JSON: ' + e.message;
      return;
    }
    try {
      const saved = await api.saveTagSchema(project, body);
      area.value = JSON.stringify(saved, null, 1);
      readable(box, saved);
      msg.textContent = 'Saved.';
    } catch (e) {
      msg.className = 'error';
      msg.textContent = `Refused (${e.status} ${e.code}): ${e.message}`;
    }
  });
  main.append(h('h2', {}, 'Edit (JSON)'),
    h('p', { class: 'muted' }, 'Rename with "renamed_from"; a value still used by tags cannot be removed: archive it ("archived": true).'),
    area, h('div', { class: 'buttons' }, save), msg);
}
