// Create or edit one question; the form changes with the question type.

import { api } from '../api.js';
import { announce, checkbox, field, h, newId, notice, replace, select, showError, showFieldErrors } from '../dom.js';
import { QUESTION_TYPES } from './common.js';

const LETTERS = 'ABCDEFGHIJ';
const MAX_OPTIONS = 10;

export async function render(main, ctx) {
  const id = ctx.params[0];
  const isNew = id === 'new';
  const question = isNew
    ? { type: 'single_choice', prompt: '', options: [{ id: 'A', text: '' }, { id: 'B', text: '' }], correct_answer: null, points: 1, tags: [], explanation: '' }
    : await api('GET', `/questions/${id}`);
  ctx.setTitle(isNew ? 'New question' : 'Edit question');

  const fields = {
    type: field('Type', select(QUESTION_TYPES, question.type, { name: 'type' })),
    prompt: field('Prompt', h('textarea', { name: 'prompt', rows: 4, value: question.prompt, required: true }), { wide: true }),
    points: field('Points', h('input', { type: 'number', name: 'points', min: '0.01', step: 'any', value: String(Number(question.points)) })),
    tags: field('Tags', h('input', { type: 'text', name: 'tags', value: question.tags.join(', ') }), { hint: 'Comma-separated, e.g. algebra, week 3' }),
    explanation: field('Explanation (shown with the correct answers)', h('textarea', { name: 'explanation', rows: 2, value: question.explanation || '' }), { wide: true }),
  };
  const typeArea = h('div', { class: 'type-area' });
  const errors = h('div', { class: 'form-errors' });
  let readAnswer = () => ({});

  function buildTypeArea(type) {
    const existing = type === question.type ? question : { options: [{ id: 'A', text: '' }, { id: 'B', text: '' }], correct_answer: null };
    if (type === 'single_choice' || type === 'multiple_choice') readAnswer = optionsEditor(typeArea, type, existing, fields);
    else if (type === 'true_false') {
      fields.correct_answer = field('Correct answer', select([['true', 'True'], ['false', 'False']], String(existing.correct_answer ?? true), { name: 'correct_answer' }));
      replace(typeArea, fields.correct_answer);
      readAnswer = () => ({ correct_answer: fields.correct_answer.control.value === 'true' });
    } else if (type === 'short_text') {
      const accepted = Array.isArray(existing.correct_answer) ? existing.correct_answer.join('\n') : '';
      fields.correct_answer = field('Accepted answers', h('textarea', { name: 'correct_answer', rows: 3, value: accepted }), { hint: 'One per line. Spaces are trimmed.', wide: true });
      const sensitive = checkbox('Case-sensitive', question.case_sensitive);
      replace(typeArea, fields.correct_answer, sensitive);
      readAnswer = () => ({
        correct_answer: fields.correct_answer.control.value.split('\n').map((s) => s.trim()).filter(Boolean),
        case_sensitive: sensitive.control.checked,
      });
    } else if (type === 'numeric') {
      fields.correct_answer = field('Correct answer', h('input', { type: 'number', step: 'any', name: 'correct_answer', value: existing.correct_answer ?? '' }));
      fields.tolerance = field('Tolerance (±)', h('input', { type: 'number', step: 'any', min: '0', name: 'tolerance', value: String(existing.tolerance ?? 0) }));
      replace(typeArea, fields.correct_answer, fields.tolerance);
      readAnswer = () => ({
        correct_answer: fields.correct_answer.control.value === '' ? null : Number(fields.correct_answer.control.value),
        tolerance: Number(fields.tolerance.control.value || 0),
      });
    } else {
      replace(typeArea, notice('info', 'Essays are graded by hand in the grading queue.'));
      readAnswer = () => ({ correct_answer: null });
    }
  }
  fields.type.control.addEventListener('change', () => buildTypeArea(fields.type.control.value));
  buildTypeArea(question.type);

  const save = h('button', { type: 'submit', class: 'primary', text: isNew ? 'Create question' : 'Save changes' });
  const form = h('form', { class: 'card form-grid', novalidate: true },
    fields.type, fields.points, fields.prompt, h('div', { class: 'wide' }, typeArea), fields.tags, fields.explanation,
    errors, h('div', { class: 'actions wide' }, save, h('a', { href: '#/admin/questions', class: 'button secondary', text: 'Back to the bank' })));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = {
      type: fields.type.control.value,
      prompt: fields.prompt.control.value.trim(),
      points: Number(fields.points.control.value || 1),
      tags: fields.tags.control.value.split(',').map((t) => t.trim()).filter(Boolean),
      explanation: fields.explanation.control.value.trim() || null,
      ...readAnswer(),
    };
    if (!['single_choice', 'multiple_choice'].includes(body.type)) body.options = null;
    if (body.type !== 'multiple_choice') body.scoring = null;
    save.disabled = true;
    try {
      const saved = await api(isNew ? 'POST' : 'PATCH', isNew ? '/questions' : `/questions/${id}`, { body });
      if (isNew) announce('Question created.');
      if (isNew) ctx.go(`#/admin/questions/${saved.id}`);
      else replace(errors, notice('ok', 'Saved.'));
    } catch (err) {
      const matched = showFieldErrors(fields, err);
      showError(errors, matched ? new Error(`Please correct the fields marked above. ${err.message}`) : err);
    } finally {
      save.disabled = false;
    }
  });

  replace(main, h('p', { class: 'crumbs' }, h('a', { href: '#/admin/questions', text: 'Question bank' })),
    h('h1', { text: isNew ? 'New question' : 'Edit question' }), form);
}

