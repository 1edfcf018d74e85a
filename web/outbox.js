// Never lose work: every change goes into an outbox before it is sent, and stays there until
// the server acknowledged it.
//
// Decisions worth knowing:
// - **Durable and per user.** Entries live in IndexedDB (`store.js`), each tagged with its owner
//   (the server's origin and the user's id). Only the logged-in user's entries are shown or
//   sent: on a shared computer one person's queue is never replayed under another's session,
//   and it waits, untouched, until its owner logs in again.
// - **Replayed with their original save ids**, in order, so a save that reached the server
//   before the connection (or the session) dropped is applied once: the server recognises the id.
// - **One sender across tabs.** Sending happens inside the Web Lock `fangyan.outbox.send`;
//   each tab sends the entries it queued itself (so a conflict opens in the tab where the text
//   was typed) and adopts those of tabs that are gone (a tab holds the lock
//   `fangyan.tab.<id>` while it lives). Tabs tell each other about changes on a
//   BroadcastChannel, so each sees the others' pending edits and acknowledged saves.
// - **Each entry carries the version the user edited**; a 409 opens the conflict dialog
//   instead of overwriting someone else's work. Only this tab's own later edits of a segment
//   move on to the version its save produced; another tab's edit of the same segment, made on
//   the old text, conflicts as it should.
// - **A storage refusal loses nothing.** An entry the browser will not store (quota) stays in
//   this tab's memory, is still sent, is retried into storage, and the header says so.
// - **A 401 keeps the queue.** Sending stops until the same user logs in again (the shell
//   shows a login dialog in place); another user's login leaves it alone.

import * as api from './api.js';
import { newId } from './dom.js';
import * as store from './store.js';
import { t } from './i18n.js';

/** Every sentence this module shows (one place, for the translation catalogue). */
const TEXT = {
  get saved() { return t('outbox.saved'); },
  pending: (n) => t('outbox.pending', { n }),
  saving: (n) => t('outbox.saving', { n }),
  offline: (n) => t('outbox.offline', { n }),
  signedOut: (n) => t('outbox.signedOut', { n }),
  get conflict() { return t('outbox.conflict'); },
  otherTabs: (n) => t('outbox.otherTabs', { n }),
  storageFull: (n) => t('outbox.storageFull', { n }),
  get leave() { return t('outbox.leave'); },
};

const LEGACY_KEY = 'fangyan.outbox.v1';
const DEBOUNCE_MS = 600;
const MAX_WAIT_MS = 1000;
const RETRY_MS = 2000;
const SEND_LOCK = 'fangyan.outbox.send';
const TAB_PREFIX = 'fangyan.tab.';
const TAB = newId();

let owner = null; // `${origin}|${user id}` of the logged-in user, or null
let entries = []; // every queued entry of `owner` (all tabs), oldest first
const unstored = new Map(); // save_id → an entry the browser refused to store, newest fields
const versions = new Map();
const links = new Map(); // seg → Map(version sent → version acknowledged), this tab's saves
let timer = null;
let storageTimer = null;
let firstPending = 0;
let flushing = false;
let sending = false;
let offline = false;
let signedOut = false;
let conflictOpen = 0;
let seqCounter = 0;
const idleWaiters = [];

/**
 * Hooks the shell sets: onSaved(segment), onConflict({seg, mine, theirs}, resolve), onError(err),
 * onPending() when another tab queued something.
 */
export const hooks = { onSaved: () => {}, onConflict: () => {}, onError: () => {}, onPending: () => {} };

// ---- tabs ---------------------------------------------------------------------------------------

const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
if (locks) locks.request(TAB_PREFIX + TAB, () => new Promise(() => {})); // held while the tab lives
const channel = typeof BroadcastChannel !== 'undefined' ? new BroadcastChannel('fangyan.outbox') : null;

function announce(message) {
  if (channel && owner) channel.postMessage({ owner, ...message });
}

