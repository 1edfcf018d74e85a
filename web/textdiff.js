// Character-level diff against the ASR hypothesis, and the character error rate (CER) of the
// hypothesis measured against the transcriber's text. Characters are code points; spaces are
// ignored for CER (Chinese text is unsegmented; DIALECT.md §3.3), kept in the diff.

import { h, clear } from './dom.js';
import { t } from './i18n.js';

const MAX = 3000; // beyond this many characters per side the O(n·m) table is skipped

/** Edit operations turning `a` into `b`: [{op:'=',t}|{op:'-',t}|{op:'+',t}]. */
export function diff(a, b) {
  const x = Array.from(a);
  const y = Array.from(b);
  const n = x.length;
  const m = y.length;
  if (n > MAX || m > MAX) return null;
  const w = m + 1;
  const d = new Uint32Array((n + 1) * w);
  for (let i = 0; i <= n; i++) d[i * w] = i;
  for (let j = 0; j <= m; j++) d[j] = j;
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= m; j++) {
      const sub = d[(i - 1) * w + j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1);
      d[i * w + j] = Math.min(sub, d[(i - 1) * w + j] + 1, d[i * w + j - 1] + 1);
    }
  }
  const ops = [];
  let i = n;
  let j = m;
  while (i > 0 || j > 0) {
    if (i > 0 && j > 0 && d[i * w + j] === d[(i - 1) * w + j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1)) {
      if (x[i - 1] === y[j - 1]) ops.push({ op: '=', t: x[i - 1] });
      else { ops.push({ op: '+', t: y[j - 1] }); ops.push({ op: '-', t: x[i - 1] }); }
      i--; j--;
    } else if (i > 0 && d[i * w + j] === d[(i - 1) * w + j] + 1) {
      ops.push({ op: '-', t: x[i - 1] }); i--;
    } else {
      ops.push({ op: '+', t: y[j - 1] }); j--;
    }
  }
  ops.reverse();
  // Coalesce runs for rendering.
  const out = [];
  for (const o of ops) {
    const last = out[out.length - 1];
    if (last && last.op === o.op) last.t += o.t;
    else out.push({ ...o });
  }
  return out;
}

/** CER of `hyp` against reference `ref`: edits / reference characters (spaces ignored). */
export function cer(ref, hyp) {
  const r = ref.replace(/\s+/g, '');
  const hy = hyp.replace(/\s+/g, '');
  const ops = diff(hy, r);
  if (!ops) return null;
  let edits = 0;
  let subs = 0;
  // A '-' directly followed by '+' is one substitution per character pair.
  for (let k = 0; k < ops.length; k++) {
    const o = ops[k];
    if (o.op === '=') continue;
    const len = Array.from(o.t).length;
    if (o.op === '-' && ops[k + 1] && ops[k + 1].op === '+') {
      const len2 = Array.from(ops[k + 1].t).length;
      edits += Math.max(len, len2);
      subs += Math.min(len, len2);
      k++;
    } else edits += len;
  }
  const n = Array.from(r).length;
  if (n === 0) return Array.from(hy).length ? 1 : 0;
  return edits / n;
}

/** Renders the diff of `asr` → `text` into `el` (text nodes only) and returns the CER. */
export function renderDiff(el, asr, text) {
  clear(el);
  if (!asr) { el.appendChild(h('span', { class: 'muted' }, t('diff.noAsr'))); return null; }
  const ops = diff(asr, text);
  if (!ops) { el.appendChild(h('span', { class: 'muted' }, t('diff.tooLong'))); return null; }
  for (const o of ops) {
    const cls = o.op === '=' ? 'same' : o.op === '+' ? 'ins' : 'del';
    el.appendChild(h(o.op === '+' ? 'ins' : o.op === '-' ? 'del' : 'span', { class: cls, 'data-user': '' }, o.t));
  }
  return cer(text, asr);
}
