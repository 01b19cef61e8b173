// Taking an exam: one page with every question, a countdown on the server's clock,
// autosave with a visible badge, warnings before the end, and submit (by the student, or
// by itself when time runs out).

import { ApiError, api, retryDelay } from '../api.js';
import { secondsUntil, syncClock } from '../clock.js';
import { SaveQueue } from '../savequeue.js';
import { announce, confirmDialog, formatDuration, formatTime, h, newId, notice, points, replace, sleep } from '../dom.js';

const WARNINGS = [[600, '10 minutes left.'], [300, '5 minutes left.'], [60, '1 minute left.']];
const DRIFT_SECONDS = 2; // the server's time left differs more: the deadline moved (extra time)
// While the exam runs the page asks the cheap status endpoint (mostly 304) whether an admin
// changed the time or submitted the attempt; a little jitter spreads a class's polls.
const STATUS_POLL_MS = 15000;

export async function render(main, ctx) {
  const id = ctx.params[0];
  const loaded = await api('GET', `/attempts/${id}`, { full: true });
  const attempt = loaded.data;
  if (attempt.status !== 'in_progress') return ctx.go(`#/result/${id}`, { replace: true });
  syncClock(attempt.server_time, loaded.sentAt, loaded.receivedAt);
  const exam = await api('GET', `/exams/${attempt.exam_id}`).catch(() => null);
  const title = exam?.title || 'Exam';
  ctx.setTitle(title);

  const queue = new SaveQueue(id);
  const answers = { ...attempt.answers };
  for (const [questionId, entry] of queue.pending) answers[questionId] = entry.response; // newer than the server's
  let deadline = Date.parse(attempt.deadline);
  let submitting = false;
  let ticker = null;

  // -- status bar: timer, save badge, submit -----------------------------------------
  const timer = h('span', { class: 'timer-value', text: '' });
  const timerBox = h('div', { class: 'timer', role: 'timer', 'aria-label': 'Time left' }, h('span', { class: 'label', text: 'Time left ' }), timer);
  const warning = h('p', { class: 'time-warning', role: 'alert' });
  const badge = h('p', { class: 'save-badge', role: 'status', 'aria-live': 'polite' });
  const progress = h('span', { class: 'answered' });
  const submitButton = h('button', { type: 'button', class: 'primary', text: 'Submit exam', onclick: () => confirmSubmit() });
  const errors = h('div', { class: 'form-errors' });

  function showBadge(state) {
    badge.className = `save-badge ${state}`;
    const text = {
      idle: 'No changes yet',
      pending: 'Saving…',
      saving: 'Saving…',
      saved: queue.savedAt ? `Saved ${formatTime(queue.savedAt)}` : 'All answers saved',
      offline: 'Offline — retrying',
      busy: 'Server busy, retrying…',
      error: `Not saved: ${queue.lastError}`,
    }[state];
    badge.textContent = text;
  }
  // A 503 overloaded keeps the answers pending: say so calmly, it is not an error.
  queue.addEventListener('state', (e) => showBadge(e.detail.busy ? 'busy' : e.detail.state));
  queue.addEventListener('saved', (e) => {
    const drift = Math.abs(e.detail.time_remaining_seconds - secondsUntil(deadline));
    if (drift > DRIFT_SECONDS && !submitting) resync();
  });
  queue.addEventListener('closed', () => finished('This attempt is closed: time is up or it was submitted.'));
  showBadge(queue.pending.size ? 'pending' : 'idle');

  // -- questions ----------------------------------------------------------------------
  const questionList = attempt.questions.slice().sort((a, b) => a.position - b.position);
  const inputs = [];
  function changed(questionId, response) {
    if (submitting) return;
    answers[questionId] = response;
    queue.set(questionId, response);
    countAnswered();
  }
  function countAnswered() {
    const n = questionList.filter((q) => answers[q.id] !== null && answers[q.id] !== undefined).length;
    progress.textContent = `${n} of ${questionList.length} answered`;
    return n;
  }
  const blocks = questionList.map((q, index) => questionBlock(q, index, answers[q.id], changed, inputs));
  countAnswered();

  replace(main,
    h('div', { class: 'exam-bar' },
      h('div', { class: 'exam-bar-inner' }, timerBox, badge, progress, submitButton)),
    h('h1', { text: title }),
    warning,
    errors,
    h('form', { class: 'questions', novalidate: true, onsubmit: (e) => e.preventDefault() }, blocks),
    h('div', { class: 'actions end' }, h('button', { type: 'button', class: 'primary', text: 'Submit exam', onclick: () => confirmSubmit() })));

  // -- countdown ----------------------------------------------------------------------
  let lastLeft = secondsUntil(deadline);
  function tick() {
    const left = secondsUntil(deadline);
    timer.textContent = formatDuration(Math.ceil(left));
    for (const [threshold, message] of WARNINGS) {
      if (lastLeft > threshold && left <= threshold) {
        warning.textContent = message;
        timerBox.classList.add(threshold <= 60 ? 'critical' : 'warn');
      }
    }
    if (left <= 300) timerBox.classList.add('warn');
    lastLeft = left;
    if (left <= 0) {
      clearInterval(ticker);
      submit(true);
    }
  }
  ticker = setInterval(tick, 250);
  tick();

  async function resync() {
    try {
      const fresh = await api('GET', `/attempts/${id}`, { full: true });
      if (fresh.data.status !== 'in_progress') return finished('This attempt was submitted.');
      syncClock(fresh.data.server_time, fresh.sentAt, fresh.receivedAt);
      const moved = Date.parse(fresh.data.deadline);
      if (moved > deadline + 1000) announce(`Your time was extended: ${formatDuration(secondsUntil(moved))} left.`);
      deadline = moved;
      lastLeft = secondsUntil(deadline);
    } catch {
      // Offline: keep counting on the clock we have.
    }
  }
  // -- the teacher's changes: more time, less time, a forced submission ---------------------
  let statusEtag = null;
  let statusTimer = null;
  async function pollStatus() {
    try {
      const reply = await api('GET', `/attempts/${id}/status`, {
        headers: statusEtag ? { 'If-None-Match': statusEtag } : {}, full: true,
      });
      if (reply.status === 200) {
        statusEtag = reply.headers.get('ETag');
        const status = reply.data;
        if (status.status !== 'in_progress') {
          const why = status.submit_reason === 'admin' ? 'Your teacher submitted this attempt.' : 'This attempt was submitted.';
          return finished(`${why} Your saved answers were kept.`);
        }
        const moved = Date.parse(status.deadline);
        if (Number.isFinite(moved) && moved !== deadline) {
          const more = moved > deadline;
          deadline = moved;
          lastLeft = secondsUntil(deadline);
          warning.textContent = more
            ? `Your time was extended: ${formatDuration(Math.ceil(secondsUntil(moved)))} left.`
            : `Your deadline changed: ${formatDuration(Math.ceil(secondsUntil(moved)))} left.`;
          announce(warning.textContent);
          timerBox.classList.remove('warn', 'critical');
          tick();
        }
      }
    } catch {
      // Offline: keep counting on the deadline we have; the next poll catches up.
    }
    if (!submitting) statusTimer = setTimeout(pollStatus, STATUS_POLL_MS + Math.random() * 2000);
  }
  statusTimer = setTimeout(pollStatus, STATUS_POLL_MS);

  const onVisible = () => { if (document.visibilityState === 'visible') resync(); };
  document.addEventListener('visibilitychange', onVisible);
  window.addEventListener('online', resync);

  // -- submit -------------------------------------------------------------------------
  async function confirmSubmit() {
    if (submitting) return;
    const answered = countAnswered();
    const missing = questionList.length - answered;
    const ok = await confirmDialog({
      title: 'Submit your exam?',
      body: [
        `You answered ${answered} of ${questionList.length} questions.${missing ? ` ${missing} ${missing === 1 ? 'is' : 'are'} unanswered.` : ''}`,
        'You cannot change your answers after submitting.',
      ],
      confirm: 'Submit',
      cancel: 'Keep working',
    });
    if (ok) submit(false);
  }

  async function submit(timeUp) {
    if (submitting) return;
    submitting = true;
    for (const input of inputs) input.disabled = true;
    for (const button of main.querySelectorAll('button')) button.disabled = true;
    if (timeUp) {
      warning.textContent = 'Time is up. Submitting your answers…';
      timer.textContent = '0:00';
    }
    queue.stop();
    await queue.inFlight;
    const batch = queue.entries();
    for (let failures = 0; ; failures += 1) {
      try {
        await api('POST', `/attempts/${id}/submit`, { body: batch.length ? { answers: batch } : {} });
        break;
      } catch (err) {
        // Already submitted, or past deadline + grace: the server has submitted what it had.
        if (err instanceof ApiError && err.status === 409) break;
        if (err instanceof ApiError && err.status < 500 && err.status !== 429) {
          replace(errors, notice('error', `Could not submit: ${err.message}`));
          submitting = false;
          return;
        }
        const busy = err instanceof ApiError && err.busy;
        badge.className = `save-badge ${busy ? 'busy' : 'offline'}`;
        badge.textContent = busy ? 'Server busy, retrying submit…' : 'Offline — retrying submit';
        await sleep(retryDelay(failures + 1, err.retryAfter));
      }
    }
    queue.discard();
    ctx.go(`#/result/${id}`);
  }

  function finished(message) {
    if (submitting) return;
    submitting = true;
    queue.stop();
    ctx.go(`#/result/${id}`);
    announce(message);
  }

  ctx.setGuard(() => (!submitting && queue.hasUnsaved()
    ? 'Some answers are not saved yet. They are kept on this device and sent when you return.'
    : null));
  queue.flush(); // answers left unsaved last time go now
  return () => {
    clearInterval(ticker);
    clearTimeout(statusTimer);
    document.removeEventListener('visibilitychange', onVisible);
    window.removeEventListener('online', resync);
    queue.flush();
    queue.stop();
  };
}

