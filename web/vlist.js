// A windowed list (issue 18): of a long list only the rows near the scrolled viewport are in the
// DOM, with spacers of the rows' heights between them, so 20 000 segments open as fast as 20.
// Rows that must stay (the selected row holding the editor, the row playing) are pinned: they
// are never removed while pinned, so focus and an input method's composition survive scrolling.
// Rows are only ever inserted around the ones kept, never moved, for the same reason.
// Heights are measured once a row is in the DOM; rows not yet seen count as the average.
// Short lists (up to `all` rows) are rendered whole: the browser's find, and every test that
// looks for a row, work as before.

const SPACER = 'vspacer';

export class VirtualList {
  /**
   * `list`: the scrolling element. `render(item, index)` makes a row; `keyOf(item)` its id;
   * `pinned()` the ids that must stay mounted.
   */
  constructor(list, { render, keyOf, pinned = () => [], all = 300, overscan = 800, estimate = 48 }) {
    Object.assign(this, { list, render, keyOf, pinned, all, overscan });
    this.items = [];
    this.index = new Map(); // id -> index
    this.rows = new Map(); // id -> mounted row
    this.heights = new Map(); // id -> measured height
    this.estimate = estimate;
    this.offsets = null; // prefix sums of heights, rebuilt when a height changes
    this.raf = 0;
    this.onScroll = () => { if (!this.raf) this.raf = requestAnimationFrame(() => { this.raf = 0; this.update(); }); };
    list.addEventListener('scroll', this.onScroll, { passive: true });
  }

  destroy() {
    this.list.removeEventListener('scroll', this.onScroll);
    cancelAnimationFrame(this.raf);
  }

  /** New items (a reload, a re-sort): every row is rendered afresh. */
  setItems(items) {
    this.items = items;
    this.index = new Map(items.map((it, i) => [this.keyOf(it), i]));
    for (const li of this.rows.values()) li.remove();
    this.rows.clear();
    for (const k of [...this.heights.keys()]) if (!this.index.has(k)) this.heights.delete(k);
    this.offsets = null;
    this.list.replaceChildren();
    this.update();
  }

  /** The same items in a new order (a boundary moved): rows stay mounted, the layout follows. */
  reorder(items) {
    this.items = items;
    this.index = new Map(items.map((it, i) => [this.keyOf(it), i]));
    this.offsets = null;
    this.update();
  }

  /** The mounted row of `id`, mounting it (pinned or not) first when it is an item. */
  mount(id) {
    if (!this.rows.has(id) && this.index.has(id)) this.update([id]);
    return this.rows.get(id) || null;
  }

  heightOf(i) {
    return this.heights.get(this.keyOf(this.items[i])) ?? this.estimate;
  }

  offsetsNow() {
    if (!this.offsets) {
      const o = new Float64Array(this.items.length + 1);
      for (let i = 0; i < this.items.length; i++) o[i + 1] = o[i] + this.heightOf(i);
      this.offsets = o;
    }
    return this.offsets;
  }

  /** The indices to mount: the window around the viewport, the pinned ones and `extra` ids. */
  wanted(extra) {
    const n = this.items.length;
    const want = new Set();
    if (n <= this.all) {
      for (let i = 0; i < n; i++) want.add(i);
      return [...want];
    }
    const o = this.offsetsNow();
    const top = Math.max(0, this.list.scrollTop - this.overscan);
    const bottom = this.list.scrollTop + (this.list.clientHeight || 600) + this.overscan;
    let lo = 0;
    let hi = n;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (o[mid + 1] <= top) lo = mid + 1; else hi = mid; }
    for (let i = lo; i < n && o[i] < bottom; i++) want.add(i);
    for (const id of [...this.pinned(), ...extra]) {
      const i = this.index.get(id);
      if (i !== undefined) want.add(i);
    }
    return [...want].sort((a, b) => a - b);
  }

  /** Brings the DOM in line with the scroll position (and mounts `extra` ids). */
  update(extra = []) {
    if (!this.items.length) return;
    const idx = this.wanted(extra);
    const o = this.items.length > this.all ? this.offsetsNow() : null;
    const nodes = [];
    const spacers = [...this.list.children].filter((c) => c.classList.contains(SPACER));
    const spacer = (px) => {
      const el = spacers.shift() || Object.assign(document.createElement('li'), { className: SPACER });
      el.setAttribute('aria-hidden', 'true');
      el.style.height = `${px}px`;
      nodes.push(el);
    };
    const keep = new Map();
    let next = 0;
    for (const i of idx) {
      if (o && i > next) spacer(o[i] - o[next]);
      const item = this.items[i];
      const id = this.keyOf(item);
      let li = this.rows.get(id);
      if (!li) li = this.render(item, i);
      li.setAttribute('aria-posinset', i + 1);
      li.setAttribute('aria-setsize', this.items.length);
      keep.set(id, li);
      nodes.push(li);
      next = i + 1;
    }
    if (o && next < this.items.length) spacer(o[this.items.length] - o[next]);
    // Remove what goes, then insert what is new around what stays (never moving a kept node).
    const wantedNodes = new Set(nodes);
    for (const c of [...this.list.children]) if (!wantedNodes.has(c)) c.remove();
    let cur = this.list.firstElementChild;
    for (const n of nodes) {
      if (n === cur) cur = cur.nextElementSibling;
      else this.list.insertBefore(n, cur);
    }
    this.rows = keep;
    this.measure();
  }

  /** Reads the mounted rows' heights; a change rebuilds the offsets and lays out again next frame. */
  measure() {
    if (this.items.length <= this.all) return;
    let changed = false;
    let sum = 0;
    let count = 0;
    for (const [id, li] of this.rows) {
      const hgt = li.offsetHeight;
      if (!hgt) continue;
      if (this.heights.get(id) !== hgt) { this.heights.set(id, hgt); changed = true; }
      if (!li.classList.contains('selected')) { sum += hgt; count++; }
    }
    if (count) this.estimate = Math.round((this.estimate * 3 + sum / count) / 4);
    if (changed) {
      this.offsets = null;
      this.onScroll();
    }
  }
}
