// The timeline of the recording view: an overview strip of the whole file, then one canvas
// with the time ruler, the waveform, the spectrogram (with pitch, intensity and formants over
// it, web/overlays.js) and one segment lane per speaker. Everything is drawn from server tiles,
// and only tiles that cover the visible range are fetched: waveform tiles are 1024 min/max
// buckets at a power-of-two number of samples per bucket (exact samples below 32), spectrogram
// tiles are 256-px PNGs, and pitch/intensity and formant tiles are JSON on the spectrogram's
// grid at half its columns (at every zoom, so a 12-hour file has a contour at every zoom).
// The tiles themselves (fetching, caching, back-off) are web/tiles.js's. Zoom and scroll
// animate towards a target view in requestAnimationFrame; while a level is loading, coarser
// (or slightly finer) cached tiles stand in, so frames never wait.

import * as api from './api.js';
import { fmtTime } from './dom.js';
import { t as tr } from './i18n.js';
import { LIMITS, normalise, tileParams, freqScale, hzToSt } from './phonetics.js';
import { TileCache, SAMPLE_TILE, SPEC_TILE, peakSpan } from './tiles.js';
import { palette, drawTracks, axisLabels, drawTicks, renderAxisLabels, readoutLine, lowerBound } from './overlays.js';

const SPEC_MAX_LEVEL = 10; // beyond 1024 samples per pixel the spectrogram is not drawn
const RULER_H = 20;
const WAVE_H = 110;
const SPEC_H = 128;
const LANE_H = 24;
const MIN_SPP = 1 / 32; // 32 pixels per sample at the deepest zoom

export class Timeline {
  constructor(container, opts) {
    this.opts = opts;
    this.rec = opts.recording;
    this.rate = opts.rate;
    this.samples = opts.samples;
    this.lanes = [null];
    this.settings = normalise(opts.settings);
    this.showPitch = false;
    this.showSpec = true;
    this.effectiveGain = 1;
    this.specKey = Object.values(tileParams(this.settings)).join(',');
    this.cache = new TileCache({ recording: this.rec, samples: this.samples, rate: this.rate, changed: () => { this.dirty = true; } });
    this.dirty = true;
    this.drag = null;
    this.frameLog = null;
    this.firstPaintDone = false;
    this.contentReady = true; // the view's owner clears it until the segments are in

    this.overview = document.createElement('canvas');
    this.overview.className = 'overview';
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'timeline';
    this.canvas.tabIndex = -1;
    this.axisLayer = document.createElement('div');
    this.axisLayer.className = 'axis-layer';
    this.axisLayer.setAttribute('translate', 'no');
    this.axisLayer.setAttribute('aria-hidden', 'true');
    this.readout = readoutLine();
    container.append(this.overview, this.canvas, this.axisLayer, this.readout.el);
    this.axesKey = '';
    this.container = container;
    this.resize();
    this.start = 0;
    this.spp = this.maxSpp();
    this.tStart = this.start;
    this.tSpp = this.spp;

    this.ro = new ResizeObserver(() => { this.resize(); this.dirty = true; });
    this.ro.observe(container);
    this.bindInput();
    this.loadOverview();
    this.raf = requestAnimationFrame((t) => this.frame(t));
  }

  destroy() {
    cancelAnimationFrame(this.raf);
    this.ro.disconnect();
    this.destroyed = true;
  }

  // ---- geometry -------------------------------------------------------------------------

  resize() {
    const dpr = window.devicePixelRatio || 1;
    this.W = Math.max(200, Math.floor(this.container.clientWidth));
    this.H = RULER_H + WAVE_H + SPEC_H + LANE_H * this.lanes.length;
    for (const [c, hgt] of [[this.overview, 40], [this.canvas, this.H]]) {
      c.width = Math.floor(this.W * dpr);
      c.height = Math.floor(hgt * dpr);
      c.style.width = this.W + 'px';
      c.style.height = hgt + 'px';
      c.getContext('2d', { alpha: false }).setTransform(dpr, 0, 0, dpr, 0, 0);
    }
    this.axisLayer.style.top = `${this.canvas.offsetTop}px`;
    this.axisLayer.style.width = `${this.W}px`;
    this.axesKey = '';
    this.overviewDrawn = null;
  }

  /** Where the panels are on the canvas (CSS pixels from its top): for tests and the view. */
  geometry() {
    return { ruler: [0, RULER_H], wave: [RULER_H, WAVE_H], spec: [RULER_H + WAVE_H, SPEC_H], lanes: [RULER_H + WAVE_H + SPEC_H, LANE_H * this.lanes.length] };
  }

  setLanes(lanes) {
    if (lanes.length !== this.lanes.length || lanes.some((l, i) => l !== this.lanes[i])) {
      this.lanes = lanes;
      this.resize();
    }
    this.dirty = true;
  }

