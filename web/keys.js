// Keyboard shortcuts: the default map, per-user remapping stored on the server
// (/api/me/settings), matching that ignores IME composition, and the help overlay.
// A combo is written like "Alt+Shift+ArrowLeft"; keys are physical (event.code), so a
// shortcut does not move with the keyboard layout or the input method.

import * as api from './api.js';
import { h, clear } from './dom.js';
import { t } from './i18n.js';

/** Every action and its default key; what it does is the catalogue's `key.<action>` (the README table lists the same). */
export const ACTIONS = [
  ['playPause', 'Tab'],
  ['replay', 'Shift+Tab'],
  ['loop', 'Alt+L'],
  ['slower', 'Alt+Comma'],
  ['faster', 'Alt+Period'],
  ['saveNext', 'Enter'],
  ['prev', 'Alt+ArrowUp'],
  ['next', 'Alt+ArrowDown'],
  ['startEarlier', 'Alt+1'],
  ['startLater', 'Alt+2'],
  ['endEarlier', 'Alt+3'],
  ['endLater', 'Alt+4'],
  ['split', 'Alt+S'],
  ['merge', 'Alt+M'],
  ['insert', 'Alt+I'],
  ['delete', 'Alt+Delete'],
  ['undo', 'Ctrl+Z'],
  ['redo', 'Ctrl+Shift+Z'],
  ['speaker', 'Alt+K'],
  ['markLaughter', 'Alt+Shift+L'],
  ['markNoise', 'Alt+Shift+N'],
  ['markUnk', 'Alt+Shift+U'],
  ['markMusic', 'Alt+Shift+M'],
  ['markCough', 'Alt+Shift+C'],
  ['markOverlap', 'Alt+Shift+O'],
  ['markFiller', 'Alt+Shift+F'],
  ['zoomIn', 'Alt+Equal'],
  ['zoomOut', 'Alt+Minus'],
  ['zoomSegment', 'Alt+0'],
  ['pitch', 'Alt+P'],
  ['gainUp', 'Alt+Shift+Equal'],
  ['gainDown', 'Alt+Shift+Minus'],
  ['autoGain', 'Alt+G'],
  ['specSettings', 'Alt+V'],
  ['submit', 'Ctrl+Enter'],
  ['claim', 'Alt+J'],
  ['approve', 'Alt+A'],
  ['reject', 'Alt+R'],
  ['tagFeature', 'Alt+F'],
  ['help', 'F1'],
];

/** Markers inserted by the mark* actions (DIALECT.md §3: one internal bracket set). */
export const MARKERS = {
  markLaughter: '[laughter]', markNoise: '[noise]', markUnk: '[unk]', markMusic: '[music]',
  markCough: '[cough]', markOverlap: '[overlap]', markFiller: '[filler:呃]',
};

let custom = {};
let allSettings = {};

/** Loads the user's settings (shortcut remapping and the rest) from the server. */
export async function loadSettings() {
  try {
    allSettings = (await api.settings()) || {};
  } catch {
    allSettings = {};
  }
  custom = allSettings.shortcuts || {};
  return allSettings;
}

export function getSetting(key, fallback) {
  return key in allSettings ? allSettings[key] : fallback;
}

export async function putSetting(key, value) {
  allSettings = { ...allSettings, [key]: value };
  try { await api.saveSettings(allSettings); } catch { /* settings are best effort */ }
}

/** The combo bound to an action now. */
export function comboFor(action) {
  if (custom[action]) return custom[action];
  const a = ACTIONS.find((x) => x[0] === action);
  return a ? a[1] : '';
}

function keyName(code) {
  if (code.startsWith('Key')) return code.slice(3);
  if (code.startsWith('Digit')) return code.slice(5);
  return code;
}

/** The combo string of a key event. */
export function comboOf(e) {
  const parts = [];
  if (e.ctrlKey) parts.push('Ctrl');
  if (e.altKey) parts.push('Alt');
  if (e.shiftKey) parts.push('Shift');
  if (e.metaKey) parts.push('Meta');
  const k = keyName(e.code || e.key);
  if (['ControlLeft', 'ControlRight', 'AltLeft', 'AltRight', 'ShiftLeft', 'ShiftRight', 'MetaLeft', 'MetaRight'].includes(k)) return null;
  parts.push(k === 'NumpadEnter' ? 'Enter' : k);
  return parts.join('+');
}

/** True while an input method is composing: such keys belong to the IME, never to us. */
export function composing(e) {
  return e.isComposing || e.keyCode === 229;
}

/** The action a key event triggers, or null. */
export function actionOf(e) {
  if (composing(e)) return null;
  const combo = comboOf(e);
  if (!combo) return null;
  for (const [action] of ACTIONS) if (comboFor(action) === combo) return action;
  return null;
}

let overlay = null;

/** Opens (or closes) the help overlay listing every shortcut, with remapping. */
export function toggleHelp() {
  if (overlay) { closeHelp(); return; }
  const root = document.getElementById('overlay-root');
  const table = h('table', { class: 'shortcuts' },
    h('thead', {}, h('tr', {}, h('th', {}, t('help.action')), h('th', {}, t('help.key')), h('th', {}, ''))));
  const body = h('tbody');
  table.appendChild(body);
  const render = () => {
    clear(body);
    for (const [action] of ACTIONS) {
      const label = t(`key.${action}`);
      const kbd = h('kbd', { 'data-action': action }, comboFor(action));
      const change = h('button', { type: 'button', class: 'small' }, t('help.change'));
      change.addEventListener('click', () => {
        kbd.textContent = t('help.pressKey');
        const grab = (e) => {
          if (composing(e)) return;
          const combo = comboOf(e);
          if (!combo) return;
          e.preventDefault();
          e.stopPropagation();
          window.removeEventListener('keydown', grab, true);
          if (combo !== 'Escape') {
            custom = { ...custom, [action]: combo };
            putSetting('shortcuts', custom);
          }
          render();
        };
        window.addEventListener('keydown', grab, true);
      });
      body.appendChild(h('tr', {}, h('td', {}, label), h('td', {}, kbd), h('td', {}, change)));
    }
  };
  render();
  const reset = h('button', { type: 'button', onclick: () => { custom = {}; putSetting('shortcuts', {}); render(); } }, t('help.reset'));
  const close = h('button', { type: 'button', onclick: closeHelp }, t('help.close'));
  overlay = h('div', { class: 'overlay', id: 'help', role: 'dialog', 'aria-label': t('help.title') },
    h('div', { class: 'panel' }, h('h2', {}, t('help.title')),
      h('p', {}, t('help.intro')),
      table, h('div', { class: 'buttons' }, reset, close)));
  root.appendChild(overlay);
  close.focus();
}

export function closeHelp() {
  if (overlay) { overlay.remove(); overlay = null; }
}

export function helpOpen() { return !!overlay; }
