// Login: name and password; the server sets an HttpOnly session cookie.

import * as api from '../api.js';
import { h } from '../dom.js';
import { loggedIn, crumbs } from '../app.js';

export const name = 'login';

export function render(main) {
  crumbs([['Log in']]);
  const user = h('input', { name: 'name', autocomplete: 'username', required: true, dir: 'auto' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card login' },
    h('h1', {}, 'Log in'),
    h('label', {}, 'Name', user),
    h('label', {}, 'Password', pass),
    error,
    h('button', { type: 'submit' }, 'Log in'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    try {
      const res = await api.login(user.value, pass.value);
      await loggedIn(res.user);
    } catch (err) {
      error.textContent = err.message;
    }
  });
  main.appendChild(form);
  user.focus();
}
