// Projects the user belongs to, with their role; who may create a project (and become its
// admin) is an instance setting (instance admins only by default), so the form shows only
// when /api/me says `can_create_projects`.

import * as api from '../api.js';
import { h, text } from '../dom.js';
import { crumbs } from '../app.js';
import { t, errorText } from '../i18n.js';

export const name = 'projects';

export async function render(main) {
  crumbs([[t('nav.projects')]]);
  const [{ projects }, me] = await Promise.all([api.projects(), api.me()]);
  const list = h('ul', { class: 'list projects' });
  for (const p of projects) {
    list.appendChild(h('li', {},
      text('a', p.name, { href: `#/p/${p.id}`, class: 'project-link', 'data-user': '' }),
      h('span', { class: 'role', 'data-role': p.role }, t(`role.${p.role}`)),
      (p.role === 'reviewer' || p.role === 'admin') ? h('a', { href: `#/p/${p.id}/review`, class: 'small' }, t('nav.reviewQueue')) : null));
  }
  if (!projects.length) list.appendChild(h('li', { class: 'muted' }, t('projects.none')));
  const input = h('input', { name: 'project', placeholder: t('projects.newName'), dir: 'auto' });
  const error = h('span', { class: 'error' });
  const form = h('form', { class: 'inline' }, input, h('button', { type: 'submit' }, t('projects.create')), error);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const p = await api.createProject(input.value);
      location.hash = `#/p/${p.id}`;
    } catch (err) { error.textContent = errorText(err); }
  });
  main.append(h('h1', {}, t('nav.projects')), list);
  if (me.can_create_projects) main.append(form);
}
