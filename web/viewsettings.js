// The spectrogram settings popover of the recording view (issue 18): Praat's controls (window,
// frequency axis, maximum frequency, dynamic range, pre-emphasis, grey or colour), the pitch
// range and unit, intensity and formants with their maximum formant. Each change is applied
// at once through `onChange(settings)`; the popover is a non-modal dialog under its button:
// Escape or the button closes it and gives the focus back, Tab walks its fields.

import { h } from './dom.js';
import { t } from './i18n.js';
import { DEFAULTS, LIMITS, normalise } from './phonetics.js';

/** The button and its popover; `get()` reads the current settings, `onChange(next)` applies new ones. */
export function settingsButton({ get, onChange }) {
  const button = h('button', { type: 'button', id: 'spec-settings', 'aria-haspopup': 'dialog', 'aria-expanded': 'false' }, t('spec.settings'));
  let panel = null;

  const close = ({ focus = true } = {}) => {
    if (!panel) return;
    panel.remove();
    panel = null;
    button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', outside, true);
    if (focus) button.focus();
  };
  const outside = (e) => {
    if (panel && !panel.contains(e.target) && e.target !== button) close({ focus: false });
  };
  const open = () => {
    panel = build(get(), (patch) => onChange(normalise({ ...get(), ...patch })), () => close());
    button.after(panel);
    // Under its button, inside the toolbar's width.
    const room = button.offsetParent ? button.offsetParent.clientWidth - panel.offsetWidth : 0;
    panel.style.left = `${Math.max(0, Math.min(button.offsetLeft, room))}px`;
    button.setAttribute('aria-expanded', 'true');
    document.addEventListener('pointerdown', outside, true);
    panel.querySelector('select, input').focus();
  };
  button.addEventListener('click', () => (panel ? close() : open()));
  return { el: button, toggle: () => (panel ? close() : open()), close: () => close({ focus: false }), isOpen: () => !!panel };
}

function build(s, apply, close) {
  const select = (id, value, options, onPick) => {
    const el = h('select', { id }, ...options.map(([v, label]) => h('option', { value: String(v) }, label)));
    el.value = String(value);
    el.addEventListener('change', () => onPick(el.value));
    return el;
  };
  // Numbers apply on change (Enter or leaving the field); what is out of range is clamped and shown.
  const number = (id, field, step) => {
    const [min, max] = LIMITS[field];
    const el = h('input', { type: 'number', id, min, max, step, value: s[field], inputmode: 'numeric' });
    el.addEventListener('change', () => {
      const v = Number(el.value);
      if (el.value === '' || !Number.isFinite(v)) { el.value = s[field]; return; }
      const next = normalise({ ...s, [field]: v });
      s = next;
      el.value = next[field];
      apply({ [field]: next[field] });
    });
    return el;
  };
  const check = (id, field) => {
    const el = h('input', { type: 'checkbox', id, checked: s[field] });
    el.addEventListener('change', () => { s = { ...s, [field]: el.checked }; apply({ [field]: el.checked }); });
    return el;
  };
  const row = (label, control) => h('label', { class: 'setting' }, h('span', {}, label), control);
  const pick = (field, conv = (v) => v) => (v) => { s = { ...s, [field]: conv(v) }; apply({ [field]: conv(v) }); };

  const panel = h('div', { class: 'popover', id: 'spec-popover', role: 'dialog', 'aria-label': t('spec.title') },
    h('fieldset', {}, h('legend', {}, t('spec.title')),
      row(t('spec.window'), select('spec-window', s.wideband ? 'wide' : 'narrow',
        [['narrow', t('spec.narrowband')], ['wide', t('spec.wideband')]], pick('wideband', (v) => v === 'wide'))),
      row(t('spec.axis'), select('spec-axis', s.mel ? 'mel' : 'linear',
        [['linear', t('spec.linear')], ['mel', t('spec.mel')]], pick('mel', (v) => v === 'mel'))),
      row(t('spec.maxFreq'), number('spec-max-freq', 'maxFreq', 100)),
      row(t('spec.range'), number('spec-range', 'rangeDb', 5)),
      row(t('spec.preEmphasis'), number('spec-pre-emphasis', 'preEmphasis', 10)),
      row(t('spec.colours'), select('spec-colours', s.gray ? 'gray' : 'colour',
        [['colour', t('spec.colour')], ['gray', t('spec.gray')]], pick('gray', (v) => v === 'gray')))),
    h('fieldset', {}, h('legend', {}, t('spec.pitchTitle')),
      row(t('spec.pitchFloor'), number('pitch-floor', 'pitchFloor', 5)),
      row(t('spec.pitchCeiling'), number('pitch-ceiling', 'pitchCeiling', 10)),
      row(t('spec.pitchUnit'), select('pitch-unit', s.pitchUnit,
        [['hz', t('spec.hertz')], ['st', t('spec.semitones')]], pick('pitchUnit'))),
      row(t('spec.intensity'), check('intensity-toggle', 'intensity'))),
    h('fieldset', {}, h('legend', {}, t('spec.formantsTitle')),
      row(t('spec.formants'), check('formants-toggle', 'formants')),
      row(t('spec.maxFormant'), select('max-formant', [5000, 5500].includes(s.maxFormant) ? s.maxFormant : 5500,
        [[5500, t('spec.female')], [5000, t('spec.male')]], pick('maxFormant', Number)))),
    h('div', { class: 'buttons' },
      h('button', { type: 'button', id: 'spec-reset', onclick: () => { apply({ ...DEFAULTS }); close(); } }, t('spec.reset')),
      h('button', { type: 'button', id: 'spec-close', onclick: close }, t('help.close'))));
  // Keys typed here are the popover's: Tab walks its fields, digits go into them, and none of
  // them reaches the workbench's shortcuts (Tab would otherwise play).
  panel.addEventListener('keydown', (e) => {
    e.stopPropagation();
    if (e.isComposing) return;
    if (e.key === 'Escape') { e.preventDefault(); close(); }
    if (e.key === 'Enter' && e.target.matches('input[type=number]')) {
      e.preventDefault();
      e.target.dispatchEvent(new Event('change'));
    }
  });
  return panel;
}
