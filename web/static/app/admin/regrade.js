// Regrade an exam with the current answer keys: preview first (dry run: the scores that
// would change), then for real, with a progress bar fed by the job's counters. A finished
// real regrade can be rolled back (a new job, followed the same way), and so can a rollback.
// The last real job's id is remembered per exam, so its report and "Roll back" survive a reload.

import { ApiError, api, fetchAll } from '../api.js';
import { confirmDialog, h, notice, replace, showError, sleep, table } from '../dom.js';
import { examTabs, STATUS_LABELS } from './common.js';

const POLL_MS = 1000;
const LAST_JOB = (examId) => `exam.regrade.last-job:${examId}`;

export async function render(main, ctx) {
  const id = ctx.params[0];
  const [exam, roster] = await Promise.all([
    api('GET', `/exams/${id}`),
    fetchAll(`/exams/${id}/attempts`),
  ]);
  ctx.setTitle(`Regrade: ${exam.title}`);
  const students = new Map(roster.map((a) => [a.id, `${a.student_name} (attempt ${a.attempt_number})`]));
  const errors = h('div', { class: 'form-errors' });
  const progressBar = h('progress', { max: '1', value: '0', id: 'regrade-progress' });
  const progressText = h('p', { class: 'progress-text', role: 'status', 'aria-live': 'polite' });
  const progressBox = h('div', { class: 'progress-box', hidden: true },
    h('label', { for: 'regrade-progress', text: 'Progress' }), progressBar, progressText);
  const report = h('div', { class: 'regrade-report' });
  let stopped = false;

  const preview = h('button', { type: 'button', class: 'secondary', text: 'Preview changes (dry run)' });
  const run = h('button', { type: 'button', class: 'primary', text: 'Regrade now' });
  const replaceManual = h('input', { type: 'checkbox', id: 'regrade-replace-manual' });

  async function start(dryRun) {
    if (!dryRun && !(await confirmDialog({
      title: 'Regrade every graded attempt?',
      body: 'Scores change where the keys changed, and students whose score changes are told.',
      confirm: 'Regrade',
    }))) return;
    preview.disabled = true;
    run.disabled = true;
    showError(errors, null);
    replace(report);
    try {
      const body = { dry_run: dryRun, replace_manual: replaceManual.checked };
      const accepted = await api('POST', `/exams/${id}/regrade`, { body });
      if (!dryRun) remember(accepted.job_id);
      progressBox.hidden = false;
      await follow(accepted.job_id, dryRun);
    } catch (err) {
      showError(errors, err instanceof ApiError && err.status === 409 ? new Error('A regrade or rollback of this exam is already running.') : err);
    } finally {
      preview.disabled = false;
      run.disabled = false;
    }
  }

  async function rollBack(job) {
    const what = job.kind === 'rollback' ? 'rollback' : 'regrade';
    if (!(await confirmDialog({
      title: `Roll back this ${what}?`,
      body: [`Every score the ${what} changed goes back to what it was before it. Grades given by hand since are kept.`,
        'Students whose score changes are told.'],
      confirm: 'Roll back',
      danger: true,
    }))) return;
    preview.disabled = true;
    run.disabled = true;
    showError(errors, null);
    replace(report);
    try {
      const accepted = await api('POST', `/jobs/${job.id}/rollback`);
      remember(accepted.job_id);
      progressBox.hidden = false;
      await follow(accepted.job_id, false);
    } catch (err) {
      showError(errors, err);  // 409: the server says why (still running, rolled back already...)
    } finally {
      preview.disabled = false;
      run.disabled = false;
    }
  }

  function remember(jobId) {
    try { localStorage.setItem(LAST_JOB(id), jobId); } catch { /* private mode: no memory */ }
  }

  async function showLast() {
    let jobId;
    try { jobId = localStorage.getItem(LAST_JOB(id)); } catch { return; }
    if (!jobId) return;
    try {
      const job = await api('GET', `/jobs/${jobId}`);
      progressBox.hidden = false;
      await follow(job.id, job.dry_run);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) localStorage.removeItem(LAST_JOB(id));
      else showError(errors, err);
    }
  }

  async function follow(jobId, dryRun) {
    let job;
    for (;;) {
      if (stopped) return;
      try {
        job = await api('GET', `/jobs/${jobId}`);
      } catch (err) {
        if (!(err.name === 'NetworkError' || err.status >= 500)) throw err;
        await sleep(POLL_MS * 3);
        continue;
      }
      progressBar.max = Math.max(1, job.total);
      progressBar.value = job.done + job.failed;
      progressText.textContent = `${STATUS_LABELS[job.status] || job.status}: ${job.done + job.failed} of ${job.total} attempts${job.failed ? `, ${job.failed} failed` : ''}.`;
      if (job.status === 'succeeded' || job.status === 'failed') break;
      await sleep(POLL_MS);
    }
    showReport(job, dryRun || job.report?.dry_run);
  }

  function showReport(job, dryRun) {
    const changes = job.report?.changes || [];
    const failures = job.report?.failures || [];
    const kept = job.report?.kept_manual || [];
    const rollback = job.kind === 'rollback';
    const headline = dryRun
      ? `Preview: ${changes.length} of ${job.total} scores would change. Nothing was changed.`
      : `${rollback ? 'Rollback' : 'Regrade'} finished: ${changes.length} of ${job.total} scores changed.`;
    const undo = !dryRun && !job.rolled_back_by
      ? h('button', { type: 'button', class: 'danger', text: rollback ? 'Roll back this rollback' : 'Roll back', onclick: () => rollBack(job) })
      : null;
    const undone = job.rolled_back_by
      ? h('p', { class: 'muted', text: `This ${rollback ? 'rollback' : 'regrade'} was rolled back.` })
      : null;
    replace(report,
      notice(job.status === 'failed' ? 'error' : dryRun ? 'info' : 'ok', headline),
      undo || undone ? h('div', { class: 'actions' }, undo, undone) : null,
      table(dryRun ? 'Scores that would change' : 'Scores that changed', [
        ['Student', (c) => students.get(c.attempt_id) || c.attempt_id],
        ['Old score', (c) => String(Number(c.old_score))],
        ['New score', (c) => String(Number(c.new_score))],
        ['Change', (c) => {
          const delta = Math.round((Number(c.new_score) - Number(c.old_score)) * 100) / 100;
          return h('span', { class: delta >= 0 ? 'delta up' : 'delta down', text: `${delta > 0 ? '+' : delta < 0 ? '−' : ''}${Math.abs(delta)}` });
        }],
      ], changes, { empty: 'No score changes.' }),
      failures.length ? table('Attempts that failed', [
        ['Attempt', (f) => students.get(f.attempt_id) || f.attempt_id],
        ['Error', (f) => f.error || ''],
      ], failures) : null,
      kept.length ? table(rollback ? 'Grades given by hand since, kept' : 'Grades given by hand, kept', [
        ['Student', (k) => students.get(k.attempt_id) || k.attempt_id],
        ['Question', (k) => k.question_id],
      ], kept) : null);
  }

  preview.addEventListener('click', () => start(true));
  run.addEventListener('click', () => start(false));

  replace(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/admin/exams', text: 'Exams' })),
    h('h1', { text: `Regrade: ${exam.title}` }),
    examTabs(id, 'regrade'),
    h('section', { class: 'card' },
      h('p', { text: 'After you fix an answer key, regrade recomputes every graded attempt of this exam with the current keys. Grades given by hand are kept unless you choose to replace them; essays always keep theirs.' }),
      h('p', { class: 'check' }, replaceManual,
        h('label', { for: 'regrade-replace-manual', text: ' Also replace grades given by hand to automatically graded questions' })),
      h('p', { class: 'muted', text: `${roster.filter((a) => a.status === 'graded').length} graded attempts.` }),
      errors,
      h('div', { class: 'actions' }, preview, run),
      progressBox),
    report);
  showLast();
  return () => { stopped = true; };
}
