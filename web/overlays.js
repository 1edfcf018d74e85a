// What the timeline draws over its spectrogram panel (issue 18): the pitch contour, the
// intensity curve and the formant dots from the range tiles the timeline fetched, the tick
// marks of the three axes, their labels as DOM text (so they stay crisp, are selectable and can
// be checked by tests), and the cursor readout under the canvas. The timeline owns the tiles
// and the geometry; these functions only draw what they are given.

import { h, clear, fmtTime } from './dom.js';
import { t } from './i18n.js';
import { freqScale, pitchScale, intensityScale } from './phonetics.js';

/** Colours for the two spectrogram palettes: Praat's on grey (white paper), brighter on viridis. */
const PALETTE = {
  gray: { pitch: '#1549c9', intensity: '#b88a00', formants: ['#e0211b', '#ef7d00', '#b0179a', '#2f8f2f'], tick: '#333' },
  colour: { pitch: '#7fffd4', intensity: '#ffffff', formants: ['#ff453a', '#ff9f0a', '#ff5ee0', '#d8d8d8'], tick: '#ddd' },
};
export const palette = (s, specShown) => (s.gray && specShown ? PALETTE.gray : PALETTE.colour);

/** Index of the first time >= t in a sorted array. */
export function lowerBound(times, t) {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < t) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** Calls f(i) for the indices of `times` inside [t0, t1], at most ~2 per pixel of `px`. */
function visible(times, t0, t1, px, f) {
  const i0 = Math.max(0, lowerBound(times, t0) - 1);
  const i1 = Math.min(times.length - 1, lowerBound(times, t1));
  const stride = Math.max(1, Math.floor((i1 - i0) / (px * 2)));
  for (let i = i0; i <= i1; i += stride) f(i);
}

/**
 * Pitch dots, the intensity line and formant dots from `tracks` (tiles with `times`, `f0`,
 * `db`) and `formants` (tiles with `times` and `f`: four arrays, NaN where unvoiced).
 */
export function drawTracks(ctx, tl, { top, height, tracks, formants, colours }) {
  const s = tl.settings;
  const t0 = tl.start / tl.rate;
  const t1 = (tl.start + tl.spp * tl.W) / tl.rate;
  const xOfT = (secs) => (secs * tl.rate - tl.start) / tl.spp;
  const yOf = (frac) => top + height - frac * height;
  ctx.save();
  ctx.beginPath();
  ctx.rect(0, top, tl.W, height);
  ctx.clip();
  if (formants.length) {
    const fs = freqScale(s, tl.rate);
    formants.forEach((tile) => {
      visible(tile.times, t0, t1, tl.W, (i) => {
        const x = xOfT(tile.times[i]);
        for (let k = 0; k < 4; k++) {
          const f = tile.f[k][i];
          if (!(f > 0) || f > fs.top) continue;
          ctx.fillStyle = colours.formants[k];
          ctx.fillRect(x - 1.5, yOf(fs.frac(f)) - 1.5, 3, 3);
        }
      });
    });
  }
  if (tl.showIntensity) {
    const is = intensityScale();
    ctx.strokeStyle = colours.intensity;
    ctx.lineWidth = 1.5;
    // One line across the tiles, in time order: a tile's first frame joins the last of the
    // tile before it (each tile's frames sit at its own column centres, so there is a gap of
    // one frame at every boundary). A gap of three frames or 6 px (a tile not loaded) breaks it.
    const ordered = [...tracks].sort((a, b) => a.times[0] - b.times[0]);
    ctx.beginPath();
    let last = null;
    for (const tile of ordered) {
      const n = tile.times.length;
      const step = n > 1 ? (tile.times[n - 1] - tile.times[0]) / (n - 1) : 0;
      const gap = Math.max(6, (3 * step * tl.rate) / tl.spp); // px
      visible(tile.times, t0, t1, tl.W, (i) => {
        const db = tile.db[i];
        const secs = tile.times[i];
        if (!Number.isFinite(db)) { last = null; return; }
        const x = xOfT(secs);
        const y = yOf(Math.min(1, Math.max(0, is.frac(db))));
        if (last === null || x - last > gap || x <= last) ctx.moveTo(x, y); else ctx.lineTo(x, y);
        last = x;
      });
    }
    ctx.stroke();
  }
  if (tl.showPitch) {
    const ps = pitchScale(s);
    ctx.fillStyle = colours.pitch;
    for (const tile of tracks) {
      visible(tile.times, t0, t1, tl.W, (i) => {
        const f = tile.f0[i];
        if (!(f > 0)) return;
        const frac = ps.frac(f);
        if (frac < 0 || frac > 1) return;
        ctx.fillRect(xOfT(tile.times[i]) - 1.5, yOf(frac) - 1.5, 3, 3);
      });
    }
  }
  ctx.restore();
}

