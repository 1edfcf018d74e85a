// One's own account (issue 17): change the password (the current one, the new one twice).
// The server ends one's other sessions; this one stays logged in.

import * as api from '../api.js';
import { h, text } from '../dom.js';
import { crumbs, session } from '../app.js';
import { t, errorText, fmtNumber } from '../i18n.js';

export const name = 'account';

export function render(main) {
  crumbs([[t('nav.projects'), '#/projects'], [t('nav.account')]]);
  const old = h('input', { id: 'old-password', type: 'password', autocomplete: 'current-password', required: true });
  const fresh = h('input', { id: 'new-password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const again = h('input', { id: 'new-password2', type: 'password', autocomplete: 'new-password', required: true });
  const state = h('p', { id: 'password-state', role: 'status' });
  const form = h('form', { class: 'card login', id: 'password-form' },
    h('h1', {}, t('account.title')),
    h('p', {}, t('account.loggedInAs'), ' ', text('strong', session.user ? session.user.name : '', { 'data-user': '' })),
    h('label', {}, t('account.old'), old),
    h('label', {}, t('account.new'), fresh),
    h('label', {}, t('account.repeat'), again),
    state,
    h('button', { type: 'submit' }, t('account.change')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    state.className = '';
    if (fresh.value !== again.value) { state.className = 'error'; state.textContent = t('account.mismatch'); return; }
    try {
      const r = await api.changePassword(old.value, fresh.value);
      old.value = ''; fresh.value = ''; again.value = '';
      state.textContent = t('account.changed', { n: fmtNumber(r.sessions_ended) });
      state.dataset.done = 'true';
    } catch (err) {
      state.className = 'error';
      state.textContent = errorText(err);
    }
  });
  main.appendChild(form);
}
