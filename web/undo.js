// Undo and redo for the recording view. A step knows how to revert and re-apply itself, and
// does both through the server as new saves with their own save ids: the revision history
// only ever grows, nothing is rewritten. Typing coalesces: changes of one kind on one segment
// within PAUSE_MS form one step, as a text editor groups a burst of keystrokes.
// The stack owns no DOM and no API: the view supplies the steps.

const PAUSE_MS = 1000;
const LIMIT = 200;

export class UndoStack {
  constructor() {
    this.done = [];
    this.undone = [];
    this.busy = false;
  }

  /** Adds a step: {undo: () => Promise, redo: () => Promise}. Forgets what was undone. */
  push(step) {
    step.at = performance.now();
    this.done.push(step); // the step itself: its undo and redo read the fields coalescing updates
    this.undone = [];
    if (this.done.length > LIMIT) this.done.shift();
  }

  /**
   * A change of `key` (e.g. "text:12") from `before` to `after`, applied by `apply(value)`.
   * Extends the last step when it changed the same key a moment ago.
   */
  change(key, before, after, apply) {
    const last = this.done[this.done.length - 1];
    if (last && last.key === key && !last.sealed && performance.now() - last.at < PAUSE_MS && !this.undone.length) {
      last.after = after;
      last.at = performance.now();
      return;
    }
    const step = { key, before, after };
    step.undo = () => apply(step.before);
    step.redo = () => apply(step.after);
    this.push(step);
  }

  /** Ends the current typing burst: the next change starts a new step. */
  seal() {
    const last = this.done[this.done.length - 1];
    if (last) last.sealed = true;
  }

  /** Reverts the last step; false when there is none (or one is running). */
  async undo() { return this.move(this.done, this.undone, 'undo'); }

  /** Re-applies the last undone step. */
  async redo() { return this.move(this.undone, this.done, 'redo'); }

  async move(from, to, how) {
    if (this.busy || !from.length) return false;
    const step = from.pop();
    step.sealed = true;
    this.busy = true;
    try {
      await step[how]();
      to.push(step);
      return true;
    } catch (e) {
      from.push(step);
      throw e;
    } finally {
      this.busy = false;
    }
  }
}
