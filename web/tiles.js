// The timeline's tiles: fetched from the server at most MAX_INFLIGHT at a time, kept in one
// LRU map, and a failed one retried after a growing back-off, never every frame. Waveform
// tiles are 1024 min/max buckets at a power-of-two number of samples per bucket (exact samples
// below 32 per pixel); spectrogram tiles are 256-px PNGs of 2^level samples a pixel; pitch and
// intensity ('track') and formant ('formants') tiles are JSON on the spectrogram's grid at half
// its columns, so they are cached and reused while scrolling at every zoom. A server without
// the range endpoints (before issue 18) is probed once: after its 404 the pitch comes from the
// whole-file track instead (short files only) and formants are not asked for again.
// What the tiles mean on screen is the timeline's (web/timeline.js); this module only fetches.

import * as api from './api.js';

export const PEAK_TILE = 1024;
export const SAMPLE_TILE = 8192;
export const SPEC_TILE = 256;
const MAX_TILES = 600;
const MAX_INFLIGHT = 6;
const TRACK_COLS = SPEC_TILE / 2; // pitch and formant values per tile: one per 2 px
const RETRY_MS = [2000, 5000, 15000, 60000]; // back-off of a failed tile, by failures so far
const WHOLE_PITCH_MAX_SECS = 3 * 3600; // the whole-file pitch JSON (older servers) only to here

/** Samples covered by a waveform tile of `level` (-1: exact samples). */
export const peakSpan = (level) => (level < 0 ? SAMPLE_TILE : PEAK_TILE * 2 ** level);

const DROPPED = Symbol('dropped');
const nums = (xs) => Float32Array.from(xs || [], (v) => (v === null ? NaN : v));

export class TileCache {
  /** `changed()` is called whenever a tile arrives or fails (the timeline redraws). */
  constructor({ recording, samples, rate, changed }) {
    Object.assign(this, { rec: recording, samples, rate, changed });
    this.tiles = new Map();
    this.inflight = 0;
    this.waiting = [];
    // Whether the server has the range endpoints: unknown until the first tile answers (one
    // probe at a time until then), 'no' after a 404, when the whole-file track stands in.
    this.support = { track: 'unknown', formants: 'unknown' };
    this.probe = { track: null, formants: null };
    this.wholeTrack = null;
  }

  fetchLimited(run) {
    return new Promise((resolve) => {
      const go = async () => {
        this.inflight++;
        try { resolve(await run()); } catch (e) { resolve(e instanceof Error ? e : new Error(String(e))); }
        this.inflight--;
        this.changed();
        const next = this.waiting.shift();
        if (next) next();
      };
      if (this.inflight < MAX_INFLIGHT) go(); else this.waiting.push(go);
    });
  }

  touch(key, tile) {
    this.tiles.delete(key);
    this.tiles.set(key, tile);
    if (this.tiles.size > MAX_TILES) {
      for (const k of this.tiles.keys()) {
        if (this.tiles.size <= MAX_TILES * 0.8) break;
        if (this.tiles.get(k).state !== 'loading') this.tiles.delete(k);
      }
    }
  }

  /**
   * The ready tile `key`, or null. With `request`, a missing tile is loaded: `load()` resolves
   * with the tile's fields or throws (an Error with `status` when the server answered). A
   * failed tile waits RETRY_MS before it is asked for again, so a refusing server sees a few
   * requests, not one per frame.
   */
  cached(key, request, load, onError) {
    const t = this.tiles.get(key);
    if (t) {
      if (t.state === 'ready') return t;
      if (t.state === 'loading' || !request || performance.now() < t.retryAt) return null;
    }
    if (!request) return null;
    const tile = { state: 'loading', failures: t ? t.failures : 0 };
    this.touch(key, tile);
    // A tile dropped while it waited for a slot (the settings changed) is not asked for.
    this.fetchLimited(() => (this.tiles.get(key) === tile ? load() : DROPPED)).then((res) => {
      if (res === DROPPED) return;
      if (res instanceof Error || !res) {
        const wait = RETRY_MS[Math.min(tile.failures, RETRY_MS.length - 1)];
        tile.state = 'failed';
        tile.retryAt = performance.now() + wait;
        tile.failures++;
        // A frame after the back-off asks again, if the tile is still wanted then.
        setTimeout(() => this.changed(), wait + 10);
        if (onError) onError(res);
        return;
      }
      Object.assign(tile, res);
      tile.state = 'ready';
    });
    return null;
  }

  /** Samples [a, b) of tile i of `span` samples, or null past the end. */
  bounds(i, span) {
    const a = i * span;
    const b = Math.min(this.samples, a + span);
    return a < b ? [a, b] : null;
  }