/** Option rows (text + correct?) for single and multiple choice; returns a reader. */
function optionsEditor(area, type, existing, fields) {
  const multiple = type === 'multiple_choice';
  const correct = new Set(multiple ? existing.correct_answer || [] : existing.correct_answer ? [existing.correct_answer] : []);
  const rows = (existing.options || []).map((o) => ({ id: o.id, text: o.text }));
  const list = h('ol', { class: 'options' });
  const groupName = newId('correct');
  const scoring = multiple
    ? field('Scoring', select([['all_or_nothing', 'All or nothing'], ['partial', 'Partial credit']], existing.scoring || 'all_or_nothing', { name: 'scoring' }))
    : null;
  const optionsError = h('p', { class: 'field-error', role: 'alert', hidden: true });
  fields.options = { setError: (message) => { optionsError.textContent = message || ''; optionsError.hidden = !message; } };

  function draw(focusIndex) {
    replace(list, rows.map((row, index) => {
      const text = h('input', { type: 'text', value: row.text, id: newId('opt'), 'aria-label': `Option ${LETTERS[index]} text` });
      text.addEventListener('input', () => { row.text = text.value; });
      const mark = h('input', { type: multiple ? 'checkbox' : 'radio', name: groupName, id: newId('ok'), checked: correct.has(row.id) });
      mark.addEventListener('change', () => {
        if (!multiple) correct.clear();
        if (mark.checked) correct.add(row.id); else correct.delete(row.id);
      });
      const removeButton = h('button', { type: 'button', class: 'link danger', text: 'Remove', 'aria-label': `Remove option ${LETTERS[index]}`, disabled: rows.length <= 2 });
      removeButton.addEventListener('click', () => {
        correct.delete(row.id);
        rows.splice(index, 1);
        draw(Math.max(0, index - 1));
      });
      return h('li', { class: 'option-row' }, h('span', { class: 'letter', 'aria-hidden': 'true', text: LETTERS[index] }), text,
        h('span', { class: 'check inline' }, mark, h('label', { for: mark.id, text: 'Correct' })), removeButton);
    }));
    if (focusIndex !== undefined) list.querySelectorAll('input[type=text]')[focusIndex]?.focus();
    add.disabled = rows.length >= MAX_OPTIONS;
  }
  const add = h('button', { type: 'button', class: 'secondary', text: 'Add option' });
  add.addEventListener('click', () => {
    const used = new Set(rows.map((r) => r.id));
    rows.push({ id: [...LETTERS].find((l) => !used.has(l)), text: '' });
    draw(rows.length - 1);
  });
  replace(area, h('fieldset', { class: 'options-editor' },
    h('legend', { text: multiple ? 'Options (tick every correct one)' : 'Options (choose the correct one)' }),
    list, add, optionsError), scoring);
  draw();
  return () => {
    const ids = rows.map((r) => r.id);
    const answer = ids.filter((optionId) => correct.has(optionId));
    return {
      options: rows.map((r) => ({ id: r.id, text: r.text.trim() })),
      correct_answer: multiple ? answer : answer[0] ?? null,
      ...(multiple ? { scoring: scoring.control.value } : {}),
    };
  };
}
