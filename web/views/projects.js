// Projects the user belongs to, with their role; who may create a project (and become its
// admin) is an instance setting (instance admins only by default), so the form shows only
// when /api/me says `can_create_projects`.

import * as api from '../api.js';
import { h, text } from '../dom.js';
import { crumbs } from '../app.js';

export const name = 'projects';

export async function render(main) {
  crumbs([['Projects']]);
  const [{ projects }, me] = await Promise.all([api.projects(), api.me()]);
  const list = h('ul', { class: 'list projects' });
  for (const p of projects) {
    list.appendChild(h('li', {},
      text('a', p.name, { href: `#/p/${p.id}`, class: 'project-link' }),
      h('span', { class: 'role' }, p.role),
      (p.role === 'reviewer' || p.role === 'admin') ? h('a', { href: `#/p/${p.id}/review`, class: 'small' }, 'review queue') : null));
  }
  if (!projects.length) list.appendChild(h('li', { class: 'muted' }, 'No projects yet.'));
  const input = h('input', { name: 'project', placeholder: 'New project name', dir: 'auto' });
  const error = h('span', { class: 'error' });
  const form = h('form', { class: 'inline' }, input, h('button', { type: 'submit' }, 'Create'), error);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const p = await api.createProject(input.value);
      location.hash = `#/p/${p.id}`;
    } catch (err) { error.textContent = err.message; }
  });
  main.append(h('h1', {}, 'Projects'), list);
  if (me.can_create_projects) main.append(form);
}
