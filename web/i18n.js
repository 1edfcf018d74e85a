// The interface language: message catalogues (web/i18n/en.js, web/i18n/zh-CN.js, the same
// keys), `t(key, params)` with simple `{name}` interpolation (no plural forms: sentences are
// worded so they need none), the choice of locale, and numbers, dates and durations through
// Intl in that locale. Server errors are shown by their stable `error.code` (`error.<code>`
// keys); the server's English sentence is the fallback for a code the catalogue lacks.
//
// The locale is, in order: the one this user chose (localStorage `fangyan.locale.<user id>`),
// the one chosen in this browser before login (`fangyan.locale`), the browser's languages
// (zh* → zh-CN, else en). A key missing from the catalogue comes out as `⟦key⟧`, which the
// catalogue test (tests/browser/i18n.mjs) looks for on every view.

import en from './i18n/en.js';
import zhCN from './i18n/zh-CN.js';

/** The catalogues by locale. */
export const CATALOGUES = { en, 'zh-CN': zhCN };
/** The locales offered in the header, with their own names. */
export const LOCALES = [['zh-CN', '中文'], ['en', 'English']];

const BROWSER_KEY = 'fangyan.locale';
let current = detect();
let userId = null;

/** The locale the browser asks for: zh* → zh-CN, anything else → en. */
export function detect() {
  const langs = (navigator.languages && navigator.languages.length) ? navigator.languages : [navigator.language || 'en'];
  for (const l of langs) {
    const low = String(l).toLowerCase();
    if (low.startsWith('zh')) return 'zh-CN';
    if (low.startsWith('en')) return 'en';
  }
  return 'en';
}

function stored(key) {
  try { return localStorage.getItem(key); } catch { return null; }
}

/** Picks the locale for `user` (null before login) and applies it; returns it. */
export function initFor(user) {
  userId = user ? user.id : null;
  const chosen = (userId !== null && stored(`${BROWSER_KEY}.${userId}`)) || stored(BROWSER_KEY) || detect();
  apply(CATALOGUES[chosen] ? chosen : 'en');
  return current;
}

function apply(l) {
  current = l;
  document.documentElement.lang = l === 'zh-CN' ? 'zh-CN' : 'en';
}

/** The current locale ('en' or 'zh-CN'). */
export function locale() { return current; }

/** Switches the locale, remembers it (for this user and this browser) and tells the views. */
export function setLocale(l) {
  if (!CATALOGUES[l]) return;
  try {
    localStorage.setItem(BROWSER_KEY, l);
    if (userId !== null) localStorage.setItem(`${BROWSER_KEY}.${userId}`, l);
  } catch { /* storage refused: the choice lasts for this page */ }
  if (l === current) return;
  apply(l);
  window.dispatchEvent(new CustomEvent('fangyan:locale', { detail: l }));
}

/** The message `key` with `{name}` replaced from `params`; `⟦key⟧` when the key is missing. */
export function t(key, params) {
  const s = CATALOGUES[current][key];
  if (s === undefined) return `⟦${key}⟧`;
  if (!params) return s;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}

/** True when the catalogue has `key`. */
export function has(key) { return CATALOGUES[current][key] !== undefined; }

/** A server or client error in the user's language: by `error.code`, else its message. */
export function errorText(e) {
  if (!e) return '';
  const code = e.code;
  if (code && has(`error.${code}`)) return t(`error.${code}`);
  if (code && /^http_\d+$/.test(code)) return t('error.http', { status: code.slice(5) });
  return e.message || String(e);
}

/** A number in the locale's format. */
export function fmtNumber(x, opts = {}) {
  if (x === null || x === undefined || Number.isNaN(Number(x))) return '—';
  return new Intl.NumberFormat(current, opts).format(Number(x));
}

/** A fraction as a percentage with `digits` decimals ("12.5%"). */
export function fmtPercent(x, digits = 1) {
  if (x === null || x === undefined) return '—';
  return fmtNumber(x, { style: 'percent', minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A date and time (milliseconds, ISO string or Date) in the locale's format. */
export function fmtDate(when, opts = { dateStyle: 'medium', timeStyle: 'short' }) {
  const d = when instanceof Date ? when : new Date(when);
  if (Number.isNaN(d.getTime())) return '';
  return new Intl.DateTimeFormat(current, opts).format(d);
}

/** A duration: "3 min 20 s" / "3分20秒" under an hour, else hours with two decimals. */
export function fmtDuration(secs) {
  if (secs === null || secs === undefined || !Number.isFinite(Number(secs))) return '—';
  secs = Math.max(0, Number(secs));
  if (secs >= 3600) return t('duration.hours', { h: fmtNumber(secs / 3600, { minimumFractionDigits: 2, maximumFractionDigits: 2 }) });
  const whole = Math.round(secs);
  const m = Math.floor(whole / 60);
  const s = whole % 60;
  if (!m) return t('duration.seconds', { s });
  return t('duration.minutes', { m, s });
}
