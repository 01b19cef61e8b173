// A student's exams: what is open, what is in progress (Resume), and results.

import { api, fetchAll } from '../api.js';
import { serverNow, syncClock } from '../clock.js';
import { confirmDialog, formatDateTime, h, humanDuration, notice, points, replace, score, showError } from '../dom.js';

function describe(exam, latest, now) {
  const summary = exam.attempt_summary || { attempt_count: 0, in_progress: false };
  const opens = exam.opens_at ? Date.parse(exam.opens_at) : null;
  const closes = exam.closes_at ? Date.parse(exam.closes_at) : null;
  const attemptsLeft = exam.max_attempts - summary.attempt_count;
  if (summary.in_progress) return { status: 'In progress', tone: 'active', action: 'resume' };
  if (opens && now < opens) return { status: `Opens ${formatDateTime(exam.opens_at)}`, tone: 'muted' };
  const closed = closes && now >= closes;
  let status = closed ? 'Closed' : 'Not started';
  let tone = closed ? 'muted' : 'ready';
  if (latest) {
    if (latest.status === 'submitted') status = 'Submitted — grading';
    else if (latest.score !== null && latest.score !== undefined) status = `Graded: ${score(latest.score, latest.max_score)}`;
    else status = 'Submitted — result not released yet';
    tone = 'done';
  }
  const canStart = !closed && attemptsLeft > 0;
  return { status, tone, action: canStart ? 'start' : null, again: summary.attempt_count > 0 };
}

export async function render(main, ctx) {
  ctx.setTitle('My exams');
  const [exams, mine] = await Promise.all([
    fetchAll('/exams'),
    api('GET', '/me/attempts', { query: { page_size: 100 }, full: true }),
  ]);
  if (mine.data.length) syncClock(mine.data[0].server_time, mine.sentAt, mine.receivedAt);
  const latestByExam = new Map();
  for (const a of mine.data) if (!latestByExam.has(a.exam_id)) latestByExam.set(a.exam_id, a); // newest first
  const errors = h('div', { class: 'form-errors' });
  const now = serverNow();

  async function start(exam, resuming) {
    if (!resuming && !(await confirmDialog({
      title: `Start “${exam.title}”?`,
      body: [`You will have ${humanDuration(exam.duration_seconds)}. The timer starts now and keeps running if you close the page.`],
      confirm: 'Start now',
    }))) return;
    try {
      const attempt = await api('POST', `/exams/${exam.id}/attempts`, { body: {} });
      ctx.go(`#/attempt/${attempt.id}`);
    } catch (err) {
      showError(errors, err);
    }
  }

  const cards = exams.map((exam) => {
    const latest = latestByExam.get(exam.id);
    const info = describe(exam, latest, now);
    const headingId = `exam-${exam.id}`;
    const actions = [];
    if (info.action === 'resume') {
      actions.push(h('button', { type: 'button', class: 'primary', text: 'Resume', 'aria-describedby': headingId, onclick: () => start(exam, true) }));
    } else if (info.action === 'start') {
      actions.push(h('button', { type: 'button', class: 'primary', text: info.again ? 'Start again' : 'Start', 'aria-describedby': headingId, onclick: () => start(exam, false) }));
    }
    if (latest && latest.status !== 'in_progress') {
      actions.push(h('a', { class: 'button secondary', href: `#/result/${latest.id}`, text: 'View result', 'aria-describedby': headingId }));
    }
    return h('li', { class: 'card exam-card' },
      h('h2', { id: headingId, text: exam.title }),
      exam.description ? h('p', { class: 'description', text: exam.description }) : null,
      h('p', { class: 'meta' },
        `${humanDuration(exam.duration_seconds)} · ${exam.question_count} questions · ${points(exam.max_score)}`,
        exam.closes_at ? ` · closes ${formatDateTime(exam.closes_at)}` : ''),
      h('p', {}, h('span', { class: `pill ${info.tone}`, text: info.status })),
      actions.length ? h('div', { class: 'actions' }, actions) : null);
  });

  replace(main,
    h('h1', { text: 'My exams' }),
    errors,
    cards.length ? h('ul', { class: 'cards' }, cards) : notice('info', 'No exams are assigned to you yet.'));
}