  maxSpp() { return Math.max(MIN_SPP, this.samples / this.W); }

  clampView(start, spp) {
    spp = Math.min(this.maxSpp(), Math.max(MIN_SPP, spp));
    start = Math.max(0, Math.min(this.samples - spp * this.W, start));
    return [start, spp];
  }

  /** Animates the view to samples [a, b). */
  zoomTo(a, b, animate = true) {
    const spp = (b - a) / this.W;
    [this.tStart, this.tSpp] = this.clampView(a, spp);
    if (!animate) { this.start = this.tStart; this.spp = this.tSpp; }
    this.dirty = true;
  }

  /** Zooms by `factor` (>1 zooms in) around the sample at pixel x (default: the playhead or centre). */
  zoomBy(factor, anchorSample) {
    const spp = this.tSpp / factor;
    const anchor = anchorSample ?? this.tStart + (this.tSpp * this.W) / 2;
    const frac = (anchor - this.tStart) / (this.tSpp * this.W);
    [this.tStart, this.tSpp] = this.clampView(anchor - frac * spp * this.W, spp);
    this.dirty = true;
  }

  scrollBy(px) {
    [this.tStart, this.tSpp] = this.clampView(this.tStart + px * this.tSpp, this.tSpp);
    this.dirty = true;
  }

  /** Makes sure samples [a, b) are visible, paging if needed. */
  reveal(a, b) {
    const span = this.tSpp * this.W;
    if (b - a > span) { this.zoomTo(a - (b - a) * 0.1, b + (b - a) * 0.1); return; }
    if (a < this.tStart || b > this.tStart + span) {
      [this.tStart] = this.clampView(a - span * 0.1, this.tSpp);
      this.dirty = true;
    }
  }

  view() { return { start: this.tStart, spp: this.tSpp }; }
  xOf(sample) { return (sample - this.start) / this.spp; }
  sampleAt(x) { return this.start + x * this.spp; }

  // ---- tiles (web/tiles.js keeps them) ------------------------------------------------------

  /** The peak level for a zoom: -1 means exact samples. */
  peakLevel(spp) {
    if (spp < 32) return -1;
    return Math.min(30, Math.floor(Math.log2(spp)));
  }
  peakSpan(level) { return peakSpan(level); }
  specLevel(spp) {
    const l = this.gridLevel(spp);
    return l > SPEC_MAX_LEVEL ? null : l;
  }
  /** The spectrogram's tile grid (also the pitch and formant tiles'): 256 px of 2^level samples. */
  gridLevel(spp) { return Math.max(3, Math.floor(Math.log2(Math.max(spp, 1)))); }

  peakTile(level, i, request) { return this.cache.peak(level, i, request); }
  specTile(level, i, request) { return this.cache.spectrogram(level, i, request, tileParams(this.settings), SPEC_H); }
  /** A pitch and intensity ('track') or formant ('formants') tile of the grid. */
  rangeTile(kind, level, i, request) { return this.cache.range(kind, level, i, request, this.maxFormant()); }
  /** The ready range tiles covering the view, each from its level or a stand-in. */
  rangeTiles(kind, level) {
    return this.cache.covering(kind, level, this.start, this.start + this.spp * this.W, this.maxFormant());
  }
  /** The maximum formant asked for: the setting, within the Nyquist frequency of the analysis. */
  maxFormant() { return Math.min(this.settings.maxFormant, Math.floor(this.rate / 2)); }
  /** Whether the server has the range endpoints: 'unknown', 'yes' or 'no' per kind. */
  get support() { return this.cache.support; }
  /** The whole-file pitch track standing in for range tiles (older servers), or null. */
  get wholeTrack() { return this.cache.wholeTrack; }

  /** Requests the tiles the target view needs (the view being animated to). */
  requestTarget() {
    const a = this.tStart;
    const b = this.tStart + this.tSpp * this.W;
    const pl = this.peakLevel(this.tSpp);
    const ps = this.peakSpan(pl);
    for (let i = Math.floor(a / ps); i * ps < b; i++) this.peakTile(pl, i, true);
    const gl = this.gridLevel(this.tSpp);
    const gs = SPEC_TILE * 2 ** gl;
    const spec = this.showSpec && this.specLevel(this.tSpp) !== null;
    for (let i = Math.floor(a / gs); i * gs < b; i++) {
      if (spec) this.specTile(gl, i, true);
      if (this.showPitch || this.showIntensity) this.rangeTile('track', gl, i, true);
      if (spec && this.showFormants) this.rangeTile('formants', gl, i, true);
    }
  }

