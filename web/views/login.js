// Login: name and password; the server sets an HttpOnly session cookie.

import * as api from '../api.js';
import { h } from '../dom.js';
import { loggedIn, crumbs } from '../app.js';
import { t, errorText } from '../i18n.js';

export const name = 'login';

export function render(main) {
  crumbs([[t('login.title')]]);
  const user = h('input', { name: 'name', autocomplete: 'username', required: true, dir: 'auto' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card login' },
    h('h1', {}, t('login.title')),
    h('label', {}, t('login.name'), user),
    h('label', {}, t('login.password'), pass),
    error,
    h('button', { type: 'submit' }, t('login.submit')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    try {
      const res = await api.login(user.value, pass.value);
      await loggedIn(res.user);
    } catch (err) {
      error.textContent = errorText(err);
    }
  });
  main.appendChild(form);
  user.focus();
}
