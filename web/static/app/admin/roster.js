// The live roster: every attempt with its status, time left and score, refreshed every few
// seconds while the page is open, with result downloads and the exam-day actions (extend,
// force submit, reopen one attempt; force submit them all).

import { api, fetchAll } from '../api.js';
import { formatDateTime, formatDuration, formatTime, h, replace, score, table } from '../dom.js';
import { forceSubmitAll, rowActions } from './attempt_actions.js';
import { downloadButton, every, examTabs, statusPill } from './common.js';
import { livePanel } from './live_panel.js';

const REFRESH_MS = 3000;
const REASONS = { timeout: 'time ran out', admin: 'submitted by an admin' };
const FLAGS = { concurrent_devices: 'two devices', fast_high_score: 'fast high score', similar_answers: 'similar answers' };

export async function render(main, ctx) {
  const id = ctx.params[0];
  const exam = await api('GET', `/exams/${id}`);
  ctx.setTitle(`Roster: ${exam.title}`);
  const errors = h('div', { class: 'form-errors' });
  const summary = h('p', { class: 'summary', role: 'status', 'aria-live': 'polite' });
  const updated = h('p', { class: 'muted small' });
  const body = h('div', {});
  let rows = [];
  let fetchedAt = performance.now();
  let drawn = null; // what the table shows; redrawn only on a change, so focus stays put

  function timeLeft(row) {
    if (row.status !== 'in_progress') return '—';
    const elapsed = (performance.now() - fetchedAt) / 1000; // counts down between refreshes
    return formatDuration(Math.max(0, row.time_remaining_seconds - elapsed));
  }

  function draw() {
    const counts = { in_progress: 0, submitted: 0, graded: 0 };
    for (const row of rows) counts[row.status] = (counts[row.status] || 0) + 1;
    const text = `${rows.length} attempts: ${counts.in_progress} in progress, ${counts.submitted} submitted, ${counts.graded} graded.`;
    if (summary.textContent !== text) summary.textContent = text; // announced only when it changes
    replace(body, table('Attempts', [
      ['Student', (r) => h('span', {}, r.student_name, h('br'), h('span', { class: 'muted small', text: r.student_email }))],
      ['Attempt', (r) => String(r.attempt_number)],
      ['Status', (r) => [statusPill(r.status), REASONS[r.submit_reason] ? h('span', { class: 'muted small', text: ` (${REASONS[r.submit_reason]})` }) : null]],
      ['Time left', (r) => h('span', { class: 'time-left', text: timeLeft(r) })],
      ['Score', (r) => [score(r.score, r.max_score), r.pending_manual ? h('span', { class: 'muted small', text: ` (${r.pending_manual} to grade)` }) : null]],
      ['Last activity', (r) => formatDateTime(r.last_activity_at)],
      ['Flags', (r) => (r.flags?.length ? h('a', { href: `#/admin/exams/${id}/analysis`, class: 'pill pending', text: r.flags.map((f) => FLAGS[f] || f).join(', ') }) : '—')],
      ['Actions', (r) => (exam.status === 'published' ? rowActions(r, errors, load) : '—')],
    ], rows, { empty: 'Nobody has started this exam yet.' }));
  }

  async function load() {
    rows = await fetchAll(`/exams/${id}/attempts`);
    fetchedAt = performance.now();
    updated.textContent = `Updated ${formatTime(Date.now())}; refreshes every ${REFRESH_MS / 1000} seconds.`;
    const key = JSON.stringify(rows.map((r) => [r.id, r.status, r.score, r.pending_manual, r.last_activity_at, r.deadline, r.flags]));
    if (key !== drawn) draw();
    drawn = key;
  }

  await load();
  const live = livePanel(id);
  replace(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/admin/exams', text: 'Exams' })),
    h('h1', { text: `Roster: ${exam.title}` }),
    examTabs(id, 'roster'),
    h('div', { class: 'page-head' }, summary, h('div', { class: 'actions' },
      exam.status === 'published' ? h('button', { type: 'button', class: 'danger', text: 'Force submit all', onclick: () => {
        forceSubmitAll(id, rows.filter((r) => r.status === 'in_progress').length, errors, load);
      } }) : null,
      downloadButton('Results (.xlsx)', `/exams/${id}/results.xlsx`, 'results.xlsx', errors),
      downloadButton('Results (.csv)', `/exams/${id}/results.csv`, 'results.csv', errors))),
    errors, live.element, body, updated);

  const stopRefresh = every(REFRESH_MS, load);
  const countdown = setInterval(() => {
    for (const [index, cell] of [...body.querySelectorAll('.time-left')].entries()) {
      if (rows[index]) cell.textContent = timeLeft(rows[index]);
    }
  }, 1000);
  return () => { stopRefresh(); clearInterval(countdown); live.stop(); };
}