  /** Waveform tile i of `level`: {min, max, bucket, start}. */
  peak(level, i, request) {
    const r = this.bounds(i, peakSpan(level));
    if (!r) return null;
    const [a, b] = r;
    return this.cached(`p${level}:${i}`, request, async () => {
      const width = level < 0 ? 1024 : Math.max(1, Math.floor((b - a) / 2 ** level));
      const res = await api.peaks(this.rec, a, b, width);
      if (res.samples) {
        const v = Int16Array.from(res.samples);
        return { min: v, max: v, bucket: 1, start: a };
      }
      return { min: Int16Array.from(res.min), max: Int16Array.from(res.max), bucket: (b - a) / width, start: a };
    });
  }

  /** Spectrogram tile i of `level` with the view's `params` (phonetics.tileParams): {bmp, start, end}. */
  spectrogram(level, i, request, params, height) {
    const r = this.bounds(i, SPEC_TILE * 2 ** level);
    if (!r) return null;
    const [a, b] = r;
    return this.cached(`s${Object.values(params).join(',')}:${level}:${i}`, request, async () => {
      const width = Math.max(1, Math.round((b - a) / 2 ** level));
      const res = await fetch(api.spectrogramUrl(this.rec, a, b, width, height, params), { credentials: 'same-origin' });
      if (!res.ok) throw Object.assign(new Error('spectrogram tile'), { status: res.status });
      return { bmp: await createImageBitmap(await res.blob()), start: a, end: b };
    });
  }

  /** Forgets every spectrogram tile (the settings changed: new tiles are asked for). */
  dropSpectrograms() { this.drop('s'); }
  /** Forgets every formant tile (the maximum formant changed). */
  dropFormants() { this.drop('f'); }
  drop(prefix) {
    for (const k of [...this.tiles.keys()]) if (k.startsWith(prefix)) this.tiles.delete(k);
  }

  /**
   * A pitch and intensity tile (kind 'track': {times, f0, db}) or a formant tile ('formants':
   * {times, f: [F1…F4]}), typed arrays with NaN for unvoiced frames.
   */
  range(kind, level, i, request, maxFormant) {
    const r = this.bounds(i, SPEC_TILE * 2 ** level);
    if (!r || this.support[kind] === 'no') return null;
    const [a, b] = r;
    const key = kind === 'track' ? `t:${level}:${i}` : `f${maxFormant}:${level}:${i}`;
    if (request && this.support[kind] === 'unknown') {
      if (this.probe[kind] && !this.tiles.has(this.probe[kind])) this.probe[kind] = null; // dropped unasked
      if (this.probe[kind] && this.probe[kind] !== key) request = false;
      else if (!this.tiles.has(key) || this.tiles.get(key).state === 'failed') this.probe[kind] = key;
    }
    const width = Math.max(1, Math.min(TRACK_COLS, Math.round((b - a) / 2 ** level / 2)));
    return this.cached(key, request, async () => {
      try {
        const res = kind === 'track'
          ? await api.track(this.rec, a, b, width)
          : await api.formants(this.rec, a, b, width, maxFormant);
        this.support[kind] = 'yes';
        const times = Float64Array.from(res.times || []);
        if (kind === 'track') return { times, f0: nums(res.f0_hz), db: nums(res.intensity_db) };
        return { times, f: [nums(res.f1), nums(res.f2), nums(res.f3), nums(res.f4)] };
      } finally {
        if (this.probe[kind] === key) this.probe[kind] = null;
      }
    }, (e) => {
      // No such endpoint (an older server): stop asking; pitch falls back to the whole file.
      if (e && (e.status === 404 || e.status === 405) && this.support[kind] !== 'yes') {
        this.support[kind] = 'no';
        if (kind === 'track') this.loadWholeTrack();
      }
    });
  }

  /** The ready range tiles covering samples [a, b), each from `level` or a coarser (or finer) stand-in. */
  covering(kind, level, a, b, maxFormant) {
    if (kind === 'track' && this.support.track === 'no') return this.wholeTrack ? [this.wholeTrack] : [];
    const out = new Set();
    const span = SPEC_TILE * 2 ** level;
    for (let i = Math.floor(a / span); i * span < b; i++) {
      let t = this.range(kind, level, i, false, maxFormant);
      for (let up = 1; !t && up <= 4; up++) t = this.range(kind, level + up, Math.floor(i / 2 ** up), false, maxFormant);
      if (t) { out.add(t); continue; }
      if (level > 3) for (const half of [2 * i, 2 * i + 1]) { const f = this.range(kind, level - 1, half, false, maxFormant); if (f) out.add(f); }
    }
    return [...out];
  }

  /** The whole-file track of a server without range tiles (one JSON document: short files only). */
  async loadWholeTrack() {
    if (this.wholeTrack || this.samples / this.rate > WHOLE_PITCH_MAX_SECS) return;
    try {
      const tr = await api.pitch(this.rec);
      this.wholeTrack = { times: Float64Array.from(tr.times), f0: nums(tr.f0_hz), db: nums(tr.intensity_db) };
    } catch { this.wholeTrack = null; }
    this.changed();
  }
}