function questionBlock(q, index, value, changed, inputs) {
  const promptId = newId('prompt');
  const block = h('fieldset', { class: 'question card', id: `q-${q.id}`, 'aria-describedby': promptId },
    h('legend', {}, `Question ${index + 1}`, h('span', { class: 'points', text: ` (${points(q.points)})` })),
    h('p', { class: 'prompt', id: promptId, text: q.prompt }));
  const name = `q-${q.id}`;
  const track = (el) => { inputs.push(el); return el; };

  const choice = (type, optionId, text, checked, onchange) => {
    const input = track(h('input', { type, name, value: optionId, id: newId('opt'), checked, onchange }));
    return h('div', { class: 'choice' }, input, h('label', { for: input.id, text }));
  };
  if (q.type === 'single_choice' || q.type === 'true_false') {
    const options = q.type === 'true_false'
      ? [{ id: 'true', text: 'True', value: true }, { id: 'false', text: 'False', value: false }]
      : q.options.map((o) => ({ ...o, value: o.id }));
    block.append(h('div', { class: 'choices' }, options.map((o) => choice('radio', o.id, o.text,
      value === o.value, () => changed(q.id, o.value)))));
    block.append(h('button', { type: 'button', class: 'link clear', text: 'Clear answer', onclick: () => {
      for (const input of block.querySelectorAll('input')) input.checked = false;
      changed(q.id, null);
    } }));
  } else if (q.type === 'multiple_choice') {
    const chosen = new Set(Array.isArray(value) ? value : []);
    const update = () => {
      const ids = [...block.querySelectorAll('input:checked')].map((i) => i.value);
      changed(q.id, ids.length ? ids : null);
    };
    block.append(h('p', { class: 'hint', text: 'Choose all that apply.' }),
      h('div', { class: 'choices' }, q.options.map((o) => choice('checkbox', o.id, o.text, chosen.has(o.id), update))));
  } else if (q.type === 'numeric') {
    const error = h('p', { class: 'field-error', id: newId('err'), hidden: true });
    const input = track(h('input', { type: 'text', inputmode: 'decimal', id: newId('num'), autocomplete: 'off',
      value: value ?? '', 'aria-describedby': error.id }));
    input.addEventListener('input', () => {
      const text = input.value.trim().replace(',', '.');
      const number = Number(text);
      const bad = text !== '' && !Number.isFinite(number);
      error.hidden = !bad;
      error.textContent = bad ? 'Enter a number, like 42 or 3.5.' : '';
      input.toggleAttribute('aria-invalid', bad);
      if (!bad) changed(q.id, text === '' ? null : number);
    });
    block.append(h('div', { class: 'field' }, h('label', { for: input.id, text: 'Your answer (a number)' }), input, error));
  } else {
    const essay = q.type === 'essay';
    const input = track(essay
      ? h('textarea', { id: newId('txt'), rows: 8, maxlength: 20000, value: value ?? '' })
      : h('input', { type: 'text', id: newId('txt'), autocomplete: 'off', value: value ?? '' }));
    const counter = essay ? h('p', { class: 'hint', id: newId('count') }) : null;
    const count = () => { if (counter) counter.textContent = `${input.value.length.toLocaleString()} / 20,000 characters`; };
    if (counter) input.setAttribute('aria-describedby', counter.id);
    input.addEventListener('input', () => {
      count();
      changed(q.id, input.value.trim() === '' ? null : input.value);
    });
    count();
    block.append(h('div', { class: 'field wide' }, h('label', { for: input.id, text: 'Your answer' }), input, counter));
  }
  return block;
}
