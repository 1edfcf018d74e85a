// An invite link opened (issue 17): reachable without an account (app.js lets #/invite/
// through). It shows the project and the role offered; the invitee picks a name and a
// password and accepts, which makes the account, joins the project and logs in (the server
// sets the session cookie), then lands on the project page. A link nobody issued (404), or one
// used or expired (410), is said in the user's language by its error code.

import * as api from '../api.js';
import { h, text } from '../dom.js';
import { crumbs, loggedIn } from '../app.js';
import { t, errorText, fmtDate } from '../i18n.js';

export const name = 'invite';

export async function render(main, { token }) {
  crumbs([[t('invite.title')]]);
  let offer;
  try {
    offer = await api.invite(token);
  } catch (e) {
    main.appendChild(h('div', { class: 'card login invite', id: 'invite' },
      h('h1', {}, t('invite.title')),
      h('p', { class: 'error', id: 'invite-error', 'data-code': e.code, role: 'alert' }, errorText(e))));
    return;
  }
  const user = h('input', { name: 'name', autocomplete: 'username', required: true, dir: 'auto' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const again = h('input', { name: 'password2', type: 'password', autocomplete: 'new-password', required: true });
  const error = h('p', { class: 'error', role: 'alert', id: 'invite-error' });
  const form = h('form', { class: 'card login invite', id: 'invite' },
    h('h1', {}, t('invite.title')),
    h('p', { id: 'invite-offer' }, t('invite.offer'), ' ', text('strong', offer.project_name, { class: 'project', 'data-user': '' }), ' · ',
      h('span', { class: 'role', 'data-role': offer.role }, t(`role.${offer.role}`))),
    h('p', { class: 'muted' }, t('invite.expires', { when: fmtDate(offer.expires_at) })),
    h('label', {}, t('invite.name'), user),
    h('label', {}, t('login.password'), pass),
    h('label', {}, t('account.repeat'), again),
    error,
    h('button', { type: 'submit' }, t('invite.accept')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    if (pass.value !== again.value) { error.textContent = t('account.mismatch'); return; }
    try {
      const res = await api.acceptInvite(token, user.value, pass.value);
      await loggedIn(res.user, `#/p/${res.project_id}`);
    } catch (err) {
      error.textContent = errorText(err);
    }
  });
  main.appendChild(form);
  user.focus();
}