  async loadOverview() {
    const width = Math.min(4000, this.W);
    try {
      const res = await api.peaks(this.rec, 0, this.samples, width);
      this.overviewPeaks = res.samples ? { min: res.samples, max: res.samples } : res;
      this.dirty = true;
    } catch { /* drawn empty */ }
  }

  /** Pitch contour on or off (toggles without an argument); returns the new state. */
  togglePitch(on) {
    this.showPitch = on ?? !this.showPitch;
    this.dirty = true;
    return this.showPitch;
  }

  get showIntensity() { return this.settings.intensity; }
  get showFormants() { return this.settings.formants; }

  /**
   * New view settings (web/phonetics.js). Changed spectrogram parameters drop the cached
   * tiles, so the next frame asks for tiles with the new ones and repaints.
   */
  setSettings(next) {
    const s = normalise(next);
    const key = Object.values(tileParams(s)).join(',');
    if (key !== this.specKey) {
      this.cache.dropSpectrograms();
      this.specKey = key;
    }
    if (s.maxFormant !== this.settings.maxFormant) this.cache.dropFormants();
    this.settings = s;
    this.dirty = true;
  }

  /** Waveform vertical zoom by `factor` (2 = twice as tall), within 1× … 256×; turns auto-gain off. */
  zoomGain(factor) {
    const [lo, hi] = LIMITS.gain;
    const g = Math.min(hi, Math.max(lo, (this.settings.autoGain ? this.effectiveGain : this.settings.gain) * factor));
    this.setSettings({ ...this.settings, gain: Math.round(g * 100) / 100, autoGain: false });
    if (this.opts.onSettings) this.opts.onSettings(this.settings);
  }

  // ---- drawing --------------------------------------------------------------------------

  frame(now) {
    if (this.destroyed) return;
    this.raf = requestAnimationFrame((t) => this.frame(t));
    const t0 = performance.now();
    const animating = Math.abs(this.tStart - this.start) > this.spp * 0.25 || Math.abs(Math.log(this.tSpp / this.spp)) > 0.002;
    if (animating) {
      // Ease in log-zoom space so a zoom over many octaves takes a fixed few frames per octave.
      const k = 0.35;
      const ls = Math.log(this.spp) + (Math.log(this.tSpp) - Math.log(this.spp)) * k;
      const centre = this.start + this.spp * this.W / 2;
      const tCentre = this.tStart + this.tSpp * this.W / 2;
      const c = centre + (tCentre - centre) * k;
      [this.start, this.spp] = this.clampView(c - Math.exp(ls) * this.W / 2, Math.exp(ls));
      if (Math.abs(Math.log(this.tSpp / this.spp)) < 0.003 && Math.abs(this.tStart - this.start) < this.spp) {
        this.spp = this.tSpp; this.start = this.tStart;
      }
      this.dirty = true;
    }
    const playing = this.opts.isPlaying();
    this.lastDrew = false;
    if (this.dirty || playing || this.drag) {
      this.requestTarget();
      this.draw();
      this.dirty = false;
      this.lastDrew = true;
    }
    if (this.frameLog) {
      const work = performance.now() - t0;
      const interval = this.lastFrame ? now - this.lastFrame : 0;
      this.frameLog.push({ work, interval, spp: this.spp, drew: this.lastDrew });
    }
    this.lastFrame = now;
  }

  draw() {
    const ctx = this.canvas.getContext('2d');
    const W = this.W;
    ctx.fillStyle = '#fbfbf8';
    ctx.fillRect(0, 0, W, this.H);
    this.drawRuler(ctx);
    this.drawWave(ctx, RULER_H, WAVE_H);
    this.drawSpec(ctx, RULER_H + WAVE_H, SPEC_H);
    this.drawLanes(ctx, RULER_H + WAVE_H + SPEC_H);
    const ph = this.xOf(this.opts.playhead() * this.rate);
    if (ph >= 0 && ph <= W) {
      ctx.fillStyle = '#d62828';
      ctx.fillRect(Math.round(ph) - 1, 0, 2, this.H);
    }
    this.drawOverview();
    if (!this.firstPaintDone && this.hasWave && this.contentReady) {
      this.firstPaintDone = true;
      performance.mark('fangyan:first-paint');
      this.canvas.dataset.painted = '1';
    }
  }

  drawRuler(ctx) {
    const secsPerPx = this.spp / this.rate;
    const steps = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
    const step = steps.find((s) => s / secsPerPx >= 90) || 7200;
    const t0 = this.start / this.rate;
    ctx.fillStyle = '#eeeee8';
    ctx.fillRect(0, 0, this.W, RULER_H);
    ctx.fillStyle = '#444';
    ctx.font = '11px system-ui, sans-serif';
    const digits = step < 0.01 ? 3 : step < 0.1 ? 2 : step < 1 ? 1 : 0;
    for (let t = Math.floor(t0 / step) * step; t < t0 + this.W * secsPerPx; t += step) {
      const x = (t - t0) / secsPerPx;
      if (x < 0) continue;
      ctx.fillRect(Math.round(x), RULER_H - 6, 1, 6);
      ctx.fillText(fmtTime(t, digits), x + 3, 12);
    }
  }

