// The app shell: who is logged in, a hash router over the views, the header (breadcrumbs,
// save status), the conflict dialog and the help overlay. Each view is a module exporting
// `render(main, params)` that may return a cleanup function.

import * as api from './api.js';
import { h, clear, text } from './dom.js';
import * as keys from './keys.js';
import * as outbox from './outbox.js';
import * as login from './views/login.js';
import * as projects from './views/projects.js';
import * as project from './views/project.js';
import * as recording from './views/recording.js';
import * as review from './views/review.js';
import * as dashboard from './views/dashboard.js';
import * as exportView from './views/export.js';
import * as concordance from './views/concordance.js';
import * as schemaView from './views/schema.js';

export const session = { user: null };
let cleanup = null;

const routes = [
  [/^#\/login$/, login, () => ({})],
  [/^#\/projects$/, projects, () => ({})],
  [/^#\/p\/(\d+)$/, project, (m) => ({ project: +m[1] })],
  [/^#\/p\/(\d+)\/review$/, review, (m) => ({ project: +m[1] })],
  [/^#\/p\/(\d+)\/dashboard$/, dashboard, (m) => ({ project: +m[1] })],
  [/^#\/p\/(\d+)\/export$/, exportView, (m) => ({ project: +m[1] })],
  [/^#\/p\/(\d+)\/concordance$/, concordance, (m) => ({ project: +m[1] })],
  [/^#\/p\/(\d+)\/schema$/, schemaView, (m) => ({ project: +m[1] })],
  [/^#\/r\/(\d+)(?:\/s\/(\d+))?$/, recording, (m) => ({ recording: +m[1], segment: m[2] ? +m[2] : null })],
];

/** Sets the breadcrumbs: [[label, href], …]. */
export function crumbs(list) {
  const nav = clear(document.getElementById('crumbs'));
  list.forEach(([label, href], i) => {
    if (i) nav.appendChild(h('span', { class: 'sep' }, '›'));
    nav.appendChild(href ? text('a', label, { href }) : text('span', label));
  });
}

async function route() {
  if (cleanup) { try { cleanup(); } catch { /* view already gone */ } cleanup = null; }
  keys.closeHelp();
  const hash = location.hash || '#/projects';
  if (!session.user && !hash.startsWith('#/login')) {
    location.replace('#/login?next=' + encodeURIComponent(hash));
    return;
  }
  const bare = hash.split('?')[0];
  const main = clear(document.getElementById('view'));
  for (const [re, view, params] of routes) {
    const m = bare.match(re);
    if (m) {
      main.dataset.view = view.name || bare;
      try {
        cleanup = (await view.render(main, params(m))) || null;
      } catch (e) {
        if (e.status === 401) return;
        main.appendChild(h('p', { class: 'error' }, 'Could not load this page: ' + e.message));
      }
      return;
    }
  }
  location.replace('#/projects');
}

/** Called by the login view. */
export async function loggedIn(user) {
  session.user = user;
  showUser();
  await keys.loadSettings();
  await outbox.setUser(user);
  const next = new URLSearchParams((location.hash.split('?')[1]) || '').get('next');
  location.hash = next && next !== '#/login' ? next : '#/projects';
}

function showUser() {
  document.getElementById('whoami').textContent = session.user ? session.user.name : '';
  document.getElementById('logout').hidden = !session.user;
}

function conflictDialog({ seg, mine, theirs }, resolve) {
  const root = document.getElementById('overlay-root');
  const mineText = mine.text_verbatim ?? '(only the boundaries or speaker changed)';
  const done = (keepMine) => {
    dlg.remove();
    if (!keepMine) window.dispatchEvent(new CustomEvent('fangyan:segment', { detail: theirs }));
    resolve(keepMine);
  };
  const dlg = h('div', { class: 'overlay', id: 'conflict', role: 'alertdialog', 'aria-label': 'Version conflict' },
    h('div', { class: 'panel' },
      h('h2', {}, 'Someone else changed this segment'),
      h('p', {}, `Segment ${seg} is now at version ${theirs.version}. Choose the text to keep; nothing is lost either way (both are in the history).`),
      h('div', { class: 'both' },
        h('section', {}, h('h3', {}, 'Yours'), text('pre', mineText, { class: 'mine' })),
        h('section', {}, h('h3', {}, 'Theirs (saved)'), text('pre', theirs.text_verbatim, { class: 'theirs' }))),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', id: 'keep-mine', onclick: () => done(true) }, 'Keep mine'),
        h('button', { type: 'button', id: 'take-theirs', onclick: () => done(false) }, 'Take theirs'))));
  root.appendChild(dlg);
  dlg.querySelector('#keep-mine').focus();
}

/** Every sentence of the re-login dialog (one place, for the translation catalogue). */
const RELOGIN = {
  title: 'Your session has ended',
  body: 'Log in again to keep working. Nothing you typed is lost: your unsent changes wait in this browser and are sent once you are back.',
  other: (name) => `You are now logged in as ${name}; the changes of the previous user stay here, unsent, until they log in again.`,
  name: 'Name',
  password: 'Password',
  submit: 'Log in',
};

/**
 * Shown in place when a request answers 401 while someone was logged in: the page (and the
 * outbox) stay as they are. The same user resumes where they were; another user gets a
 * fresh render of the page, and the previous user's queue stays untouched.
 */
function reloginDialog() {
  if (document.getElementById('relogin')) return;
  const previous = session.user;
  const root = document.getElementById('overlay-root');
  const name = h('input', { name: 'name', autocomplete: 'username', required: true, dir: 'auto', value: previous ? previous.name : '' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'panel relogin-form' },
    h('h2', {}, RELOGIN.title),
    h('p', {}, RELOGIN.body),
    h('label', {}, RELOGIN.name, name),
    h('label', {}, RELOGIN.password, pass),
    error,
    h('div', { class: 'buttons' }, h('button', { type: 'submit' }, RELOGIN.submit)));
  const dlg = h('div', { class: 'overlay', id: 'relogin', role: 'alertdialog', 'aria-label': RELOGIN.title }, form);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    let user;
    try {
      user = (await api.login(name.value, pass.value)).user;
    } catch (err) {
      error.textContent = err.message;
      return;
    }
    dlg.remove();
    session.user = user;
    showUser();
    await keys.loadSettings();
    await outbox.setUser(user);
    if (!previous || previous.id !== user.id) {
      toast(RELOGIN.other(user.name));
      route();
    }
  });
  root.appendChild(dlg);
  (previous ? pass : name).focus();
}

function toast(message) {
  const el = h('div', { class: 'toast', role: 'alert' }, message);
  document.body.appendChild(el);
  setTimeout(() => el.remove(), 5000);
}

async function start() {
  api.setUnauthenticatedHandler(() => {
    if (session.user) reloginDialog();
    else if (!location.hash.startsWith('#/login')) location.hash = '#/login';
  });
  outbox.hooks.onConflict = conflictDialog;
  outbox.hooks.onSaved = (s) => window.dispatchEvent(new CustomEvent('fangyan:segment', { detail: s }));
  outbox.hooks.onError = (e) => toast('A change was refused: ' + e.message);
  outbox.hooks.onPending = () => window.dispatchEvent(new CustomEvent('fangyan:pending'));
  window.addEventListener('fangyan:toast', (e) => toast(e.detail));
  document.getElementById('help-button').addEventListener('click', keys.toggleHelp);
  document.getElementById('logout').addEventListener('click', async () => {
    await api.logout().catch(() => {});
    session.user = null;
    showUser();
    await outbox.setUser(null);
    location.hash = '#/login';
  });
  window.addEventListener('keydown', (e) => {
    if (keys.composing(e)) return;
    if (e.key === 'Escape' && keys.helpOpen()) { keys.closeHelp(); e.preventDefault(); return; }
    const typing = e.target instanceof HTMLElement && e.target.matches('input, textarea, select');
    if (keys.actionOf(e) === 'help' || (e.key === '?' && !typing)) {
      e.preventDefault();
      keys.toggleHelp();
    }
  });
  try {
    // Both at once: the settings answer 401 too when nobody is logged in.
    [session.user] = await Promise.all([api.me(), keys.loadSettings()]);
  } catch {
    session.user = null;
  }
  showUser();
  outbox.status();
  await outbox.setUser(session.user);
  window.addEventListener('hashchange', route);
  await route();
}

start();
