// The proctor's live panel for one exam: counts by status, saves and submissions in the last
// minute, the grading backlog and who has gone quiet, from the exam's live stream.
//
// The stream is read with fetch() and a ReadableStream, so the request carries the access
// token in its Authorization header (EventSource can't send one, and a token in the URL would
// end up in logs). A stream that ends or goes quiet is reopened with back-off; if streaming
// keeps failing (a proxy that buffers it, say), the panel polls GET /live instead for a while.

import { api, openStream } from '../api.js';
import { formatTime, h, newId, replace } from '../dom.js';

const STALE_MS = 12000; // events come every ~2 s: this long without one, the stream is stuck
const BACKOFF_MS = [1000, 2000, 5000, 10000, 30000];
const FAILURES_BEFORE_POLLING = 3;
const POLL_MS = 5000;
const POLL_FOR_MS = 60000; // then streaming is tried again

const COUNTS = [
  ['eligible', 'may sit it'],
  ['not_started', 'not started'],
  ['in_progress', 'in progress'],
  ['submitted', 'submitted'],
  ['graded', 'graded'],
];

/** The panel for `examId`: {element, stop}. Call stop() when the page goes away. */
export function livePanel(examId) {
  const headingId = newId('live');
  const counts = h('ul', { class: 'counts' });
  const activity = h('ul', { class: 'counts' });
  const idle = h('div', {});
  const state = h('p', { class: 'muted small', role: 'status' });
  const element = h('section', { class: 'card live-panel', 'aria-labelledby': headingId },
    h('h2', { class: 'small-heading', id: headingId, text: 'Live' }),
    counts, activity, idle, state);

  let stopped = false;
  let controller = null;
  let timer = null;
  let failures = 0;
  let drawn = null;
  let mode = 'stream';

  function draw(view) {
    const { server_time: _at, ...rest } = view;
    const key = JSON.stringify(rest);
    if (key !== drawn) {
      drawn = key;
      replace(counts, COUNTS.map(([name, label]) => item(view.counts[name], label)));
      replace(activity,
        item(view.saves_last_minute, 'saving in the last minute'),
        item(view.submissions_last_minute, 'submitted in the last minute'),
        item(view.grading_backlog, 'waiting to be graded'));
      drawIdle(view);
    }
    setState(`${mode === 'poll' ? 'Polling' : 'Live'} · updated ${formatTime(Date.parse(view.server_time))}`);
  }

  function drawIdle(view) {
    if (!view.idle.length) {
      replace(idle, h('p', { class: 'muted', text: 'Nobody has gone quiet: every running attempt saved in the last 2 minutes.' }));
      return;
    }
    const more = view.idle_count - view.idle.length;
    replace(idle,
      h('h3', { class: 'small-heading', text: `No save for 2 minutes (${view.idle_count})` }),
      h('ul', { class: 'idle-list' }, view.idle.map((row) => h('li', {},
        h('a', { href: `#/admin/people?q=${encodeURIComponent(row.student_email)}`, text: row.student_name }),
        h('span', { class: 'muted small', text: ` ${row.student_email} · last saved ${formatTime(Date.parse(row.last_saved_at))}` })))),
      more > 0 ? h('p', { class: 'muted small', text: `and ${more} more` }) : null);
  }

  function setState(text) {
    if (state.textContent !== text) state.textContent = text;
  }

  function later(fn, ms) {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(fn, ms);
  }

  async function stream() {
    mode = 'stream';
    controller = new AbortController();
    let stale = null;
    let events = 0;
    let retryMs = 2000; // the server's `retry:` says how soon to come back after an end
    const watchdog = () => { clearTimeout(stale); stale = setTimeout(() => controller.abort(), STALE_MS); };
    try {
      watchdog();
      const response = await openStream(`/exams/${examId}/live/stream`, { signal: controller.signal });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        watchdog();
        buffer += value;
        const blocks = buffer.split('\n\n');
        buffer = blocks.pop();
        for (const block of blocks) {
          const retry = /^retry: ?(\d+)$/m.exec(block);
          if (retry) retryMs = Math.min(Number(retry[1]), 30000);
          const event = parse(block);
          if (event?.name === 'live') { events += 1; failures = 0; draw(event.data); }
          if (event?.name === 'error') {
            // Mid-stream the token expired or was revoked: reopening refreshes it, or ends
            // the session (api.js). Anything else (the exam is gone) stops the panel.
            if (event.data.code === 401) return later(stream, 0);
            return setState(`The live view stopped: ${event.data.message}`);
          }
        }
      }
      if (!events) failures += 1; // it ended without a single event: don't spin
    } catch (err) {
      if (stopped) return;
      if (err.name === 'ApiError' && [401, 403, 404].includes(err.status)) {
        return setState(`The live view stopped: ${err.message}`);
      }
      failures += 1;
    } finally {
      clearTimeout(stale);
      controller.abort(); // whatever is left of this response is not read
    }
    if (stopped) return;
    if (failures >= FAILURES_BEFORE_POLLING) return poll(Date.now() + POLL_FOR_MS);
    if (!failures) return later(stream, retryMs); // it ended after its lifetime: come back
    const wait = BACKOFF_MS[Math.min(failures, BACKOFF_MS.length) - 1];
    setState(`Reconnecting in ${Math.round(wait / 1000)} s…`);
    later(stream, wait);
  }

  async function poll(until) {
    mode = 'poll';
    try {
      draw(await api('GET', `/exams/${examId}/live`));
    } catch (err) {
      if (stopped) return;
      setState('The live view cannot be reached; trying again…');
    }
    if (Date.now() >= until) { failures = 0; later(stream, 0); } else later(() => poll(until), POLL_MS);
  }

  stream();
  return {
    element,
    stop() {
      stopped = true;
      clearTimeout(timer);
      controller?.abort();
    },
  };
}

function item(n, label) {
  return h('li', {}, h('strong', { text: String(n) }), ` ${label}`);
}

/** One server-sent event ({name, data}) from its block of lines, or null. */
function parse(block) {
  let name = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) name = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  if (!data.length) return null;
  try {
    return { name, data: JSON.parse(data.join('\n')) };
  } catch {
    return null;
  }
}