if (channel) {
  channel.onmessage = async ({ data }) => {
    if (!data || data.owner !== owner) return;
    await refresh();
    if (data.kind === 'saved') {
      setVersion(data.segment.id, data.segment.version);
      hooks.onSaved(data.segment);
    } else hooks.onPending();
  };
}

/** Ids of the tabs alive now (all of them but this one are unknown without Web Locks). */
async function aliveTabs() {
  if (!locks) return new Set([TAB]);
  const { held } = await locks.query();
  return new Set(held.map((l) => l.name).filter((n) => n.startsWith(TAB_PREFIX)).map((n) => n.slice(TAB_PREFIX.length)));
}

function withSendLock(work) {
  return locks ? locks.request(SEND_LOCK, work) : work();
}

// ---- storage ------------------------------------------------------------------------------------

// This tab's storage calls run one after another, so a read sees every earlier write.
let serialTail = Promise.resolve();
function serial(work) {
  const p = serialTail.then(work);
  serialTail = p.catch(() => {});
  return p;
}

/** Keeps `entry` in memory after the browser refused to store it, and retries. */
function keepUnstored(entry, err) {
  console.warn('outbox: storing a change failed', err);
  unstored.set(entry.save_id, entry);
  if (!storageTimer) storageTimer = setInterval(retryStorage, RETRY_MS);
  status();
}

async function retryStorage() {
  for (const e of [...unstored.values()]) {
    try {
      await serial(() => store.put(e));
      if (unstored.get(e.save_id) === e) unstored.delete(e.save_id);
    } catch { return; } // still full: try again later
  }
  if (!unstored.size) { clearInterval(storageTimer); storageTimer = null; }
  status();
}

/** Reloads the owner's entries from storage, laid under what only memory holds. */
async function refresh() {
  const o = owner;
  if (!o) { entries = []; status(); return; }
  let list = [];
  try { list = await serial(() => store.all(o)); } catch (e) { console.warn('outbox: reading failed', e); }
  if (o !== owner) return;
  const byId = new Map(list.map((e) => [e.save_id, e]));
  for (const e of unstored.values()) if (e.owner === o) byId.set(e.save_id, e);
  entries = [...byId.values()].sort((a, b) => a.seq - b.seq);
  status();
}

/** Moves a queue from before per-user storage (localStorage) to the first user who logs in. */
async function adoptLegacy() {
  let old = [];
  try { old = JSON.parse(localStorage.getItem(LEGACY_KEY) || '[]'); } catch { /* unreadable */ }
  if (!old.length) return;
  for (const e of old) {
    const entry = { ...e, owner, tab: TAB, seq: nextSeq() };
    try { await serial(() => store.put(entry)); } catch (err) { keepUnstored(entry, err); }
  }
  localStorage.removeItem(LEGACY_KEY);
}

// ---- the queue ----------------------------------------------------------------------------------

function nextSeq() {
  seqCounter = (seqCounter + 1) % 1000;
  return Date.now() * 1000 + seqCounter;
}

/**
 * Switches the outbox to `user` (null: logged out). The same user again (after a session
 * expired) resumes sending; another user's entries are neither shown nor sent.
 */
export async function setUser(user) {
  const next = user ? `${location.origin}|${user.id}` : null;
  if (next === owner) {
    signedOut = false;
    status();
    if (owner) flush();
    return;
  }
  clearTimeout(timer);
  owner = next;
  entries = [];
  signedOut = false;
  offline = false;
  links.clear();
  if (owner) await adoptLegacy();
  await refresh();
  if (owner) flush();
}

/** Records the version the screen shows for a segment (from a listing or a save). */
export function setVersion(seg, version) {
  const known = versions.get(seg);
  if (known === undefined || version > known) versions.set(seg, version);
}
export function versionOf(seg) { return versions.get(seg); }