  drawWave(ctx, top, height) {
    const W = this.W;
    const mid = top + height / 2;
    const half0 = height / 2 - 4;
    // Vertical zoom: a fixed gain, or auto-gain (the loudest peak in view fills the panel).
    let half = half0 * this.settings.gain;
    const clampY = (y) => Math.min(top + height - 1, Math.max(top + 1, y));
    ctx.fillStyle = '#f4f6fa';
    ctx.fillRect(0, top, W, height);
    this.drawSelection(ctx, top, height);
    ctx.fillStyle = '#cfd6e4';
    ctx.fillRect(0, Math.round(mid), W, 1);
    const a = this.start;
    const b = this.start + this.spp * W;
    if (this.spp < 1) {
      // Zoomed past single samples: a line through them, dots when they are far apart.
      const tile = (i) => this.peakTile(-1, i, false);
      ctx.strokeStyle = '#2a4d8f';
      ctx.fillStyle = '#2a4d8f';
      const s0 = Math.max(0, Math.floor(a));
      const s1 = Math.min(this.samples - 1, Math.ceil(b));
      if (this.settings.autoGain) {
        let peak = 0;
        for (let s = s0; s <= s1; s++) {
          const t = tile(Math.floor(s / SAMPLE_TILE));
          const v = t && t.min[s - t.start];
          if (v !== undefined && Math.abs(v) > peak) peak = Math.abs(v);
        }
        half = half0 * this.autoGainFor(peak);
      }
      this.effectiveGain = half / half0;
      ctx.beginPath();
      let first = true;
      for (let s = s0; s <= s1; s++) {
        const t = tile(Math.floor(s / SAMPLE_TILE));
        if (!t) { first = true; continue; }
        const v = t.min[s - t.start];
        if (v === undefined) continue;
        const x = (s - a) / this.spp;
        const y = clampY(mid - (v / 32768) * half);
        if (first) ctx.moveTo(x, y); else ctx.lineTo(x, y);
        first = false;
        if (this.spp < 1 / 6) ctx.fillRect(x - 2, y - 2, 4, 4);
        this.hasWave = true;
      }
      ctx.stroke();
      this.drawGain(ctx, top);
      return;
    }
    if (!this.cols || this.cols.length !== W * 2) this.cols = new Float32Array(W * 2);
    const cols = this.cols;
    for (let x = 0; x < W; x++) { cols[2 * x] = Infinity; cols[2 * x + 1] = -Infinity; }
    const level = this.peakLevel(this.spp);
    const span = this.peakSpan(level);
    for (let i = Math.floor(a / span); i * span < b; i++) {
      const t = this.findPeak(level, i);
      if (!t) continue;
      const k0 = Math.max(0, Math.floor((a - t.start) / t.bucket));
      const k1 = Math.min(t.min.length - 1, Math.ceil((b - t.start) / t.bucket));
      for (let k = k0; k <= k1; k++) {
        const s0 = t.start + k * t.bucket;
        const x0 = Math.max(0, Math.floor((s0 - a) / this.spp));
        const x1 = Math.min(W - 1, Math.max(x0, Math.ceil((s0 + t.bucket - a) / this.spp) - 1));
        const mn = t.min[k];
        const mx = t.max[k];
        for (let x = x0; x <= x1; x++) {
          if (mn < cols[2 * x]) cols[2 * x] = mn;
          if (mx > cols[2 * x + 1]) cols[2 * x + 1] = mx;
        }
      }
    }
    if (this.settings.autoGain) {
      let peak = 0;
      for (let x = 0; x < W; x++) {
        if (cols[2 * x] === Infinity) continue;
        peak = Math.max(peak, -cols[2 * x], cols[2 * x + 1]);
      }
      half = half0 * this.autoGainFor(peak);
    }
    this.effectiveGain = half / half0;
    // One polygon (upper edge left to right, lower edge back) instead of a rectangle per
    // column: a single fill is far cheaper for the software rasteriser.
    ctx.fillStyle = '#2a4d8f';
    ctx.beginPath();
    let open = false;
    let runStart = 0;
    const closeRun = (end) => {
      for (let x = end; x >= runStart; x--) ctx.lineTo(x + 1, clampY(mid - (cols[2 * x] / 32768) * half + 0.5));
      ctx.closePath();
    };
    for (let x = 0; x < W; x++) {
      const mn = cols[2 * x];
      if (mn === Infinity) {
        if (open) { closeRun(x - 1); open = false; }
        continue;
      }
      const y0 = clampY(mid - (cols[2 * x + 1] / 32768) * half - 0.5);
      if (!open) { ctx.moveTo(x, y0); runStart = x; open = true; }
      ctx.lineTo(x + 1, y0);
      this.hasWave = true;
    }
    if (open) closeRun(W - 1);
    ctx.fill();
    this.drawGain(ctx, top);
  }

