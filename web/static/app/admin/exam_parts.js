// Two parts of the exam editor: the ordered question list with points, and extra time.

import { api } from '../api.js';
import { announce, field, formatDuration, h, newId, notice, replace, showError, table } from '../dom.js';
import { typeLabel } from './common.js';

/** The exam's questions in order: points per exam, reorder, remove, add from the bank. */
export function questionsSection(examId, items, started) {
  const rows = items.map((item) => ({
    question_id: item.question_id,
    prompt: item.question.prompt,
    type: item.question.type,
    defaultPoints: Number(item.question.points),
    override: item.points_override === null || item.points_override === undefined ? '' : String(Number(item.points_override)),
  }));
  const list = h('div', {});
  const errors = h('div', { class: 'form-errors' });
  const saved = h('div', {});
  const total = h('p', { class: 'muted', role: 'status' });

  function move(index, by) {
    const [row] = rows.splice(index, 1);
    rows.splice(index + by, 0, row);
    draw();
    list.querySelectorAll(`button[data-move="${by}"]`)[index + by]?.focus();
  }

  function draw() {
    const sum = rows.reduce((acc, r) => acc + (r.override === '' ? r.defaultPoints : Number(r.override) || 0), 0);
    total.textContent = `${rows.length} questions, ${Math.round(sum * 100) / 100} points in total.`;
    replace(list, table('Questions in this exam', [
      ['#', (r) => String(rows.indexOf(r) + 1)],
      ['Question', (r) => h('span', {}, r.prompt, h('span', { class: 'muted', text: ` · ${typeLabel(r.type)}` }))],
      ['Points', (r) => {
        const input = h('input', { type: 'number', class: 'points-input', min: '0.01', step: 'any', value: r.override, placeholder: String(r.defaultPoints), 'aria-label': `Points for question ${rows.indexOf(r) + 1} (default ${r.defaultPoints})`, disabled: started });
        input.addEventListener('input', () => { r.override = input.value; });
        input.addEventListener('change', draw);
        return input;
      }],
      ['Order', (r) => {
        const index = rows.indexOf(r);
        const n = index + 1;
        return h('span', { class: 'row-links' },
          h('button', { type: 'button', class: 'link', text: 'Up', 'data-move': '-1', 'aria-label': `Move question ${n} up`, disabled: started || index === 0, onclick: () => move(index, -1) }),
          h('button', { type: 'button', class: 'link', text: 'Down', 'data-move': '1', 'aria-label': `Move question ${n} down`, disabled: started || index === rows.length - 1, onclick: () => move(index, 1) }),
          h('button', { type: 'button', class: 'link danger', text: 'Remove', 'aria-label': `Remove question ${n}`, disabled: started, onclick: () => { rows.splice(index, 1); draw(); } }));
      }],
    ], rows, { empty: 'No questions yet. Add some from the bank below.' }));
  }

  const save = h('button', { type: 'button', class: 'primary', text: 'Save questions', disabled: started });
  save.addEventListener('click', async () => {
    save.disabled = true;
    try {
      await api('PUT', `/exams/${examId}/questions`, {
        body: { questions: rows.map((r) => ({ question_id: r.question_id, ...(r.override === '' ? {} : { points: Number(r.override) }) })) },
      });
      showError(errors, null);
      replace(saved, notice('ok', 'Questions saved.'));
    } catch (err) {
      replace(saved);
      showError(errors, err);
    } finally {
      save.disabled = false;
    }
  });

  // Adding from the bank.
  const search = field('Find questions in the bank', h('input', { type: 'search', name: 'bank-search' }), { hint: 'Words from the prompt; empty shows the newest.' });
  const found = h('div', { class: 'bank-results' });
  const searchForm = h('form', { class: 'inline-form', role: 'search', 'aria-label': 'Find questions to add' },
    search, h('button', { type: 'submit', class: 'secondary', text: 'Search' }));
  searchForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const results = await api('GET', '/questions', { query: { q: search.control.value.trim(), page_size: 10 } });
      replace(found, results.length ? h('ul', { class: 'bank-list' }, results.map((q) => {
        const inExam = rows.some((r) => r.question_id === q.id);
        const add = h('button', { type: 'button', class: 'secondary small', text: inExam ? 'Added' : 'Add', 'aria-label': `Add: ${q.prompt.slice(0, 80)}`, disabled: inExam || started });
        add.addEventListener('click', () => {
          rows.push({ question_id: q.id, prompt: q.prompt, type: q.type, defaultPoints: Number(q.points), override: '' });
          add.disabled = true;
          add.textContent = 'Added';
          draw();
          announce(`Added question ${rows.length}. Save questions to keep it.`);
        });
        return h('li', {}, h('span', {}, q.prompt, h('span', { class: 'muted', text: ` · ${typeLabel(q.type)} · ${Number(q.points)} pts` })), add);
      })) : h('p', { class: 'muted', role: 'status', text: 'No questions match.' }));
    } catch (err) {
      showError(errors, err);
    }
  });

  draw();
  return h('section', { class: 'card', 'aria-labelledby': 'questions-h' },
    h('h2', { id: 'questions-h', text: 'Questions and points' }),
    started ? notice('info', 'Students have started this exam, so its questions are fixed.') : null,
    total, list, errors, saved, h('div', { class: 'actions' }, save),
    started ? null : h('div', { class: 'add-questions' }, h('h3', { text: 'Add questions' }), searchForm, found));
}

/** Extra time per student (accommodations). */
export function accommodationsSection(examId, accommodations, roster) {
  const names = new Map(roster.map((a) => [a.student_id, `${a.student_name} (${a.student_email})`]));
  const rows = accommodations.slice();
  const list = h('div', {});
  const errors = h('div', { class: 'form-errors' });
  const draw = () => replace(list, table('Students with extra time', [
    ['Student', (a) => names.get(a.student_id) || a.student_id],
    ['Extra time', (a) => formatDuration(a.extra_seconds)],
  ], rows, { empty: 'No student has extra time.' }));

  const datalistId = newId('students');
  const student = field('Student ID', h('input', { type: 'text', name: 'student_id', list: datalistId, autocomplete: 'off', spellcheck: 'false' }),
    { hint: 'Students who have started appear as suggestions; others: paste their account ID.' });
  const minutes = field('Extra minutes', h('input', { type: 'number', name: 'extra_minutes', min: '0', step: 'any', value: '15' }));
  const form = h('form', { class: 'inline-form', novalidate: true, 'aria-label': 'Give extra time' },
    student, minutes, h('button', { type: 'submit', class: 'secondary', text: 'Set extra time' }),
    h('datalist', { id: datalistId }, [...names].map(([value, label]) => h('option', { value, label }))));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const studentId = student.control.value.trim();
    if (!studentId) {
      student.setError('Enter a student ID.');
      return;
    }
    try {
      const saved = await api('PUT', `/exams/${examId}/accommodations/${encodeURIComponent(studentId)}`, {
        body: { extra_seconds: Math.round(Number(minutes.control.value || 0) * 60) },
      });
      const index = rows.findIndex((a) => a.student_id === saved.student_id);
      if (index >= 0) rows[index] = saved; else rows.push(saved);
      student.setError('');
      showError(errors, null);
      draw();
      announce('Extra time saved.');
    } catch (err) {
      showError(errors, err.status === 404 ? new Error('No such student or exam.') : err);
    }
  });
  draw();
  return h('section', { class: 'card', 'aria-labelledby': 'accommodations-h' },
    h('h2', { id: 'accommodations-h', text: 'Extra time (accommodations)' }), list, errors, form);
}
