// Two parts of the exam editor: the ordered question list with points, and extra time.

import { api } from '../api.js';
import { announce, field, formatDuration, h, newId, notice, replace, showError, table } from '../dom.js';
import { typeLabel } from './common.js';

/** A row of the editor from an entry of GET /exams/{id}/questions: a question or a pool. */
function rowOf(item) {
  const override = item.points_override === null || item.points_override === undefined ? '' : String(Number(item.points_override));
  if (item.pool) {
    return { pool: { tag: item.pool.tag, count: item.pool.count }, available: item.pool.available, bestPoints: Number(item.points), override };
  }
  return { question_id: item.question_id, prompt: item.question.prompt, type: item.question.type, defaultPoints: Number(item.question.points), override };
}

/** What a row is worth: a pool counts its draws (its points each, or its best draw). */
function rowPoints(r) {
  if (r.pool) return r.override === '' ? (r.bestPoints ?? 0) : r.pool.count * (Number(r.override) || 0);
  return r.override === '' ? r.defaultPoints : Number(r.override) || 0;
}

const rowLabel = (r, n) => (r.pool ? `pool ${n}` : `question ${n}`);

/** The exam's questions in order: points per exam, reorder, remove, add from the bank, and
 * pools (each attempt draws `count` questions carrying a tag when it starts). */
export function questionsSection(examId, items, started) {
  const rows = items.map(rowOf);
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

  function describe(r) {
    if (!r.pool) return h('span', {}, r.prompt, h('span', { class: 'muted', text: ` · ${typeLabel(r.type)}` }));
    const available = r.available === undefined ? '' : ` · ${r.available} in the bank`;
    return h('span', { class: 'pool-entry' },
      h('strong', { text: `Pool: ${r.pool.count} drawn from “${r.pool.tag}”` }),
      h('span', { class: 'muted', text: `${available} · each student gets different ones` }),
      r.available !== undefined && r.available < r.pool.count
        ? h('span', { class: 'field-error', text: ` Too few questions carry this tag to publish.` }) : null);
  }

  function draw() {
    const count = rows.reduce((acc, r) => acc + (r.pool ? r.pool.count : 1), 0);
    const sum = rows.reduce((acc, r) => acc + rowPoints(r), 0);
    const pooled = rows.some((r) => r.pool && r.override === '');
    total.textContent = `${count} questions per student, ${pooled ? 'at most ' : ''}${Math.round(sum * 100) / 100} points in total.`;
    replace(list, table('Questions in this exam', [
      ['#', (r) => String(rows.indexOf(r) + 1)],
      ['Question', describe],
      ['Points', (r) => {
        const n = rows.indexOf(r) + 1;
        const label = r.pool ? `Points per question of pool ${n} (default: each question's own)` : `Points for question ${n} (default ${r.defaultPoints})`;
        const input = h('input', { type: 'number', class: 'points-input', min: '0.01', step: 'any', value: r.override, placeholder: r.pool ? 'own' : String(r.defaultPoints), 'aria-label': label, disabled: started });
        input.addEventListener('input', () => { r.override = input.value; });
        input.addEventListener('change', draw);
        return input;
      }],
      ['Order', (r) => {
        const index = rows.indexOf(r);
        const n = index + 1;
        return h('span', { class: 'row-links' },
          h('button', { type: 'button', class: 'link', text: 'Up', 'data-move': '-1', 'aria-label': `Move ${rowLabel(r, n)} up`, disabled: started || index === 0, onclick: () => move(index, -1) }),
          h('button', { type: 'button', class: 'link', text: 'Down', 'data-move': '1', 'aria-label': `Move ${rowLabel(r, n)} down`, disabled: started || index === rows.length - 1, onclick: () => move(index, 1) }),
          h('button', { type: 'button', class: 'link danger', text: 'Remove', 'aria-label': `Remove ${rowLabel(r, n)}`, disabled: started, onclick: () => { rows.splice(index, 1); draw(); } }));
      }],
    ], rows, { empty: 'No questions yet. Add some from the bank or a pool below.' }));
  }

  const entryOf = (r) => {
    const points = r.override === '' ? {} : { points: Number(r.override) };
    return r.pool ? { pool: { ...r.pool, ...points } } : { question_id: r.question_id, ...points };
  };

  const save = h('button', { type: 'button', class: 'primary', text: 'Save questions', disabled: started });
  save.addEventListener('click', async () => {
    save.disabled = true;
    try {
      await api('PUT', `/exams/${examId}/questions`, { body: { questions: rows.map(entryOf) } });
      // Fresh candidate counts for the pools.
      const fresh = await api('GET', `/exams/${examId}/questions`);
      rows.splice(0, rows.length, ...fresh.map(rowOf));
      draw();
      showError(errors, null);
      replace(saved, notice('ok', 'Questions saved.'));
    } catch (err) {
      replace(saved);
      const problems = err?.fieldErrors?.json?.questions;
      showError(errors, Array.isArray(problems) ? new Error(`Not saved: ${problems.join('; ')}.`) : err);
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
    started ? null : h('div', { class: 'add-questions' }, h('h3', { text: 'Add questions' }), searchForm, found),
    started ? null : poolForm(rows, draw));
}

/** Adding a pool: each student's attempt draws `count` questions carrying the tag. */
function poolForm(rows, draw) {
  const tag = field('Tag', h('input', { type: 'text', name: 'pool-tag', autocomplete: 'off', maxlength: '50' }), { hint: 'Questions in the bank carrying this tag.' });
  const count = field('Questions to draw', h('input', { type: 'number', name: 'pool-count', min: '1', max: '500', step: '1', value: '1' }));
  const points = field('Points each', h('input', { type: 'number', name: 'pool-points', min: '0.01', step: 'any' }), { hint: "Empty: each question's own points." });
  const form = h('form', { class: 'inline-form', novalidate: true, 'aria-label': 'Add a pool' },
    tag, count, points, h('button', { type: 'submit', class: 'secondary', text: 'Add pool' }));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = tag.control.value.trim();
    const n = Number(count.control.value);
    tag.setError(name ? '' : 'Enter a tag.');
    count.setError(Number.isInteger(n) && n >= 1 ? '' : 'A whole number, 1 or more.');
    if (!name || !Number.isInteger(n) || n < 1) return;
    rows.push({ pool: { tag: name, count: n }, override: points.control.value });
    tag.control.value = '';
    points.control.value = '';
    draw();
    announce(`Added a pool of ${n} from “${name}”. Save questions to keep it.`);
  });
  return h('div', { class: 'add-pool' }, h('h3', { text: 'Add a pool' }),
    h('p', { class: 'muted', text: 'Each student draws different questions with this tag when they start; a question already in the exam is never drawn.' }), form);
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