/** Fields queued but not yet acknowledged for a segment, from any tab (shown over the server's copy). */
export function pending(seg) {
  const out = {};
  for (const e of entries) if (e.seg === seg) Object.assign(out, e.fields);
  return out;
}
export function hasPending(seg) { return entries.some((e) => e.seg === seg); }
/** Queued entries of this user, from every tab. */
export function count() { return entries.length; }
const own = () => entries.filter((e) => e.tab === TAB);

/** Queues a change of `fields` on segment `seg` and schedules a save within about a second. */
export function queue(seg, fields) {
  if (!owner) return;
  const last = entries.findLast((e) => e.seg === seg && e.tab === TAB && !e.attempted);
  if (last) {
    Object.assign(last.fields, fields);
    const merged = { ...last, fields: { ...last.fields } };
    if (unstored.has(last.save_id)) storeNew(merged);
    else {
      // The entry may have been taken for sending meanwhile: then these fields start a new one.
      serial(() => store.update(last.save_id, (x) => (x && !x.attempted ? { ...x, fields: { ...x.fields, ...fields } } : null)))
        .then((stored) => {
          if (stored) { announce({ kind: 'changed' }); return; }
          const fresh = entry(seg, merged.fields);
          entries.push(fresh);
          storeNew(fresh);
        })
        .catch((err) => keepUnstored(merged, err));
    }
  } else {
    const fresh = entry(seg, fields);
    entries.push(fresh);
    storeNew(fresh);
  }
  schedule();
  status();
}

function entry(seg, fields) {
  return { save_id: newId(), owner, tab: TAB, seq: nextSeq(), seg, fields: { ...fields }, version: versions.get(seg), attempted: false };
}

function storeNew(e) {
  serial(() => store.put(e))
    .then(() => {
      if (unstored.get(e.save_id)) unstored.delete(e.save_id);
      status();
      announce({ kind: 'changed' });
    })
    .catch((err) => keepUnstored(e, err));
}

function schedule(delay = DEBOUNCE_MS) {
  if (!firstPending) firstPending = performance.now();
  const wait = Math.max(0, Math.min(delay, MAX_WAIT_MS - (performance.now() - firstPending)));
  clearTimeout(timer);
  timer = setTimeout(flush, wait);
}

/** The version to send `e` with: this tab's later edits follow its own acknowledged saves. */
function baseVersion(e) {
  let v = e.version ?? versions.get(e.seg);
  const chain = links.get(e.seg);
  if (e.tab === TAB && chain) {
    const seen = new Set();
    while (chain.has(v) && !seen.has(v)) { seen.add(v); v = chain.get(v); }
  }
  return v;
}

/** Sends this tab's queued entries now, in order. Resolves when they are sent or stuck. */
export async function flush() {
  clearTimeout(timer);
  if (flushing || !owner || signedOut) return;
  flushing = true;
  firstPending = 0;
  status();
  try {
    await withSendLock(send);
  } finally {
    flushing = false;
    sending = false;
    status();
    if (!own().length) while (idleWaiters.length) idleWaiters.shift()();
  }
}

