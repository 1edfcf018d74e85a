// DOM helpers. User text only ever goes in through textContent (strings passed as children
// become text nodes); markup is never parsed from strings anywhere in the app.

/** Creates an element: h('div', {class: 'x', onclick: f}, 'text', child, …). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** A text element for user-supplied text: textContent and dir="auto" for mixed scripts. */
export function text(tag, value, attrs = {}) {
  const el = h(tag, { dir: 'auto', ...attrs });
  el.textContent = value ?? '';
  return el;
}

/** Removes every child. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** 1:02:03.456 or 2:03.456. */
export function fmtTime(secs, digits = 3) {
  if (!Number.isFinite(secs)) secs = 0;
  const sign = secs < 0 ? '-' : '';
  secs = Math.abs(secs);
  const hh = Math.floor(secs / 3600);
  const mm = Math.floor((secs % 3600) / 60);
  const ss = (secs % 60).toFixed(digits).padStart(digits ? 3 + digits : 2, '0');
  return sign + (hh ? `${hh}:${String(mm).padStart(2, '0')}` : `${mm}`) + ':' + ss;
}

/** A random id for idempotent saves. */
export function newId() {
  return crypto.randomUUID();
}

/**
 * A file input behind a button of our own: the browser's "Choose Files / No file chosen" is
 * in the browser's language, not the page's. The names chosen are shown beside it.
 */
export function filePicker(input, label) {
  const names = h('span', { class: 'muted file-names', 'data-user': '' });
  input.classList.add('file-hidden');
  input.addEventListener('change', () => { names.textContent = [...input.files].map((f) => f.name).join(', '); });
  return h('span', { class: 'file-pick' }, h('label', { class: 'button', for: input.id }, label), input, names);
}