/** The axes' labels of the current state: [axis, value, frac] (frac 0 = bottom of the panel). */
export function axisLabels(tl, specDrawn, height) {
  const out = [];
  const s = tl.settings;
  if (specDrawn) for (const f of freqScale(s, tl.rate).ticks(height)) out.push(['hz', f, freqScale(s, tl.rate).frac(f)]);
  if (tl.showPitch) for (const [v, frac] of pitchScale(s).ticks(height)) out.push(['pitch', v, frac]);
  if (tl.showIntensity) for (const [v, frac] of intensityScale().ticks(height)) out.push(['db', v, frac]);
  return out;
}

/** Tick marks on the canvas at the labels' heights. */
export function drawTicks(ctx, tl, labels, top, height, colours) {
  for (const [axis, , frac] of labels) {
    const y = Math.round(top + height - frac * height);
    ctx.fillStyle = axis === 'hz' ? colours.tick : axis === 'pitch' ? colours.pitch : colours.intensity;
    const x = axis === 'hz' ? 0 : axis === 'pitch' ? tl.W - 5 : tl.W - 48;
    ctx.fillRect(x, y, 5, 1);
  }
}

/**
 * Writes the labels into `layer` (absolutely placed spans over the canvas): numbers, and the
 * unit at the top of each axis. Units and numbers are codes, not words (translate="no").
 */
export function renderAxisLabels(layer, labels, { top, height, units }) {
  clear(layer);
  const axes = new Set(labels.map((l) => l[0]));
  for (const [axis, value, frac] of labels) {
    const el = h('span', { class: `axis-label ${axis}`, 'data-axis': axis, 'data-value': value }, fmtValue(value));
    el.style.top = `${Math.round(top + height - frac * height - 7)}px`;
    layer.appendChild(el);
  }
  for (const axis of axes) {
    const el = h('span', { class: `axis-label unit ${axis}`, 'data-axis': axis, 'data-unit': units[axis] }, units[axis]);
    el.style.top = `${top + 1}px`;
    layer.appendChild(el);
  }
}

const fmtValue = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1));

/** The readout line under the timeline: label and value pairs, values as codes. */
export function readoutLine() {
  const el = h('div', { class: 'readout mono', id: 'readout', 'aria-live': 'off' });
  const fields = {};
  for (const k of ['time', 'freq', 'pitch', 'intensity', 'formants']) {
    const value = h('span', { class: 'value', translate: 'no' });
    fields[k] = { wrap: h('span', { class: `field ${k}`, 'data-field': k, hidden: true }, h('span', { class: 'label' }, t(`rec.readout.${k}`)), ' ', value), value };
    el.appendChild(fields[k].wrap);
  }
  /** Shows `info` ({secs, hz, f0, db, formants}); fields that are undefined are hidden. */
  const show = (info) => {
    const set = (k, text) => {
      fields[k].wrap.hidden = text === undefined;
      fields[k].value.textContent = text ?? '';
    };
    set('time', info && info.secs !== undefined ? fmtTime(info.secs) : undefined);
    set('freq', info && info.hz !== undefined ? `${Math.round(info.hz)} Hz` : undefined);
    set('pitch', info && info.f0 !== undefined ? (info.f0 === null ? '–' : info.pitchText) : undefined);
    set('intensity', info && info.db !== undefined ? `${info.db.toFixed(1)} dB` : undefined);
    set('formants', info && info.formants ? info.formants.map((f, k) => `F${k + 1} ${f > 0 ? Math.round(f) : '–'}`).join('  ') : undefined);
  };
  return { el, show };
}