async function send() {
  const alive = await aliveTabs();
  for (;;) {
    if (conflictOpen || signedOut || !owner) return;
    await refresh();
    const next = entries.find((e) => e.tab === TAB || !alive.has(e.tab));
    if (!next) return;
    const o = owner;
    let e = next;
    next.attempted = true;
    next.tab = TAB;
    if (!unstored.has(e.save_id)) {
      try {
        e = await serial(() => store.update(next.save_id, (x) => (x ? { ...x, attempted: true, tab: TAB } : null)));
      } catch (err) { keepUnstored(next, err); e = next; }
      if (!e) continue; // sent meanwhile
    }
    const version = baseVersion(e);
    sending = true;
    status();
    try {
      const saved = await api.saveSegment(e.seg, { version, save_id: e.save_id, ...e.fields });
      offline = false;
      if (!links.has(e.seg)) links.set(e.seg, new Map());
      links.get(e.seg).set(version, saved.version);
      versions.set(e.seg, saved.version);
      unstored.delete(e.save_id);
      await serial(async () => {
        await store.remove(e.save_id);
        // This tab's later edits of the segment were made on top of this one.
        await store.updateWhere(o, (x) => x.seg === e.seg && x.tab === TAB && x.version === version, (x) => ({ ...x, version: saved.version }));
      }).catch((err) => console.warn('outbox: forgetting a sent change failed', err));
      entries = entries.filter((x) => x.save_id !== e.save_id);
      announce({ kind: 'saved', segment: saved });
      hooks.onSaved(saved);
    } catch (err) {
      if (err.status === 409 && err.current) {
        await conflict(e, err.current);
      } else if (err.status === 401) {
        signedOut = true; // kept until the same user logs in again (setUser)
        return;
      } else if (err.status === 0 || err.status >= 500 || err.status === 429) {
        offline = true;
        status();
        setTimeout(flush, RETRY_MS);
        return;
      } else {
        await drop([e]);
        hooks.onError(err);
      }
    } finally {
      sending = false;
    }
  }
}

async function drop(list) {
  for (const x of list) unstored.delete(x.save_id);
  await serial(async () => { for (const x of list) await store.remove(x.save_id); }).catch(() => {});
  entries = entries.filter((x) => !list.some((y) => y.save_id === x.save_id));
  announce({ kind: 'changed' });
}

/** A stale save: this tab's queued fields of the segment go to the conflict dialog. */
async function conflict(e, current) {
  const mine = {};
  const involved = entries.filter((x) => x.seg === e.seg && (x.tab === TAB || x.save_id === e.save_id));
  for (const x of involved) Object.assign(mine, x.fields);
  await drop(involved);
  versions.set(e.seg, current.version);
  links.delete(e.seg);
  conflictOpen++;
  status();
  hooks.onConflict({ seg: e.seg, mine, theirs: current }, (keepMine) => {
    conflictOpen--;
    if (keepMine) queue(e.seg, mine);
    else flush();
    status();
  });
}

/** Resolves once everything this tab queued has been acknowledged. */
export function idle() {
  if (!own().length) return Promise.resolve();
  flush();
  return new Promise((r) => idleWaiters.push(r));
}

/** The header indicator: saved, pending, saving, offline, signed-out or conflict, with counts. */
export function status() {
  const el = document.getElementById('save-status');
  if (!el) return;
  const n = entries.length;
  const others = entries.filter((e) => e.tab !== TAB).length;
  let state = 'saved';
  let label = TEXT.saved;
  if (conflictOpen) { state = 'conflict'; label = TEXT.conflict; }
  else if (signedOut) { state = 'signed-out'; label = TEXT.signedOut(n); }
  else if (n && (offline || !navigator.onLine)) { state = 'offline'; label = TEXT.offline(n); }
  else if (sending) { state = 'saving'; label = TEXT.saving(n); }
  else if (n) { state = 'pending'; label = TEXT.pending(n); }
  else if (offline || !navigator.onLine) { state = 'offline'; label = TEXT.offline(0); }
  if (others && state !== 'conflict') label += TEXT.otherTabs(others);
  el.dataset.state = state;
  el.dataset.count = String(n);
  el.className = 'status ' + state;
  el.textContent = label;
  const warn = document.getElementById('storage-warning');
  if (warn) {
    warn.hidden = !unstored.size;
    warn.textContent = unstored.size ? TEXT.storageFull(unstored.size) : '';
  }
}

window.addEventListener('online', () => { offline = false; flush(); });
window.addEventListener('offline', () => { offline = true; status(); });
window.addEventListener('beforeunload', (e) => {
  if (!own().length && !unstored.size) return;
  if (navigator.onLine) flush();
  e.preventDefault();
  e.returnValue = TEXT.leave; // browsers show their own sentence; the value only has to be set
});
