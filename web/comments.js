// The review loop around one segment (issue 17): its last review shown prominently when it was
// a rejection, its comment thread with a reply box, the reopen of an approved segment, and the
// unread badges (per segment and per project). Used by the recording view's editor and by the
// review queue; each view owns where the pieces go, this module owns what they say and fetch.
//
// Decisions worth knowing:
// - **One thread element per segment**, kept across editor rebuilds (a save re-renders the
//   editor): a reply half typed survives, and the thread is fetched once, not on every save.
//   `reset()` forgets them when the view goes.
// - **The reply box keeps its keys to itself**: the views' shortcuts (Tab plays, Ctrl+Enter
//   submits the segment) would act while a reply is typed; here Ctrl+Enter sends the reply.

import * as api from './api.js';
import { h, text, clear } from './dom.js';
import { t, errorText, fmtDate, fmtNumber } from './i18n.js';

const threads = new Map();

/** Forgets the kept thread elements (when a view is left). */
export function reset() { threads.clear(); }

/** The segment's last review: a prominent box when rejected, a quiet line when approved. */
export function lastReview(seg) {
  const r = seg.last_review;
  const rejected = r && r.verdict === 'rejected';
  // An approval says nothing once the segment was reopened; a rejection stays until approved.
  if (!r || (rejected ? seg.status === 'approved' : seg.status !== 'approved')) return null;
  return h('div', { class: `last-review ${rejected ? 'rejected' : 'approved'}`, 'data-verdict': r.verdict, role: rejected ? 'note' : null },
    h('strong', { class: 'verdict' }, t(`comments.verdict.${r.verdict}`)), ' ',
    h('span', { class: 'muted' }, t('comments.by'), ' '), text('span', r.reviewer_name, { class: 'reviewer', 'data-user': '' }),
    h('span', { class: 'muted' }, ` · ${fmtDate(r.created_at)}`),
    r.comment ? text('p', r.comment, { class: 'review-comment', 'data-user': '' }) : null);
}

/** One comment of a thread. */
function item(c) {
  return h('li', { class: 'comment', 'data-id': c.id },
    text('span', c.author_name, { class: 'author', 'data-user': '' }),
    h('span', { class: 'muted when' }, fmtDate(c.created_at)),
    text('div', c.body, { class: 'body', 'data-user': '' }));
}

/**
 * The thread of `seg` with a reply box, and a reopen button while the segment is approved and
 * `canReopen`. `onRead()` runs once the thread was read (its unread comments are then read);
 * `onChanged(segment)` after a reopen, with the server's segment.
 */
export function thread(seg, { canReopen = false, onRead = () => {}, onChanged = () => {} } = {}) {
  // A blind second annotator may not read the first pass's thread (the server says 403).
  if (seg.blind) return h('section', { class: 'thread', hidden: true });
  const kept = threads.get(seg.id);
  if (kept) { kept.update(seg); return kept.el; }
  const list = h('ol', { class: 'comments', 'aria-live': 'polite' });
  const reply = h('textarea', { class: 'comment-reply', rows: 2, dir: 'auto', placeholder: t('comments.placeholder'), 'aria-label': t('comments.reply') });
  const state = h('span', { class: 'muted comment-state', role: 'status' });
  const send = h('button', { type: 'button', class: 'send-comment' }, t('comments.send'));
  const reopen = h('button', { type: 'button', class: 'reopen', hidden: true }, t('comments.reopen'));
  const count = h('span', { class: 'muted count' });
  const el = h('section', { class: 'thread', 'data-segment': seg.id },
    h('h3', {}, t('comments.title'), ' ', count), list,
    h('div', { class: 'reply-row' }, reply, h('div', { class: 'buttons' }, send, reopen, state)));
  let comments = [];
  const show = () => {
    clear(list);
    for (const c of comments) list.appendChild(item(c));
    if (!comments.length) list.appendChild(h('li', { class: 'muted empty' }, t('comments.none')));
    count.textContent = comments.length ? `(${fmtNumber(comments.length)})` : '';
  };
  async function load() {
    try {
      comments = (await api.comments(seg.id)).comments;
      show();
      onRead();
    } catch (e) { state.textContent = errorText(e); }
  }
  async function post() {
    const body = reply.value;
    if (!body.trim()) { state.textContent = t('comments.empty'); reply.focus(); return; }
    send.disabled = true;
    state.textContent = '';
    try {
      comments.push(await api.addComment(seg.id, body));
      reply.value = '';
      show();
      state.textContent = t('comments.sent');
    } catch (e) { state.textContent = errorText(e); }
    send.disabled = false;
  }
  send.addEventListener('click', post);
  reply.addEventListener('keydown', (e) => {
    if (e.key === 'F1' || e.key === 'Escape') return;
    e.stopPropagation();
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !e.isComposing) { e.preventDefault(); post(); }
  });
  reopen.addEventListener('click', async () => {
    reopen.disabled = true;
    state.textContent = '';
    try {
      const s = await api.reopen(seg.id);
      state.textContent = t('comments.reopened');
      update(s);
      onChanged(s);
    } catch (e) { state.textContent = errorText(e); }
    reopen.disabled = false;
  });
  function update(s) { seg = s; reopen.hidden = !(canReopen && s.status === 'approved'); }
  update(seg);
  threads.set(seg.id, { el, update });
  load();
  return el;
}

/** A badge with a count of unread comments (null for none). */
export function badge(n) {
  if (!n) return null;
  return h('span', { class: 'badge unread', 'data-unread': n, title: t('comments.unreadTitle', { n: fmtNumber(n) }) }, fmtNumber(n));
}

/** The caller's unread comments in `project`: { total, bySegment: Map(segment id → count), segments }. */
export async function unread(project) {
  const u = await api.unreadComments(project);
  return { total: u.total, segments: u.segments, bySegment: new Map(u.segments.map((s) => [s.segment_id, s.unread])) };
}

/** The project page's "unread comments" card: a badge and a link to each thread. */
export async function unreadCard(project) {
  const u = await unread(project);
  const links = h('ul', { class: 'list unread-threads' },
    ...u.segments.map((s) => h('li', {},
      h('a', { href: `#/r/${s.recording_id}/s/${s.segment_id}`, class: 'thread-link' }, t('comments.segment', { id: s.segment_id })),
      badge(s.unread))));
  return h('section', { class: 'card', id: 'unread-comments', 'data-total': u.total },
    h('h3', {}, t('comments.unread'), ' ', badge(u.total)),
    u.total ? links : h('p', { class: 'muted' }, t('comments.noUnread')));
}