  /** The auto-gain for a peak (16-bit units): the peak reaches 95 % of the panel, at most 256×. */
  autoGainFor(peak) {
    return peak > 0 ? Math.min(LIMITS.gain[1], Math.max(1, (0.95 * 32768) / peak)) : 1;
  }

  /** The waveform's gain in its corner, when it is not 1×. */
  drawGain(ctx, top) {
    const g = this.effectiveGain;
    if (!this.settings.autoGain && g === 1) return;
    ctx.fillStyle = '#2a4d8f';
    ctx.font = '11px system-ui, sans-serif';
    const label = `${this.settings.autoGain ? 'A ' : ''}×${g >= 10 ? Math.round(g) : g.toFixed(1)}`;
    ctx.fillText(label, this.W - ctx.measureText(label).width - 6, top + 13);
  }

  /** A ready peak tile for (level, i), or a coarser (or one-level finer) cached stand-in. */
  findPeak(level, i) {
    const direct = this.peakTile(level, i, false);
    if (direct) return direct;
    const span = this.peakSpan(level);
    const mid = i * span + span / 2;
    const base = level < 0 ? 4 : level;
    const cands = [];
    for (let l = base + 1; l <= base + 12; l++) cands.push(l);
    if (level >= 6) cands.push(level - 1);
    for (const l of cands) {
      const t = this.peakTile(l, Math.floor(mid / this.peakSpan(l)), false);
      if (t) return t;
    }
    return null;
  }

  drawSelection(ctx, top, height) {
    const sel = this.opts.selected();
    if (!sel) return;
    const x0 = this.xOf(sel.start_sample);
    const x1 = this.xOf(sel.end_sample);
    if (x1 < 0 || x0 > this.W) return;
    ctx.fillStyle = 'rgba(255, 200, 60, 0.25)';
    ctx.fillRect(x0, top, x1 - x0, height);
  }

  drawSpec(ctx, top, height) {
    const level = this.specLevel(this.spp);
    const specDrawn = this.showSpec && level !== null;
    // Grey tiles are Praat's white paper: the panel behind them is white too.
    ctx.fillStyle = specDrawn && this.settings.gray ? '#fff' : '#111';
    ctx.fillRect(0, top, this.W, height);
    if (!this.showSpec) {
      this.drawOverlays(ctx, top, height, false);
      return;
    }
    if (level === null) {
      ctx.fillStyle = '#aaa';
      ctx.font = '12px system-ui, sans-serif';
      ctx.fillText(tr('rec.zoomForSpectrogram'), 8, top + height / 2);
    } else {
      const a = this.start;
      const b = this.start + this.spp * this.W;
      // Nearest-neighbour scaling: tiles are near 1:1 anyway, and it is the cheaper raster path.
      ctx.imageSmoothingEnabled = false;
      // Draws the part of tile t that covers samples [ra, rb).
      const draw = (t, ra, rb) => {
        ra = Math.max(ra, t.start);
        rb = Math.min(rb, t.end);
        if (rb <= ra) return;
        const k = t.bmp.width / (t.end - t.start);
        const x0 = this.xOf(ra);
        const x1 = this.xOf(rb);
        ctx.drawImage(t.bmp, (ra - t.start) * k, 0, Math.max(0.01, (rb - ra) * k), t.bmp.height, x0, top, x1 - x0, height);
      };
      // Each region is drawn once: from its own tile, else a coarser one covering it, else
      // the two finer halves (zooming out). Scaled image draws are the costliest raster work.
      const span = SPEC_TILE * 2 ** level;
      for (let i = Math.floor(a / span); i * span < b; i++) {
        const ra = Math.max(a, i * span);
        const rb = Math.min(b, (i + 1) * span);
        let t = this.specTile(level, i, false);
        for (let up = 1; !t && up <= 3; up++) t = this.specTile(level + up, Math.floor(i / 2 ** up), false);
        if (t) { draw(t, ra, rb); continue; }
        for (const half of [2 * i, 2 * i + 1]) {
          const f = level > 3 ? this.specTile(level - 1, half, false) : null;
          if (f) draw(f, ra, rb);
        }
      }
    }
    const sel = this.opts.selected();
    if (sel) {
      ctx.strokeStyle = 'rgba(255, 200, 60, 0.9)';
      ctx.strokeRect(this.xOf(sel.start_sample), top + 0.5, this.xOf(sel.end_sample) - this.xOf(sel.start_sample), height - 1);
    }
    this.drawOverlays(ctx, top, height, specDrawn);
  }

