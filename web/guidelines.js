// A project's transcription guidelines (issue 17, point 4): shown on the project page and
// beside the editor, acknowledged per version, edited by the project's admins with a preview.
// Markdown is drawn as text: headings, paragraphs and lists only, every piece through a text
// node, so HTML in the source shows as typed.

import * as api from './api.js';
import { h, clear, text } from './dom.js';
import { t, errorText, fmtDate } from './i18n.js';

/** The Markdown subset as DOM: `#` headings, `-`/`*`/`1.` lists, blank-line paragraphs. */
export function renderMarkdown(source) {
  const root = h('div', { class: 'guideline-text', dir: 'auto', 'data-user': '' });
  let list = null;
  let para = null;
  const flush = () => { list = null; para = null; };
  for (const raw of source.split(/\r?\n/)) {
    const line = raw.trimEnd();
    const heading = line.match(/^(#{1,3})\s+(.*)$/);
    const bullet = line.match(/^\s*(?:[-*+]|\d+[.)])\s+(.*)$/);
    if (!line.trim()) { flush(); continue; }
    if (heading) {
      flush();
      root.appendChild(text(`h${heading[1].length + 2}`, heading[2]));
    } else if (bullet) {
      para = null;
      if (!list) {
        list = h(/^\s*\d/.test(line) ? 'ol' : 'ul');
        root.appendChild(list);
      }
      list.appendChild(text('li', bullet[1]));
    } else if (para) {
      para.textContent += ' ' + line.trim();
    } else {
      list = null;
      para = text('p', line.trim());
      root.appendChild(para);
    }
  }
  return root;
}

/**
 * The guidelines panel for `project`; `compact` (beside the editor) starts folded unless
 * there is a version the user has not acknowledged.
 */
export function panel(project, { compact = false } = {}) {
  const box = h('section', { class: 'card guidelines', id: 'guidelines' });
  let g = null;

  function show() {
    clear(box);
    const head = h('div', { class: 'guideline-head' },
      h('h3', {}, t('guide.title')),
      g.version ? h('span', { class: 'muted', id: 'guideline-version' }, t('guide.version', { n: g.version, date: fmtDate(g.created_at), who: g.author_name || '' })) : null);
    box.appendChild(head);
    if (!g.version) {
      box.appendChild(h('p', { class: 'muted', id: 'guideline-none' }, t('guide.none')));
    } else {
      const body = renderMarkdown(g.body);
      if (compact && !g.needs_ack) {
        const details = h('details', {}, h('summary', {}, t('guide.show')), body);
        box.appendChild(details);
      } else {
        box.appendChild(body);
      }
    }
    if (g.needs_ack) {
      box.classList.add('needs-ack');
      box.appendChild(h('p', { class: 'buttons' },
        h('button', { type: 'button', id: 'guideline-ack', onclick: ack }, t('guide.ack', { n: g.version }))));
    } else {
      box.classList.remove('needs-ack');
      if (g.version) box.appendChild(h('p', { class: 'muted', id: 'guideline-acked' }, t('guide.acked', { n: g.acknowledged })));
    }
    if (g.can_edit) box.appendChild(h('p', {}, h('button', { type: 'button', id: 'guideline-edit', onclick: edit }, t('guide.edit'))));
  }

  async function ack() {
    try {
      g = await api.ackGuidelines(project, g.version);
    } catch (e) {
      box.appendChild(h('p', { class: 'error', role: 'alert' }, errorText(e)));
      if (e.code === 'guideline_outdated') await load();
      return;
    }
    show();
  }

  function edit() {
    clear(box);
    const area = h('textarea', { id: 'guideline-source', rows: 12, dir: 'auto', value: g.body });
    const preview = h('div', { class: 'guideline-preview', id: 'guideline-preview' });
    const error = h('p', { class: 'error', role: 'alert' });
    const draw = () => { clear(preview).appendChild(renderMarkdown(area.value)); };
    area.addEventListener('input', draw);
    draw();
    const save = async () => {
      error.textContent = '';
      try {
        g = await api.publishGuidelines(project, g.version, area.value);
      } catch (e) {
        error.textContent = errorText(e);
        return;
      }
      show();
    };
    box.append(h('h3', {}, t('guide.editing', { n: g.version + 1 })),
      h('p', { class: 'muted' }, t('guide.syntax')),
      h('div', { class: 'columns' },
        h('label', { class: 'block' }, t('guide.source'), area),
        h('div', {}, h('span', { class: 'muted' }, t('guide.preview')), preview)),
      error,
      h('p', { class: 'buttons' },
        h('button', { type: 'button', id: 'guideline-save', onclick: save }, t('guide.publish')),
        h('button', { type: 'button', id: 'guideline-cancel', onclick: show }, t('guide.cancel'))));
    area.focus();
  }

  async function load() {
    try {
      g = await api.guidelines(project);
    } catch (e) {
      clear(box).appendChild(h('p', { class: 'error' }, errorText(e)));
      return;
    }
    show();
  }
  load();
  return box;
}
