// The phonetician's view settings (issue 18) and the scales they imply: Praat's spectrogram
// controls (window, axis, maximum frequency, dynamic range, pre-emphasis, colours), the pitch
// display range and unit, intensity and formants on or off, the waveform's vertical zoom.
// Settings live in localStorage under the logged-in user's id, so two people sharing one
// computer keep their own; they are view preferences, not data, and never go to the server.
// The scales map frequency, pitch and intensity to a panel's height and back (for the cursor
// readout) and choose the labelled ticks of the axes. No DOM here.

/** Praat's defaults where Praat has one (0–5000 Hz, 70 dB, 50 Hz pre-emphasis, 75–500 Hz pitch). */
export const DEFAULTS = Object.freeze({
  wideband: false,
  mel: false,
  maxFreq: 5000,
  rangeDb: 70,
  preEmphasis: 50,
  gray: false,
  pitchFloor: 75,
  pitchCeiling: 500,
  pitchUnit: 'hz', // 'hz' (linear) or 'st' (semitones re 100 Hz, a log axis)
  intensity: false,
  formants: false,
  maxFormant: 5500, // Praat: 5500 Hz for female speakers, 5000 Hz for male
  gain: 1, // the waveform's vertical zoom
  autoGain: false,
});

/** The accepted range of each numeric setting: out-of-range input is clamped, not stored as typed. */
export const LIMITS = Object.freeze({
  maxFreq: [500, 24000],
  rangeDb: [10, 150],
  preEmphasis: [0, 2000],
  pitchFloor: [20, 1000],
  pitchCeiling: [40, 2000],
  maxFormant: [3000, 8000],
  gain: [1, 256],
});

const key = (userId) => `fangyan.phonetics.${userId ?? 'anonymous'}`;

/** A complete, valid settings object from anything (a stored one, a partial change). */
export function normalise(s) {
  const out = { ...DEFAULTS };
  for (const k of Object.keys(DEFAULTS)) {
    const v = s ? s[k] : undefined;
    if (v === undefined || v === null) continue;
    if (typeof DEFAULTS[k] === 'boolean') out[k] = !!v;
    else if (typeof DEFAULTS[k] === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n)) continue;
      const [lo, hi] = LIMITS[k];
      out[k] = Math.min(hi, Math.max(lo, n));
    } else if (k === 'pitchUnit') out[k] = v === 'st' ? 'st' : 'hz';
  }
  if (out.pitchCeiling <= out.pitchFloor) out.pitchCeiling = Math.min(LIMITS.pitchCeiling[1], out.pitchFloor * 2);
  return out;
}

/** This user's settings (the defaults when none are stored or storage is refused). */
export function load(userId) {
  try {
    return normalise(JSON.parse(localStorage.getItem(key(userId)) || '{}'));
  } catch {
    return { ...DEFAULTS };
  }
}

/** Stores this user's settings; only the ones that differ from the defaults are written. */
export function save(userId, s) {
  const diff = {};
  for (const k of Object.keys(DEFAULTS)) if (s[k] !== DEFAULTS[k]) diff[k] = s[k];
  try { localStorage.setItem(key(userId), JSON.stringify(diff)); } catch { /* storage refused: the settings last for this page */ }
}

/** The spectrogram tile parameters the server takes (`GET /api/recordings/{id}/spectrogram`). */
export function tileParams(s) {
  return {
    wideband: s.wideband, mel: s.mel, gray: s.gray,
    max_freq: s.maxFreq, range_db: s.rangeDb, pre_emphasis: s.preEmphasis,
  };
}

// ---- scales ------------------------------------------------------------------------------------

const hzToMel = (hz) => 2595 * Math.log10(1 + hz / 700);
const melToHz = (mel) => 700 * (10 ** (mel / 2595) - 1);

/**
 * The spectrogram's frequency axis: the server draws 0 Hz at the bottom row and
 * min(max_freq, rate / 2) at the top, linear or mel (its `render.rs`, the same mel formula).
 */
export function freqScale(s, rate) {
  const top = Math.min(s.maxFreq, rate / 2);
  const warp = s.mel ? hzToMel : (f) => f;
  const unwarp = s.mel ? melToHz : (f) => f;
  const wTop = warp(top);
  return {
    top,
    /** 0 (bottom) … 1 (top) of the panel. */
    frac: (hz) => warp(Math.max(0, hz)) / wTop,
    hzAt: (frac) => unwarp(Math.min(1, Math.max(0, frac)) * wTop),
    ticks: (heightPx) => freqTicks(top, s.mel, heightPx, warp, wTop),
  };
}

function freqTicks(top, mel, heightPx, warp, wTop) {
  if (!mel) {
    const step = [100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000].find((st) => (st / top) * heightPx >= 22) || 10000;
    const out = [];
    for (let f = step; (1 - f / top) * heightPx >= 16; f += step) out.push(f);
    return out;
  }
  // Mel: nice values, kept when at least 16 px clear of the one below and of the top (the unit).
  const nice = [100, 200, 300, 500, 700, 1000, 1500, 2000, 3000, 4000, 5000, 6000, 8000, 10000, 12000, 16000, 20000];
  const out = [];
  let lastY = 0;
  for (const f of nice) {
    if (f >= top) break;
    const y = (warp(f) / wTop) * heightPx;
    if (y - lastY >= 16 && (1 - warp(f) / wTop) * heightPx >= 16) { out.push(f); lastY = y; }
  }
  return out;
}

/** Semitones re 100 Hz (Praat's unit). */
export const hzToSt = (hz) => 12 * Math.log2(hz / 100);
export const stToHz = (st) => 100 * 2 ** (st / 12);

/** The pitch axis: floor at the bottom, ceiling at the top, linear in Hz or in semitones. */
export function pitchScale(s) {
  const st = s.pitchUnit === 'st';
  const conv = st ? hzToSt : (f) => f;
  const lo = conv(s.pitchFloor);
  const hi = conv(s.pitchCeiling);
  return {
    unit: st ? 'st' : 'Hz',
    frac: (hz) => (conv(hz) - lo) / (hi - lo),
    valueAt: (frac) => lo + frac * (hi - lo),
    /** The value shown for a frequency (Hz or semitones). */
    value: conv,
    /** [value, frac] pairs for labels. */
    ticks: (heightPx) => linearTicks(lo, hi, heightPx, st ? [1, 2, 3, 6, 12, 24] : [5, 10, 20, 25, 50, 100, 200, 250, 500]),
  };
}

/**
 * The intensity axis: dB re 2·10⁻⁵ Pa with full scale as 1 Pa (Praat's convention, so a
 * full-scale sine is 91 dB), over a fixed 30–90 dB: room for quiet recordings below Praat's 50.
 */
export const INTENSITY_RANGE = [30, 90];
export function intensityScale() {
  const [lo, hi] = INTENSITY_RANGE;
  return {
    frac: (db) => (db - lo) / (hi - lo),
    valueAt: (frac) => lo + frac * (hi - lo),
    ticks: (heightPx) => linearTicks(lo, hi, heightPx, [5, 10, 20, 30]),
  };
}

function linearTicks(lo, hi, heightPx, steps) {
  const step = steps.find((st) => (st / (hi - lo)) * heightPx >= 20) || steps[steps.length - 1];
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) {
    const frac = (v - lo) / (hi - lo);
    // Clear of the bottom edge and of the unit label at the top.
    if (frac * heightPx >= 6 && (1 - frac) * heightPx >= 16) out.push([v, frac]);
  }
  return out;
}
