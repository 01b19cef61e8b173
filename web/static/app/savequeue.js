// Autosave for one attempt. Keeps the latest answer per question with a sequence number,
// sends the batch after a short pause in typing (and at least every 30 s while changes
// wait), retries failed saves with exponential back-off, and keeps unsaved answers in
// localStorage so a closed tab or a crash loses nothing. One request at a time.
//
// `seq` grows with every change and is based on the server clock, so it also grows across
// reloads and devices: a late retry of an older answer never overwrites a newer one.
//
// Events: 'state' (detail: {state, busy}) with state one of idle, pending, saving, saved,
// offline, error; 'saved' (detail: the server's reply); 'closed' (detail: {code}) when the
// server no longer accepts answers (time is up, or the attempt was submitted).
//
// A busy server (503 `overloaded`, 429) is not an error: the answers stay pending (and in
// localStorage), the state stays 'saving' with `busy` true (this.busy too), and the save is
// sent again after Retry-After times a random 1-2, backing off further while it lasts.

import { ApiError, NetworkError, api, retryDelay } from './api.js';
import { serverNow } from './clock.js';

export const DEBOUNCE_MS = 800;
export const MAX_WAIT_MS = 30000;
const SAVE_TIMEOUT_MS = 15000;

export class SaveQueue extends EventTarget {
  constructor(attemptId) {
    super();
    this.attemptId = attemptId;
    this.storageKey = `exam.unsaved.${attemptId}`;
    this.pending = new Map(Object.entries(this.readStorage()));
    this.lastSeq = Math.max(0, ...[...this.pending.values()].map((e) => e.seq));
    this.inFlight = null;
    this.timer = null;
    this.firstPendingAt = this.pending.size ? performance.now() : null;
    this.failures = 0;
    this.state = this.pending.size ? 'pending' : 'idle';
    this.savedAt = null;
    this.lastError = null;
    this.busy = false;
    this.stopped = false;
    this.onOnline = () => { if (this.failures) this.flush(); };
    this.onHidden = () => { if (document.visibilityState === 'hidden') this.flush(); };
    window.addEventListener('online', this.onOnline);
    document.addEventListener('visibilitychange', this.onHidden);
    // At least every 30 s, whatever the debounce is doing.
    this.ticker = setInterval(() => {
      if (this.pending.size && !this.failures) this.flush();
    }, MAX_WAIT_MS);
  }

  readStorage() {
    try {
      return JSON.parse(localStorage.getItem(this.storageKey)) || {};
    } catch {
      return {};
    }
  }

  persist() {
    try {
      if (this.pending.size) {
        localStorage.setItem(this.storageKey, JSON.stringify(Object.fromEntries(this.pending)));
      } else {
        localStorage.removeItem(this.storageKey);
      }
    } catch {
      // Storage full or disabled: the answers are still in memory and being sent.
    }
  }

  setState(state) {
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, busy: this.busy } }));
  }

  nextSeq() {
    this.lastSeq = Math.max(this.lastSeq + 1, Math.floor(serverNow()));
    return this.lastSeq;
  }

  /** Record a change; it is sent after a short pause (or with the retry already planned). */
  set(questionId, response) {
    if (this.stopped) return;
    this.pending.set(questionId, { response, seq: this.nextSeq() });
    this.persist();
    this.firstPendingAt ??= performance.now();
    if (this.failures) return; // a retry is scheduled; it carries this change too
    if (!this.inFlight) this.setState('pending');
    const waited = performance.now() - this.firstPendingAt;
    this.schedule(waited >= MAX_WAIT_MS ? 0 : DEBOUNCE_MS);
  }

  schedule(ms) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, ms);
  }

  /** The unsaved answers, as the API takes them. */
  entries() {
    return [...this.pending].map(([questionId, e]) => ({
      question_id: questionId, response: e.response, seq: e.seq,
    }));
  }

  hasUnsaved() {
    return this.pending.size > 0 || this.inFlight !== null;
  }

  /** Send what is pending now; resolves when this save (or the one in flight) settles. */
  flush() {
    if (this.stopped || this.inFlight || !this.pending.size) return this.inFlight || Promise.resolve();
    clearTimeout(this.timer);
    this.timer = null;
    const batch = this.entries();
    this.setState('saving');
    this.inFlight = this.send(batch).finally(() => { this.inFlight = null; this.afterSend(); });
    return this.inFlight;
  }

  async send(batch) {
    try {
      const reply = await api('PUT', `/attempts/${this.attemptId}/answers`, {
        body: { answers: batch }, timeout: SAVE_TIMEOUT_MS, busyRetries: 0, // retried here
      });
      this.failures = 0;
      this.lastError = null;
      this.busy = false;
      this.forget(batch);
      this.savedAt = Date.parse(reply.saved_at);
      this.dispatchEvent(new CustomEvent('saved', { detail: reply }));
    } catch (err) {
      this.failed(err, batch);
    }
  }

  failed(err, batch) {
    if (err instanceof ApiError && err.status === 409) {
      this.stop();
      this.dispatchEvent(new CustomEvent('closed', { detail: { code: err.code } }));
      return;
    }
    if (err instanceof ApiError && err.status === 422) {
      // The server will never take this batch; keeping it would retry forever.
      this.forget(batch);
      this.lastError = err.message;
      return;
    }
    if (err instanceof ApiError && err.status === 401) {
      this.lastError = 'Sign in again to keep saving. Your answers are kept on this device.';
      return;
    }
    // Anything else keeps the batch pending (and in localStorage) and tries again later.
    this.failures += 1;
    this.lastError = null;
    this.busy = err instanceof ApiError && err.busy;
    this.offline = !this.busy && (err instanceof NetworkError || (err instanceof ApiError && err.status >= 500));
    this.schedule(retryDelay(this.failures, err instanceof ApiError ? err.retryAfter : null));
  }

  afterSend() {
    if (this.stopped) return;
    if (this.lastError) this.setState('error');
    else if (this.failures) this.setState(this.offline ? 'offline' : 'saving');
    else if (this.pending.size) {
      this.firstPendingAt = performance.now();
      this.setState('pending');
      this.schedule(DEBOUNCE_MS);
    } else this.setState('saved');
  }

  /** Drop answers the server now has; a newer change to the same question stays. */
  forget(batch) {
    for (const answer of batch) {
      if (this.pending.get(answer.question_id)?.seq === answer.seq) this.pending.delete(answer.question_id);
    }
    if (!this.pending.size) this.firstPendingAt = null;
    this.persist();
  }

  /** Stop sending (submit takes over, or the attempt is closed); storage is kept. */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.ticker);
    window.removeEventListener('online', this.onOnline);
    document.removeEventListener('visibilitychange', this.onHidden);
  }

  /** Forget everything, storage included (after a successful submit). */
  discard() {
    this.stop();
    this.pending.clear();
    this.persist();
  }
}
