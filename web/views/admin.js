// The instance admin's page (issue 17): every user with their roles per project, disabled or
// not and their last login; make a user (optionally straight into a project with a role),
// reset a password, disable and enable, set a user's role in a project, and make an invite
// link for a project and role (shown once, with a copy button). Everything here is
// /api/admin/* and the project members and invites routes; other users get the server's 403
// (`not_instance_admin`) shown as a translated error.

import * as api from '../api.js';
import { h, text, clear } from '../dom.js';
import { crumbs, session } from '../app.js';
import { t, errorText, fmtDate } from '../i18n.js';

export const name = 'admin';

const ROLES = ['transcriber', 'reviewer', 'admin'];

const roleOptions = () => ROLES.map((r) => h('option', { value: r }, t(`role.${r}`)));
/** A select of every project (names are user data); `none` adds an empty first choice. */
function projectSelect(projects, attrs, none = null) {
  return h('select', { ...attrs },
    none ? h('option', { value: '' }, none) : null,
    ...projects.map((p) => h('option', { value: p.id, 'data-user': '' }, p.name)));
}

export async function render(main) {
  crumbs([[t('nav.projects'), '#/projects'], [t('nav.admin')]]);
  const [{ users }, { projects }] = await Promise.all([api.adminUsers(), api.adminProjects()]);
  const body = h('tbody');
  const state = h('p', { class: 'muted', id: 'admin-state', role: 'status' });
  const say = (msg, error = false) => { state.textContent = msg; state.classList.toggle('error', error); };

  async function reload() {
    const list = (await api.adminUsers()).users;
    clear(body);
    for (const u of list) body.appendChild(userRow(u));
  }
  /** Runs an admin action; its outcome (or refusal) is said in the status line. */
  async function act(work, done) {
    try {
      await work();
      say(done);
      await reload();
      return true;
    } catch (e) {
      say(errorText(e), true);
      return false;
    }
  }

  function userRow(u) {
    const roles = h('ul', { class: 'user-roles' },
      ...u.projects.map((p) => h('li', { 'data-project': p.id, 'data-role': p.role },
        text('span', p.name, { 'data-user': '' }), ' ', h('span', { class: 'role' }, t(`role.${p.role}`)))));
    if (!u.projects.length) roles.appendChild(h('li', { class: 'muted' }, t('admin.noProjects')));
    const password = h('input', { type: 'password', class: 'new-password', autocomplete: 'new-password', placeholder: t('admin.newPassword'), 'aria-label': t('admin.newPassword') });
    const reset = h('button', { type: 'button', class: 'reset-password' }, t('admin.resetPassword'));
    reset.addEventListener('click', () => act(() => api.resetPassword(u.id, password.value), t('admin.passwordReset', { name: u.name })));
    const toggle = h('button', { type: 'button', class: u.disabled ? 'enable' : 'disable' }, u.disabled ? t('admin.enable') : t('admin.disable'));
    toggle.addEventListener('click', () => act(() => (u.disabled ? api.enableUser(u.id) : api.disableUser(u.id)),
      t(u.disabled ? 'admin.enabled' : 'admin.disabledDone', { name: u.name })));
    const project = projectSelect(projects, { class: 'role-project', 'aria-label': t('admin.project') });
    const role = h('select', { class: 'role-role', 'aria-label': t('admin.role') }, ...roleOptions());
    const setRole = h('button', { type: 'button', class: 'set-role' }, t('admin.setRole'));
    setRole.addEventListener('click', () => act(() => api.addMember(+project.value, u.name, role.value),
      t('admin.roleSet', { name: u.name, role: t(`role.${role.value}`) })));
    const self = session.user && session.user.id === u.id;
    return h('tr', { 'data-user-id': u.id, 'data-name': u.name, 'data-disabled': u.disabled ? 'true' : 'false' },
      h('td', {}, text('span', u.name, { class: 'user-name', 'data-user': '' }), u.is_admin ? h('span', { class: 'role instance-admin' }, t('admin.instanceAdmin')) : null),
      h('td', {}, roles),
      h('td', { class: 'user-status' }, u.disabled ? h('span', { class: 'error' }, t('admin.disabled')) : t('admin.active')),
      h('td', { class: 'last-login' }, u.last_login_at ? fmtDate(u.last_login_at) : h('span', { class: 'muted' }, t('admin.never'))),
      h('td', { class: 'user-actions' },
        h('div', { class: 'inline' }, password, reset),
        h('div', { class: 'inline' }, project, role, setRole),
        self ? null : h('div', { class: 'inline' }, toggle)));
  }

  // A new user, optionally straight into a project with a role.
  const newName = h('input', { id: 'new-user-name', autocomplete: 'off', dir: 'auto', required: true, placeholder: t('login.name'), 'aria-label': t('login.name') });
  const newPass = h('input', { id: 'new-user-password', type: 'password', autocomplete: 'new-password', required: true, placeholder: t('login.password'), 'aria-label': t('login.password') });
  const newProject = projectSelect(projects, { id: 'new-user-project', 'aria-label': t('admin.project') }, t('admin.noProject'));
  const newRole = h('select', { id: 'new-user-role', 'aria-label': t('admin.role') }, ...roleOptions());
  const createForm = h('form', { class: 'inline', id: 'create-user' }, newName, newPass, newProject, newRole,
    h('button', { type: 'submit' }, t('admin.createUser')));
  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const nameValue = newName.value;
    const ok = await act(async () => {
      await api.createUser(nameValue, newPass.value);
      if (newProject.value) await api.addMember(+newProject.value, nameValue, newRole.value);
    }, t('admin.created', { name: nameValue }));
    if (ok) { newName.value = ''; newPass.value = ''; }
  });

  // An invite link: shown once (only its hash is kept), with a copy button.
  const invProject = projectSelect(projects, { id: 'invite-project', 'aria-label': t('admin.project') });
  const invRole = h('select', { id: 'invite-role', 'aria-label': t('admin.role') }, ...roleOptions());
  const invDays = h('input', { id: 'invite-days', type: 'number', min: 1, max: 30, value: 7, 'aria-label': t('admin.inviteDays') });
  const linkBox = h('div', { id: 'invite-result' });
  const inviteForm = h('form', { class: 'inline', id: 'create-invite' }, invProject, invRole,
    h('label', {}, t('admin.inviteDays'), ' ', invDays), h('button', { type: 'submit' }, t('admin.createInvite')));
  inviteForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(linkBox);
    try {
      const inv = await api.createInvite(+invProject.value, invRole.value, +invDays.value || undefined);
      linkBox.appendChild(inviteLink(inv, projects.find((p) => p.id === inv.project_id)));
    } catch (err) { linkBox.appendChild(h('p', { class: 'error' }, errorText(err))); }
  });

  await reload();
  main.append(h('h1', {}, t('nav.admin')), state,
    h('section', { class: 'card' }, h('h2', {}, t('admin.newUser')), createForm),
    h('section', { class: 'card' }, h('h2', {}, t('admin.invite')), h('p', { class: 'muted' }, t('admin.inviteHelp')), inviteForm, linkBox),
    h('h2', {}, t('admin.users')),
    h('table', { class: 'data users', id: 'users' },
      h('thead', {}, h('tr', {}, ...['admin.col.name', 'admin.col.roles', 'admin.col.status', 'admin.col.lastLogin', 'admin.col.actions'].map((k) => h('th', {}, t(k))))),
      body));
}

/** The link of a new invite, shown this once: a read-only field, a copy button, its terms. */
function inviteLink(inv, project) {
  const url = `${location.origin}${location.pathname}#/invite/${inv.token}`;
  const field = h('input', { id: 'invite-link', readonly: true, value: url, translate: 'no', 'aria-label': t('admin.inviteLink'), size: 90 });
  const copied = h('span', { class: 'muted', role: 'status' });
  const copy = h('button', { type: 'button', id: 'copy-invite' }, t('admin.copy'));
  copy.addEventListener('click', async () => {
    field.select();
    try {
      await navigator.clipboard.writeText(url);
    } catch {
      // No clipboard permission (plain http, an old browser): the selected field is copied.
      document.execCommand('copy');
    }
    copied.textContent = t('admin.copied');
  });
  return h('div', { class: 'card invite-link' },
    h('p', {}, t('admin.inviteFor'), ' ', text('strong', project ? project.name : '', { 'data-user': '' }), ' · ',
      h('span', { class: 'role' }, t(`role.${inv.role}`)), ' · ', t('admin.expires', { when: fmtDate(inv.expires_at) })),
    h('div', { class: 'inline' }, field, copy, copied),
    h('p', { class: 'muted' }, t('admin.shownOnce')));
}
