// Keyboard shortcuts: the default map, per-user remapping stored on the server
// (/api/me/settings), matching that ignores IME composition, and the help overlay.
// A combo is written like "Alt+Shift+ArrowLeft"; keys are physical (event.code), so a
// shortcut does not move with the keyboard layout or the input method.

import * as api from './api.js';
import { h, clear } from './dom.js';

/** Every action, its default key and what it does (the README table lists the same). */
export const ACTIONS = [
  ['playPause', 'Tab', 'Play / pause'],
  ['replay', 'Shift+Tab', 'Replay the current segment from its start'],
  ['loop', 'Alt+L', 'Loop the current segment on / off'],
  ['slower', 'Alt+Comma', 'Slower (down to 0.5×, pitch preserved)'],
  ['faster', 'Alt+Period', 'Faster (up to 2×, pitch preserved)'],
  ['saveNext', 'Enter', 'Save and go to the next segment (plays it); Shift+Enter types a new line'],
  ['prev', 'Alt+ArrowUp', 'Previous segment'],
  ['next', 'Alt+ArrowDown', 'Next segment'],
  ['startEarlier', 'Alt+1', 'Move the start 10 ms earlier'],
  ['startLater', 'Alt+2', 'Move the start 10 ms later'],
  ['endEarlier', 'Alt+3', 'Move the end 10 ms earlier'],
  ['endLater', 'Alt+4', 'Move the end 10 ms later'],
  ['split', 'Alt+S', 'Split at the playhead (text divides at the caret)'],
  ['merge', 'Alt+M', 'Merge with the next segment'],
  ['insert', 'Alt+I', 'Insert a segment at the playhead'],
  ['delete', 'Alt+Delete', 'Delete the current segment'],
  ['undo', 'Ctrl+Z', 'Undo the last edit (text, marker, boundary, split, merge, insert, delete)'],
  ['redo', 'Ctrl+Shift+Z', 'Redo what was undone'],
  ['speaker', 'Alt+K', 'Next speaker for the current segment'],
  ['markLaughter', 'Alt+Shift+L', 'Insert [laughter]'],
  ['markNoise', 'Alt+Shift+N', 'Insert [noise]'],
  ['markUnk', 'Alt+Shift+U', 'Insert [unk] (unintelligible)'],
  ['markMusic', 'Alt+Shift+M', 'Insert [music]'],
  ['markCough', 'Alt+Shift+C', 'Insert [cough]'],
  ['markOverlap', 'Alt+Shift+O', 'Insert [overlap]'],
  ['markFiller', 'Alt+Shift+F', 'Insert [filler:呃]'],
  ['zoomIn', 'Alt+Equal', 'Zoom in (2×)'],
  ['zoomOut', 'Alt+Minus', 'Zoom out (2×)'],
  ['zoomSegment', 'Alt+0', 'Zoom to the current segment'],
  ['pitch', 'Alt+P', 'Pitch contour on / off'],
  ['submit', 'Ctrl+Enter', 'Submit the segment for review (transcribers)'],
  ['claim', 'Alt+J', 'Claim the next open segment (transcribers)'],
  ['approve', 'Alt+A', 'Approve (review queue)'],
  ['reject', 'Alt+R', 'Reject with the comment (review queue)'],
  ['tagFeature', 'Alt+F', 'Tag a feature on the selected characters (opens the feature picker)'],
  ['help', 'F1', 'Show this list ("?" works too outside text boxes)'],
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
    h('thead', {}, h('tr', {}, h('th', {}, 'Action'), h('th', {}, 'Key'), h('th', {}, ''))));
  const body = h('tbody');
  table.appendChild(body);
  const render = () => {
    clear(body);
    for (const [action, , label] of ACTIONS) {
      const kbd = h('kbd', { 'data-action': action }, comboFor(action));
      const change = h('button', { type: 'button', class: 'small' }, 'change');
      change.addEventListener('click', () => {
        kbd.textContent = 'press a key…';
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
  const reset = h('button', { type: 'button', onclick: () => { custom = {}; putSetting('shortcuts', {}); render(); } }, 'Reset to defaults');
  const close = h('button', { type: 'button', onclick: closeHelp }, 'Close (Esc)');
  overlay = h('div', { class: 'overlay', id: 'help', role: 'dialog', 'aria-label': 'Keyboard shortcuts' },
    h('div', { class: 'panel' }, h('h2', {}, 'Keyboard shortcuts'),
      h('p', {}, 'Shortcuts are ignored while an input method is composing. Changes are saved to your account.'),
      table, h('div', { class: 'buttons' }, reset, close)));
  root.appendChild(overlay);
  close.focus();
}

export function closeHelp() {
  if (overlay) { overlay.remove(); overlay = null; }
}

export function helpOpen() { return !!overlay; }
