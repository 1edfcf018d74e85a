// The outbox's durable half: one IndexedDB object store of queued saves, keyed by save id and
// indexed by owner (server origin and user id). Every call is one transaction that resolves
// when the browser reports it committed, so a caller that awaited a write knows the entry
// survives a reload or a crash. Errors are the browser's own (a full disk rejects with a
// DOMException named "QuotaExceededError"). Written directly rather than vendored: the outbox
// needs five calls.

const DB = 'fangyan';
const STORE = 'outbox';

let opening = null;

function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => {
        const os = req.result.createObjectStore(STORE, { keyPath: 'save_id' });
        os.createIndex('owner', 'owner');
      };
      req.onsuccess = () => {
        // Another tab upgrading the schema asks us to let go.
        req.result.onversionchange = () => { req.result.close(); opening = null; };
        resolve(req.result);
      };
      req.onerror = () => { opening = null; reject(req.error); };
      req.onblocked = () => reject(new Error('the outbox database is blocked by another tab'));
    });
  }
  return opening;
}

/** Runs `work(store)` in one transaction; resolves with its result once the transaction commits. */
async function transaction(mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    let result;
    let tx;
    try {
      tx = db.transaction(STORE, mode);
      result = work(tx.objectStore(STORE));
    } catch (e) {
      if (tx) try { tx.abort(); } catch { /* already finished */ }
      reject(e);
      return;
    }
    tx.oncomplete = () => resolve(result && 'value' in result ? result.value : result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new DOMException('transaction aborted', 'AbortError'));
  });
}

/** Reads a request's result into `{value}` when it succeeds (inside a transaction). */
function into(req, map = (v) => v) {
  const box = { value: undefined };
  req.onsuccess = () => { box.value = map(req.result); };
  return box;
}

/** Every entry of `owner`, oldest first. */
export function all(owner) {
  return transaction('readonly', (os) => into(os.index('owner').getAll(owner), (list) => list.sort((a, b) => a.seq - b.seq)));
}

/** Stores (or replaces) one entry. */
export function put(entry) {
  return transaction('readwrite', (os) => { os.put(entry); });
}

/** Deletes one entry. */
export function remove(saveId) {
  return transaction('readwrite', (os) => { os.delete(saveId); });
}

/**
 * Changes one entry in place: `change(entry)` returns the entry to store, or null to leave it.
 * Resolves with what was stored (undefined when the entry is gone).
 */
export function update(saveId, change) {
  return transaction('readwrite', (os) => {
    const box = { value: undefined };
    const req = os.get(saveId);
    req.onsuccess = () => {
      const next = change(req.result);
      if (next) { os.put(next); box.value = next; }
    };
    return box;
  });
}

/** Applies `change(entry)` to every entry of `owner` that `match` selects, in one transaction. */
export function updateWhere(owner, match, change) {
  return transaction('readwrite', (os) => {
    const req = os.index('owner').openCursor(IDBKeyRange.only(owner));
    req.onsuccess = () => {
      const cur = req.result;
      if (!cur) return;
      if (match(cur.value)) cur.update(change(cur.value));
      cur.continue();
    };
  });
}
