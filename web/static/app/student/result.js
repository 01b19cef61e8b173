// After submitting: "Grading…" while the workers grade (polling the cheap status endpoint
// with an ETag), then the result question by question once it is released.

import { ApiError, api } from '../api.js';
import { h, notice, points, replace, score } from '../dom.js';
import { receiptCard } from '../trust/receipt.js';

const FAST_POLL_MS = 1000; // grading usually takes a second or two
const SLOW_POLL_MS = 10000; // waiting for a teacher: essays or a later release

export async function render(main, ctx) {
  const id = ctx.params[0];
  ctx.setTitle('Result');
  const attempt = await api('GET', `/attempts/${id}`);
  const exam = await api('GET', `/exams/${attempt.exam_id}`).catch(() => null);
  const title = exam?.title || 'Exam';
  const statusBox = h('div', { class: 'status-box', role: 'status', 'aria-live': 'polite' });
  const body = h('div', {});
  const receiptBox = h('div', {});
  replace(main, h('h1', { text: `${title}: result` }), statusBox, body, receiptBox,
    h('p', {}, h('a', { href: '#/exams', text: 'Back to my exams' })));
  receiptCard(id).then((card) => replace(receiptBox, card));

  let etag = null;
  let last = null;
  let timer = null;
  let stopped = false;
  let shownKey = null;

  async function poll() {
    let delay = FAST_POLL_MS;
    try {
      const reply = await api('GET', `/attempts/${id}/status`, {
        headers: etag ? { 'If-None-Match': etag } : {}, full: true,
      });
      if (reply.status === 200) {
        etag = reply.headers.get('ETag');
        last = reply.data;
        await show(last);
      }
      if (last?.status === 'graded') delay = SLOW_POLL_MS;
      if (last?.status === 'graded' && last.score !== null && !last.pending_manual) return; // final
    } catch (err) {
      delay = SLOW_POLL_MS / 2; // offline or a hiccup: keep asking, a little slower
      if (err instanceof ApiError && err.status === 404) return;
    }
    if (!stopped) timer = setTimeout(poll, delay);
  }

  async function show(status) {
    if (status.status !== 'graded') {
      replace(statusBox, h('div', { class: 'grading' },
        h('span', { class: 'spinner', 'aria-hidden': 'true' }),
        h('p', { class: 'big', text: 'Grading…' }),
        h('p', { class: 'muted', text: status.submit_reason === 'timeout'
          ? 'Time ran out and your saved answers were submitted.'
          : 'Your answers were submitted. This page updates by itself.' })));
      statusBox.setAttribute('aria-busy', 'true');
      return;
    }
    statusBox.removeAttribute('aria-busy');
    const key = `${status.score}|${status.pending_manual}`;
    if (key === shownKey) return;
    shownKey = key;
    let result;
    try {
      result = await api('GET', `/attempts/${id}/result`);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'results_not_released') {
        replace(statusBox, notice('info', 'Your exam is graded. Your teacher will release the results; this page updates when they do.'));
        replace(body);
        return;
      }
      throw err;
    }
    const percentage = Number(result.percentage);
    replace(statusBox, h('div', { class: 'score-card' },
      h('p', { class: 'label', text: 'Your score' }),
      h('p', { class: 'score', text: score(result.score, result.max_score) }),
      h('p', { class: 'muted', text: Number.isFinite(percentage) ? `${Math.round(percentage * 10) / 10}%` : '' }),
      result.pending_count ? notice('info', `${result.pending_count} ${result.pending_count === 1 ? 'answer is' : 'answers are'} waiting for a teacher to grade. The score counts what is graded so far.`) : null));
    replace(body, resultList(attempt, result));
  }

  poll();
  return () => { stopped = true; clearTimeout(timer); };
}

function formatResponse(question, response) {
  if (response === null || response === undefined) return 'No answer';
  const label = (optionId) => question?.options?.find((o) => o.id === optionId)?.text ?? optionId;
  if (question?.type === 'true_false' || typeof response === 'boolean') return response ? 'True' : 'False';
  if (Array.isArray(response)) return response.map(label).join(', ');
  if (question?.type === 'single_choice') return label(response);
  return String(response);
}

function verdict(row) {
  if (row.points_awarded === null || row.points_awarded === undefined) return ['pending', 'Waiting for a teacher'];
  if (row.is_correct === true) return ['correct', 'Correct'];
  if (Number(row.points_awarded) > 0) return ['partial', 'Partly correct'];
  return ['wrong', 'Not correct'];
}

function resultList(attempt, result) {
  const questions = new Map(attempt.questions.map((q) => [q.id, q]));
  return h('ol', { class: 'results' }, result.results.map((row, index) => {
    const question = questions.get(row.question_id);
    const [tone, text] = verdict(row);
    const awarded = row.points_awarded === null || row.points_awarded === undefined ? '—' : Number(row.points_awarded);
    return h('li', { class: `card result ${tone}` },
      h('h2', { class: 'result-title' }, `Question ${index + 1}`,
        h('span', { class: `pill ${tone}`, text })),
      h('p', { class: 'prompt', text: question?.prompt || '' }),
      h('dl', {},
        h('dt', { text: 'Your answer' }), h('dd', { class: 'response', text: formatResponse(question, row.response) }),
        h('dt', { text: 'Points' }), h('dd', { text: `${awarded} of ${points(row.points_possible)}` }),
        'correct_answer' in row && row.correct_answer !== null
          ? [h('dt', { text: 'Correct answer' }), h('dd', { text: formatResponse(question, row.correct_answer) })] : null,
        row.explanation ? [h('dt', { text: 'Explanation' }), h('dd', { text: row.explanation })] : null,
        row.feedback ? [h('dt', { text: 'Teacher’s feedback' }), h('dd', { text: row.feedback })] : null));
  }));
}