  /** Pitch, intensity and formants over the spectrogram panel, the axes' ticks and labels. */
  drawOverlays(ctx, top, height, specDrawn) {
    const colours = palette(this.settings, specDrawn);
    const level = this.gridLevel(this.spp);
    const tracks = this.showPitch || this.showIntensity ? this.rangeTiles('track', level) : [];
    const formants = specDrawn && this.showFormants ? this.rangeTiles('formants', level) : [];
    drawTracks(ctx, this, { top, height, tracks, formants, colours });
    const labels = axisLabels(this, specDrawn, height);
    drawTicks(ctx, this, labels, top, height, colours);
    const key = JSON.stringify([labels, this.W, colours.pitch]);
    if (key !== this.axesKey) {
      this.axesKey = key;
      renderAxisLabels(this.axisLayer, labels, { top, height, units: { hz: 'Hz', pitch: this.settings.pitchUnit === 'st' ? 'st' : 'Hz', db: 'dB' } });
      this.axisLayer.dataset.palette = this.settings.gray && specDrawn ? 'gray' : 'colour';
    }
  }

  /** What is under the pointer at canvas (x, y): time, and in the spectrogram panel frequency; pitch, intensity and formants at that time. */
  probeAt(x, y) {
    const secs = this.sampleAt(x) / this.rate;
    const info = { secs };
    const [specTop, specH] = this.geometry().spec;
    if (y >= specTop && y < specTop + specH) {
      const frac = 1 - (y - specTop) / specH;
      if (this.showSpec && this.specLevel(this.spp) !== null) info.hz = freqScale(this.settings, this.rate).hzAt(frac);
    }
    const level = this.gridLevel(this.spp);
    if (this.showPitch || this.showIntensity) {
      const hit = nearest(this.rangeTiles('track', level), secs, this.spp / this.rate * 4);
      if (hit) {
        const f0 = hit.tile.f0[hit.i];
        if (this.showPitch) {
          info.f0 = f0 > 0 ? f0 : null;
          if (f0 > 0) info.pitchText = `${Math.round(f0)} Hz · ${hzToSt(f0).toFixed(1)} st`;
        }
        if (this.showIntensity && Number.isFinite(hit.tile.db[hit.i])) info.db = hit.tile.db[hit.i];
      }
    }
    if (this.showFormants && this.specLevel(this.spp) !== null) {
      const hit = nearest(this.rangeTiles('formants', level), secs, this.spp / this.rate * 4);
      if (hit) info.formants = hit.tile.f.map((f) => f[hit.i]);
    }
    return info;
  }

  drawLanes(ctx, top) {
    const segs = this.opts.segments();
    const sel = this.opts.selected();
    ctx.font = '12px system-ui, sans-serif';
    this.lanes.forEach((spk, li) => {
      const y = top + li * LANE_H;
      ctx.fillStyle = li % 2 ? '#f2f2ec' : '#fafaf5';
      ctx.fillRect(0, y, this.W, LANE_H);
      ctx.fillStyle = '#888';
      ctx.fillText(this.opts.speakerName(spk), 4, y + 15);
    });
    const a = this.start;
    const b = this.start + this.spp * this.W;
    const laneOf = new Map(this.lanes.map((spk, i) => [spk, i]));
    const colour = (s) => (sel && sel.id === s.id ? '#ffc83c' : s.status === 'approved' ? '#9fd89f' : s.status === 'submitted' ? '#b9d3f5' : '#d9d9d0');
    // Zoomed out on thousands of segments, many share a pixel: per lane, neighbours of one
    // colour that touch are filled as one run, so a frame costs a few hundred rectangles
    // whatever the count (a 12-hour file of 20 000 segments stays under a frame's budget).
    const runs = this.lanes.map(() => null);
    const flush = (li) => {
      const r = runs[li];
      if (!r) return;
      ctx.fillStyle = r.fill;
      ctx.fillRect(r.x0, r.y, Math.max(1, r.x1 - r.x0), LANE_H - 4);
      runs[li] = null;
    };
    for (const s of segs) {
      if (s.start_sample > b) break; // sorted by start
      if (s.end_sample < a) continue;
      const li = laneOf.get(s.speaker_id ?? null) ?? 0;
      const y = top + li * LANE_H + 2;
      const x0 = this.xOf(s.start_sample);
      const x1 = this.xOf(s.end_sample);
      const fill = colour(s);
      if (x1 - x0 < 3) {
        const r = runs[li];
        if (r && r.fill === fill && x0 <= r.x1 + 1) r.x1 = Math.max(r.x1, x1);
        else { flush(li); runs[li] = { x0, x1, y, fill }; }
        continue;
      }
      flush(li);
      ctx.fillStyle = fill;
      ctx.fillRect(x0, y, Math.max(1, x1 - x0), LANE_H - 4);
      ctx.fillStyle = '#333';
      ctx.fillRect(x0, y, 1, LANE_H - 4);
      ctx.fillRect(x1 - 1, y, 1, LANE_H - 4);
      if (x1 - x0 > 30) {
        ctx.save();
        ctx.beginPath();
        ctx.rect(x0 + 2, y, x1 - x0 - 4, LANE_H - 4);
        ctx.clip();
        ctx.fillText(s.text_verbatim || s.asr_text || '', x0 + 4, y + 14);
        ctx.restore();
      }
    }
    runs.forEach((_, li) => flush(li));
    if (this.drag && this.drag.kind === 'boundary') {
      ctx.fillStyle = '#d62828';
      const x = this.xOf(this.drag.sample);
      ctx.fillRect(x - 1, RULER_H, 2, this.H - RULER_H);
    }
  }

