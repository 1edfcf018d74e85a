// The app shell: who is logged in, a hash router over the views, the header (breadcrumbs,
// save status), the conflict dialog and the help overlay. Each view is a module exporting
// `render(main, params)` that may return a cleanup function.

import * as api from './api.js';
import { t, errorText, initFor, locale, setLocale, LOCALES } from './i18n.js';
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
import * as admin from './views/admin.js';
import * as invite from './views/invite.js';
import * as account from './views/account.js';

export const session = { user: null };
let cleanup = null;

const routes = [
  [/^#\/login$/, login, () => ({})],
  [/^#\/projects$/, projects, () => ({})],
  [/^#\/admin$/, admin, () => ({})],
  [/^#\/account$/, account, () => ({})],
  [/^#\/invite\/([A-Za-z0-9_-]+)$/, invite, (m) => ({ token: m[1] })],
  [/^#\/p\/(\d+)$/, project, (m) => ({ project: +m[1] })],
  [/^#\/p\/(\d+)\/review$/, review, (m) => ({ project: +m[1] })],
  [/^#\/p\/(\d+)\/dashboard$/, dashboard, (m) => ({ project: +m[1] })],
  [/^#\/p\/(\d+)\/export$/, exportView, (m) => ({ project: +m[1] })],
  [/^#\/p\/(\d+)\/concordance$/, concordance, (m) => ({ project: +m[1] })],
  [/^#\/p\/(\d+)\/schema$/, schemaView, (m) => ({ project: +m[1] })],
  [/^#\/r\/(\d+)(?:\/s\/(\d+))?$/, recording, (m) => ({ recording: +m[1], segment: m[2] ? +m[2] : null })],
];

/** Sets the breadcrumbs: [[label, href], …]; a label `{ user: name }` is user data (a name). */
export function crumbs(list) {
  const nav = clear(document.getElementById('crumbs'));
  list.forEach(([label, href], i) => {
    if (i) nav.appendChild(h('span', { class: 'sep' }, '›'));
    const attrs = label && typeof label === 'object' ? { 'data-user': '' } : {};
    const value = label && typeof label === 'object' ? label.user : label;
    nav.appendChild(href ? text('a', value, { href, ...attrs }) : text('span', value, attrs));
  });
}

async function route() {
  if (cleanup) { try { cleanup(); } catch { /* view already gone */ } cleanup = null; }
  keys.closeHelp();
  const hash = location.hash || '#/projects';
  // An invite link is opened by someone without an account yet.
  if (!session.user && !hash.startsWith('#/login') && !hash.startsWith('#/invite/')) {
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
        main.appendChild(h('p', { class: 'error' }, t('app.loadFailed', { message: errorText(e) })));
      }
      return;
    }
  }
  location.replace('#/projects');
}

/**
 * Called by the login view (and the invite page, with the page to land on): the session's
 * user as /api/me tells it (whether an instance admin, for the header's admin link).
 */
export async function loggedIn(user, to = null) {
  session.user = (await api.me().catch(() => null)) || user;
  user = session.user;
  initFor(user);
  showUser();
  await keys.loadSettings();
  await outbox.setUser(user);
  const next = new URLSearchParams((location.hash.split('?')[1]) || '').get('next');
  location.hash = to || (next && next !== '#/login' ? next : '#/projects');
}

function showUser() {
  document.getElementById('whoami').textContent = session.user ? session.user.name : '';
  document.getElementById('logout').hidden = !session.user;
  document.getElementById('account-link').hidden = !session.user;
  document.getElementById('admin-link').hidden = !(session.user && session.user.is_admin);
  header();
}

/** The header's own words and the language switch, in the current locale. */
function header() {
  document.getElementById('logout').textContent = t('app.logout');
  document.getElementById('account-link').textContent = t('nav.account');
  document.getElementById('admin-link').textContent = t('nav.admin');
  const help = document.getElementById('help-button');
  help.title = t('app.helpTitle');
  help.setAttribute('aria-label', t('app.helpTitle'));
  const sel = document.getElementById('lang');
  if (!sel.options.length) {
    for (const [code, label] of LOCALES) sel.appendChild(h('option', { value: code, lang: code }, label));
    sel.addEventListener('change', () => setLocale(sel.value));
  }
  sel.value = locale();
  sel.setAttribute('aria-label', t('app.language'));
  document.title = t('app.title');
}

function conflictDialog({ seg, mine, theirs }, resolve) {
  const root = document.getElementById('overlay-root');
  const mineText = mine.text_verbatim ?? t('conflict.boundsOnly');
  const done = (keepMine) => {
    dlg.remove();
    if (!keepMine) window.dispatchEvent(new CustomEvent('fangyan:segment', { detail: theirs }));
    resolve(keepMine);
  };
  const dlg = h('div', { class: 'overlay', id: 'conflict', role: 'alertdialog', 'aria-label': t('conflict.label') },
    h('div', { class: 'panel' },
      h('h2', {}, t('conflict.title')),
      h('p', {}, t('conflict.body', { seg, version: theirs.version })),
      h('div', { class: 'both' },
        h('section', {}, h('h3', {}, t('conflict.yours')), text('pre', mineText, { class: 'mine', 'data-user': '' })),
        h('section', {}, h('h3', {}, t('conflict.theirs')), text('pre', theirs.text_verbatim, { class: 'theirs', 'data-user': '' }))),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', id: 'keep-mine', onclick: () => done(true) }, t('conflict.keepMine')),
        h('button', { type: 'button', id: 'take-theirs', onclick: () => done(false) }, t('conflict.takeTheirs')))));
  root.appendChild(dlg);
  dlg.querySelector('#keep-mine').focus();
}

/** Every sentence of the re-login dialog (catalogue keys relogin.*). */
const RELOGIN = {
  get title() { return t('relogin.title'); },
  get body() { return t('relogin.body'); },
  other: (name) => t('relogin.other', { name }),
  get name() { return t('login.name'); },
  get password() { return t('login.password'); },
  get submit() { return t('login.submit'); },
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
      error.textContent = errorText(err);
      return;
    }
    dlg.remove();
    initFor(user);
    session.user = (await api.me().catch(() => null)) || user;
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
  outbox.hooks.onError = (e) => toast(t('app.changeRefused', { message: errorText(e) }));
  outbox.hooks.onPending = () => window.dispatchEvent(new CustomEvent('fangyan:pending'));
  window.addEventListener('fangyan:toast', (e) => toast(e.detail));
  document.getElementById('help-button').addEventListener('click', keys.toggleHelp);
  document.getElementById('logout').addEventListener('click', async () => {
    await api.logout().catch(() => {});
    session.user = null;
    initFor(null);
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
  initFor(null);
  header();
  // The probe answers null (not 401) when nobody is logged in: the login page logs no failed
  // request. The settings are asked for only once someone is.
  try {
    session.user = await api.me({ optional: true });
  } catch {
    session.user = null;
  }
  if (session.user) {
    initFor(session.user);
    await keys.loadSettings();
  }
  showUser();
  // A new language re-renders the page in place (and the header, the save status).
  window.addEventListener('fangyan:locale', () => { header(); outbox.status(); route(); });
  outbox.status();
  await outbox.setUser(session.user);
  window.addEventListener('hashchange', route);
  await route();
}

start();
