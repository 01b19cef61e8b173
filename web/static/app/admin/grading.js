// The essay grading queue: answers that need a human, oldest submission first.

import { api, pagination } from '../api.js';
import { field, formatDateTime, h, notice, replace, select, showError } from '../dom.js';
import { examTabs } from './common.js';

export async function render(main, ctx) {
  const id = ctx.params[0];
  const questionFilter = new URLSearchParams(location.hash.split('?')[1] || '').get('question') || '';
  const [exam, items] = await Promise.all([api('GET', `/exams/${id}`), api('GET', `/exams/${id}/questions`)]);
  ctx.setTitle(`Grading: ${exam.title}`);
  const manual = items.filter((item) => item.question.type === 'essay');
  const reply = await api('GET', `/exams/${id}/grading-queue`, { query: { question_id: questionFilter, page_size: 50 }, full: true });
  const total = pagination(reply.headers)?.total ?? reply.data.length;
  let left = total;
  const status = h('p', { class: 'summary', role: 'status' });
  const countText = () => (left ? `${left} ${left === 1 ? 'answer needs' : 'answers need'} grading.` : 'Nothing waits for grading.');
  status.textContent = countText();

  const filter = field('Question', select([['', 'All questions'], ...manual.map((item) => [item.question_id, `Q${item.position + 1}: ${item.question.prompt.slice(0, 60)}`])], questionFilter, { name: 'question' }));
  filter.control.addEventListener('change', () => ctx.go(`#/admin/exams/${id}/grading${filter.control.value ? `?question=${filter.control.value}` : ''}`));

  const list = h('ol', { class: 'grading-list' }, reply.data.map((item) => gradingItem(item, () => {
    left -= 1;
    status.textContent = countText();
  })));

  replace(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/admin/exams', text: 'Exams' })),
    h('h1', { text: `Grading: ${exam.title}` }),
    examTabs(id, 'grading'),
    h('div', { class: 'filters' }, filter),
    status,
    reply.data.length ? list : notice('info', 'No answers are waiting for a human grade.'),
    total > reply.data.length ? h('p', { class: 'muted', text: `Showing the oldest ${reply.data.length}; reload for more once these are graded.` }) : null);
}

function gradingItem(item, onGraded) {
  const headingId = `g-${item.attempt_id}-${item.question_id}`;
  const pointsField = field(`Points (0 to ${Number(item.points_possible)})`, h('input', { type: 'number', name: 'points', min: '0', max: String(item.points_possible), step: 'any', required: true }));
  const feedback = field('Feedback for the student (optional)', h('textarea', { name: 'feedback', rows: 2 }), { wide: true });
  const errors = h('div', { class: 'form-errors' });
  const save = h('button', { type: 'submit', class: 'primary', text: 'Save grade' });
  const form = h('form', { class: 'grade-form', novalidate: true, 'aria-labelledby': headingId }, pointsField, feedback, errors, h('div', { class: 'actions' }, save));
  const card = h('li', { class: 'card grading-item' },
    h('h2', { id: headingId, class: 'small-heading' }, `${item.student_name} `, h('span', { class: 'muted', text: `${item.student_email}` })),
    h('p', { class: 'muted small', text: `Submitted ${formatDateTime(item.submitted_at)}` }),
    h('p', { class: 'prompt', text: item.prompt }),
    h('blockquote', { class: 'response', text: item.response ?? '(no answer)' }),
    form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = pointsField.control.value;
    const points = Number(value);
    if (value === '' || !(points >= 0 && points <= Number(item.points_possible))) {
      pointsField.setError(`Enter points between 0 and ${Number(item.points_possible)}.`);
      pointsField.control.focus();
      return;
    }
    pointsField.setError('');
    save.disabled = true;
    try {
      const graded = await api('PUT', `/attempts/${item.attempt_id}/answers/${item.question_id}/grade`, {
        body: { points, ...(feedback.control.value.trim() ? { feedback: feedback.control.value.trim() } : {}) },
      });
      const next = card.nextElementSibling || card.previousElementSibling;
      replace(card, notice('ok', `${item.student_name}: graded ${points} of ${Number(item.points_possible)}. Total now ${Number(graded.score)} / ${Number(graded.max_score)}.`));
      card.classList.add('done');
      onGraded();
      next?.querySelector('input')?.focus();
    } catch (err) {
      showError(errors, err);
      save.disabled = false;
    }
  });
  return card;
}
