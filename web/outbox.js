// Never lose work: every change goes into an outbox kept in localStorage before it is sent.
// Entries are replayed in order with their original save ids, so a save that reached the
// server before the connection dropped is applied once (the server recognises the id).
// Each entry carries the version the user edited; a 409 opens the conflict dialog instead of
// overwriting someone else's work.

import * as api from './api.js';
import { newId } from './dom.js';

const KEY = 'fangyan.outbox.v1';
const DEBOUNCE_MS = 600;
const MAX_WAIT_MS = 1000;
const RETRY_MS = 2000;

let entries = load();
const versions = new Map();
let timer = null;
let firstPending = 0;
let flushing = false;
let offline = false;
let conflictOpen = 0;
const idleWaiters = [];

/** Hooks the views set: onSaved(segment), onConflict({seg, mine, theirs}, resolve), onError(err). */
export const hooks = { onSaved: () => {}, onConflict: () => {}, onError: () => {} };

function load() {
  try { return JSON.parse(localStorage.getItem(KEY) || '[]'); } catch { return []; }
}
function persist() {
  localStorage.setItem(KEY, JSON.stringify(entries));
}

/** Records the version the screen shows for a segment (from a listing or a save). */
export function setVersion(seg, version) {
  const known = versions.get(seg);
  if (known === undefined || version > known) versions.set(seg, version);
}
export function versionOf(seg) { return versions.get(seg); }

/** Fields queued but not yet acknowledged for a segment (shown over the server's copy). */
export function pending(seg) {
  const out = {};
  for (const e of entries) if (e.seg === seg) Object.assign(out, e.fields);
  return out;
}
export function hasPending(seg) { return entries.some((e) => e.seg === seg); }
export function count() { return entries.length; }

/** Queues a change of `fields` on segment `seg` and schedules a save within about a second. */
export function queue(seg, fields) {
  const last = [...entries].reverse().find((e) => e.seg === seg);
  if (last && !last.attempted) Object.assign(last.fields, fields);
  else entries.push({ save_id: newId(), seg, fields: { ...fields }, version: versions.get(seg), attempted: false });
  persist();
  schedule();
  status();
}

function schedule(delay = DEBOUNCE_MS) {
  if (!firstPending) firstPending = performance.now();
  const wait = Math.max(0, Math.min(delay, MAX_WAIT_MS - (performance.now() - firstPending)));
  clearTimeout(timer);
  timer = setTimeout(flush, wait);
}

/** Sends every queued entry now, in order. Resolves when the outbox is empty or stuck. */
export async function flush() {
  clearTimeout(timer);
  if (flushing) return;
  flushing = true;
  firstPending = 0;
  status();
  try {
    while (entries.length && !conflictOpen) {
      const e = entries[0];
      if (e.version === undefined) e.version = versions.get(e.seg);
      e.attempted = true;
      persist();
      try {
        const saved = await api.saveSegment(e.seg, { version: e.version, save_id: e.save_id, ...e.fields });
        offline = false;
        entries.shift();
        versions.set(e.seg, saved.version);
        // Later edits of this segment were made on top of this one.
        for (const later of entries) if (later.seg === e.seg) later.version = saved.version;
        persist();
        hooks.onSaved(saved);
      } catch (err) {
        if (err.status === 409 && err.current) {
          const mine = {};
          for (const x of entries) if (x.seg === e.seg) Object.assign(mine, x.fields);
          entries = entries.filter((x) => x.seg !== e.seg);
          persist();
          versions.set(e.seg, err.current.version);
          conflictOpen++;
          hooks.onConflict({ seg: e.seg, mine, theirs: err.current }, (keepMine) => {
            conflictOpen--;
            if (keepMine) queue(e.seg, mine);
            else flush();
          });
        } else if (err.status === 0 || err.status >= 500 || err.status === 429) {
          offline = true;
          status();
          setTimeout(flush, RETRY_MS);
          return;
        } else {
          entries.shift();
          persist();
          hooks.onError(err);
        }
      }
      status();
    }
  } finally {
    flushing = false;
    status();
    if (!entries.length) while (idleWaiters.length) idleWaiters.shift()();
  }
}

/** Resolves once everything queued has been acknowledged. */
export function idle() {
  if (!entries.length) return Promise.resolve();
  flush();
  return new Promise((r) => idleWaiters.push(r));
}

/** The header indicator: saved, saving, offline or conflict. */
export function status() {
  const el = document.getElementById('save-status');
  if (!el) return;
  let state = 'saved';
  let label = 'saved';
  if (conflictOpen) { state = 'conflict'; label = 'conflict — choose a version'; }
  else if (offline || !navigator.onLine) { state = 'offline'; label = `offline — ${entries.length} change(s) kept here`; }
  else if (entries.length || flushing) { state = 'saving'; label = 'saving…'; }
  el.dataset.state = state;
  el.className = 'status ' + state;
  el.textContent = label;
}

window.addEventListener('online', () => { offline = false; flush(); });
window.addEventListener('offline', () => { offline = true; status(); });
window.addEventListener('beforeunload', (e) => {
  if (entries.length && navigator.onLine) flush();
});

