// Exam-day actions on one attempt of the roster (Extend, Force submit, Reopen) and on the
// whole exam (Force submit all). Each asks first, then tells the result in the page's
// status line; the roster refreshes itself afterwards.

import { api } from '../api.js';
import { announce, confirmDialog, field, formDialog, h, notice, replace, showError } from '../dom.js';

const MAX_MINUTES = 1440; // the API takes at most a day at once

function minutesField(label, value) {
  return field(label, h('input', { type: 'number', min: '1', max: String(MAX_MINUTES), step: '1', value: String(value), inputmode: 'numeric' }),
    { hint: `Whole minutes, 1 to ${MAX_MINUTES}.` });
}

function minutesOf(input) {
  const minutes = Number(input.control.value);
  const ok = Number.isInteger(minutes) && minutes >= 1 && minutes <= MAX_MINUTES;
  input.setError(ok ? '' : `Enter whole minutes between 1 and ${MAX_MINUTES}.`);
  return ok ? minutes : null;
}

async function act(errors, done, request, success) {
  try {
    const result = await request();
    replace(errors, notice('ok', success(result))); // seen, and announced (role=status)
  } catch (err) {
    showError(errors, err);
  }
  await done();
}

export async function extendAttempt(row, errors, done) {
  const minutes = minutesField('Extra minutes', 5);
  const ok = await formDialog({
    title: `More time for ${row.student_name}`,
    fields: [minutes, h('p', { class: 'hint', text: 'Added to this attempt only; it may run past the exam\u2019s close. The student\u2019s timer shows it within seconds.' })],
    confirm: 'Add time',
    check: () => minutesOf(minutes) !== null,
  });
  if (!ok) return;
  await act(errors, done,
    () => api('POST', `/attempts/${row.id}/extend`, { body: { extra_seconds: minutesOf(minutes) * 60 } }),
    () => `Added ${minutesOf(minutes)} minutes for ${row.student_name}.`);
}

export async function forceSubmitAttempt(row, errors, done) {
  const ok = await confirmDialog({
    title: `Submit ${row.student_name}\u2019s attempt now?`,
    body: ['Their saved answers are submitted and graded. They can no longer change them unless you reopen the attempt.'],
    confirm: 'Force submit',
    danger: true,
  });
  if (!ok) return;
  await act(errors, done, () => api('POST', `/attempts/${row.id}/force-submit`, { body: {} }),
    () => `Submitted ${row.student_name}\u2019s attempt.`);
}

export async function reopenAttempt(row, errors, done) {
  const minutes = minutesField('Minutes from now', 10);
  const reason = field('Reason', h('input', { type: 'text', maxlength: '500', autocomplete: 'off' }),
    { hint: 'Kept in the attempt\u2019s history and shown to the student.' });
  const check = () => {
    const text = reason.control.value.trim();
    reason.setError(text ? '' : 'Say why the attempt is reopened.');
    return minutesOf(minutes) !== null && !!text;
  };
  const ok = await formDialog({
    title: `Reopen ${row.student_name}\u2019s attempt`,
    fields: [minutes, reason, h('p', { class: 'hint', text: 'Answers are kept; the score is withdrawn until the attempt is submitted and graded again.' })],
    confirm: 'Reopen',
    check,
  });
  if (!ok) return;
  await act(errors, done,
    () => api('POST', `/attempts/${row.id}/reopen`, { body: { extra_seconds: minutesOf(minutes) * 60, reason: reason.control.value.trim() } }),
    () => `Reopened ${row.student_name}\u2019s attempt for ${minutesOf(minutes)} minutes.`);
}

/** The buttons for one roster row, by its status. */
export function rowActions(row, errors, done) {
  const button = (text, onclick, cls = 'secondary small') => h('button', {
    type: 'button', class: cls, text, 'aria-label': `${text}: ${row.student_name}`, onclick: () => onclick(row, errors, done),
  });
  if (row.status === 'in_progress') {
    return h('div', { class: 'row-actions' }, button('Extend', extendAttempt), button('Force submit', forceSubmitAttempt, 'danger small'));
  }
  return h('div', { class: 'row-actions' }, button('Reopen', reopenAttempt));
}

/** Submit every running attempt of the exam, as a job; follows it to the end. */
export async function forceSubmitAll(examId, running, errors, done) {
  const ok = await confirmDialog({
    title: 'Submit every running attempt now?',
    body: [`${running} attempt${running === 1 ? ' is' : 's are'} in progress. Each is submitted with its saved answers and graded.`,
      'Students who have not started can still start while the exam is open: change the close time to end the exam.'],
    confirm: 'Force submit all',
    danger: true,
  });
  if (!ok) return;
  try {
    const accepted = await api('POST', `/exams/${examId}/force-submit`, { body: {} });
    announce('Submitting every running attempt\u2026');
    for (;;) {
      const job = await api('GET', `/jobs/${accepted.job_id}`);
      if (job.status === 'succeeded' || job.status === 'failed') {
        replace(errors, notice(job.status === 'succeeded' ? 'ok' : 'error',
          job.status === 'succeeded' ? `Submitted ${job.done} running attempts.` : 'The force-submit failed; try again.'));
        break;
      }
      await new Promise((resolve) => { setTimeout(resolve, 1000); });
    }
  } catch (err) {
    showError(errors, err);
  }
  await done();
}