  drawOverview() {
    const ctx = this.overview.getContext('2d');
    const W = this.W;
    const H = 40;
    // The whole-file waveform is drawn once into an image; frames only copy it.
    const p = this.overviewPeaks;
    const key = `${W}:${!!p}`;
    if (this.overviewDrawn !== key) {
      this.overviewDrawn = key;
      const img = document.createElement('canvas');
      img.width = this.overview.width;
      img.height = this.overview.height;
      const c = img.getContext('2d');
      c.setTransform(img.width / W, 0, 0, img.height / H, 0, 0);
      c.fillStyle = '#eef0f4';
      c.fillRect(0, 0, W, H);
      if (p) {
        c.fillStyle = '#6b7fa8';
        const n = p.min.length;
        for (let x = 0; x < W; x++) {
          const i = Math.floor((x / W) * n);
          const y0 = H / 2 - (p.max[i] / 32768) * (H / 2 - 2);
          const y1 = H / 2 - (p.min[i] / 32768) * (H / 2 - 2);
          c.fillRect(x, y0, 1, Math.max(1, y1 - y0));
        }
      }
      this.overviewImage = img;
    }
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this.overviewImage, 0, 0);
    ctx.restore();
    const x0 = (this.start / this.samples) * W;
    const x1 = ((this.start + this.spp * W) / this.samples) * W;
    ctx.fillStyle = 'rgba(255, 200, 60, 0.35)';
    ctx.fillRect(x0, 0, Math.max(2, x1 - x0), H);
    ctx.strokeStyle = '#c08a00';
    ctx.strokeRect(x0 + 0.5, 0.5, Math.max(2, x1 - x0) - 1, H - 1);
    const ph = (this.opts.playhead() * this.rate / this.samples) * W;
    ctx.fillStyle = '#d62828';
    ctx.fillRect(ph - 1, 0, 2, H);
  }

  // ---- input ----------------------------------------------------------------------------

  laneAt(y) {
    const top = RULER_H + WAVE_H + SPEC_H;
    if (y < top) return -1;
    return Math.floor((y - top) / LANE_H);
  }

  bindInput() {
    this.canvas.addEventListener('wheel', (e) => {
      e.preventDefault();
      const rect = this.canvas.getBoundingClientRect();
      const x = e.clientX - rect.left;
      const y = e.clientY - rect.top;
      const [waveTop, waveH] = this.geometry().wave;
      if (e.ctrlKey || e.metaKey) this.zoomBy(Math.exp(-e.deltaY * 0.002), this.sampleAt(x));
      else if (e.shiftKey && y >= waveTop && y < waveTop + waveH) {
        // Shift+wheel over the waveform: its vertical zoom (some browsers turn it into deltaX).
        const d = e.deltaY || e.deltaX;
        if (d) this.zoomGain(d < 0 ? 2 : 0.5);
      } else this.scrollBy((Math.abs(e.deltaX) > Math.abs(e.deltaY) ? e.deltaX : e.deltaY));
    }, { passive: false });

    this.canvas.addEventListener('pointerdown', (e) => {
      const rect = this.canvas.getBoundingClientRect();
      const x = e.clientX - rect.left;
      const y = e.clientY - rect.top;
      const hit = this.boundaryAt(x);
      this.canvas.setPointerCapture(e.pointerId);
      if (hit) this.drag = { kind: 'boundary', seg: hit.seg, edge: hit.edge, sample: hit.sample, x0: x };
      else this.drag = { kind: 'pan', x0: x, start0: this.start, moved: false, y };
      this.dirty = true;
    });
    this.canvas.addEventListener('pointermove', (e) => {
      const rect = this.canvas.getBoundingClientRect();
      const x = e.clientX - rect.left;
      this.pointer = { x, y: e.clientY - rect.top };
      this.readout.show(this.probeAt(x, this.pointer.y));
      if (!this.drag) {
        this.canvas.style.cursor = this.boundaryAt(x) ? 'ew-resize' : 'default';
        return;
      }
      if (this.drag.kind === 'boundary') {
        this.drag.sample = Math.round(Math.max(0, Math.min(this.samples, this.sampleAt(x))));
      } else if (Math.abs(x - this.drag.x0) > 3) {
        this.drag.moved = true;
        [this.start, this.spp] = this.clampView(this.drag.start0 - (x - this.drag.x0) * this.spp, this.spp);
        this.tStart = this.start;
        this.tSpp = this.spp;
      }
      this.dirty = true;
    });
    this.canvas.addEventListener('pointerup', (e) => {
      const d = this.drag;
      this.drag = null;
      this.dirty = true;
      if (!d) return;
      const rect = this.canvas.getBoundingClientRect();
      const x = e.clientX - rect.left;
      if (d.kind === 'boundary') {
        if (Math.abs(x - d.x0) < 2) return;
        this.opts.onBoundary(d.seg, d.edge, this.snap(d.sample));
      } else if (!d.moved) {
        const sample = this.sampleAt(x);
        const lane = this.laneAt(d.y);
        if (lane >= 0) {
          const spk = this.lanes[lane] ?? null;
          const seg = this.opts.segments().find((s) => (s.speaker_id ?? null) === spk && s.start_sample <= sample && sample < s.end_sample);
          if (seg) { this.opts.onSelect(seg, true); return; }
        }
        this.opts.onSeek(sample / this.rate);
      }
    });

    this.canvas.addEventListener('pointerleave', () => { this.pointer = null; this.readout.show(null); });

    const seekOverview = (e) => {
      const rect = this.overview.getBoundingClientRect();
      const frac = (e.clientX - rect.left) / rect.width;
      const span = this.tSpp * this.W;
      [this.tStart] = this.clampView(frac * this.samples - span / 2, this.tSpp);
      this.dirty = true;
    };
    this.overview.addEventListener('pointerdown', (e) => {
      this.overview.setPointerCapture(e.pointerId);
      this.overviewDrag = true;
      seekOverview(e);
    });
    this.overview.addEventListener('pointermove', (e) => { if (this.overviewDrag) seekOverview(e); });
    this.overview.addEventListener('pointerup', () => { this.overviewDrag = false; });
  }

  /** The segment boundary within 6 px of x (the selected segment wins). */
  boundaryAt(x) {
    const segs = this.opts.segments();
    const sel = this.opts.selected();
    const order = sel ? [sel, ...segs.filter((s) => s.id !== sel.id)] : segs;
    for (const s of order) {
      for (const edge of ['start', 'end']) {
        const sample = edge === 'start' ? s.start_sample : s.end_sample;
        if (Math.abs(this.xOf(sample) - x) <= 6) return { seg: s, edge, sample };
      }
    }
    return null;
  }

  /**
   * Snaps a dropped boundary to the quietest point nearby: the pixel column with the smallest
   * peak-to-peak amplitude within ±8 px (±20 ms at most) in the tiles on screen.
   */
  snap(sample) {
    const cols = this.cols;
    if (!cols || this.spp < 1) return Math.round(sample);
    const x = Math.round(this.xOf(sample));
    const reach = Math.min(8, Math.max(1, Math.floor((0.02 * this.rate) / this.spp)));
    let best = x;
    let bestAmp = Infinity;
    for (let c = Math.max(0, x - reach); c <= Math.min(this.W - 1, x + reach); c++) {
      const mn = cols[2 * c];
      if (mn === Infinity) continue;
      const amp = cols[2 * c + 1] - mn + Math.abs(c - x) * 0.5; // prefer nearer on ties
      if (amp < bestAmp) { bestAmp = amp; best = c; }
    }
    return Math.round(Math.max(0, Math.min(this.samples, this.sampleAt(best + 0.5))));
  }
}

/** The frame nearest `secs` among the tiles (within `reach` seconds): {tile, i}, or null. */
function nearest(tiles, secs, reach) {
  let best = null;
  let bestD = Infinity;
  for (const tile of tiles) {
    const i = lowerBound(tile.times, secs);
    for (const j of [i - 1, i]) {
      if (j < 0 || j >= tile.times.length) continue;
      const d = Math.abs(tile.times[j] - secs);
      if (d < bestD) { bestD = d; best = { tile, i: j }; }
    }
  }
  return best && bestD <= Math.max(reach, 0.02) ? best : null;
}
