// The exam editor: details and timing, who may sit it (audience), questions and points,
// accommodations (extra time), publish / archive / release results, and result downloads.

import { api, fetchAll } from '../api.js';
import { announce, checkbox, confirmDialog, field, formatDateTime, h, notice, replace, select, showError, showFieldErrors } from '../dom.js';
import { downloadButton, examTabs, statusPill } from './common.js';
import { audienceSection } from './audience.js';
import { accommodationsSection, questionsSection } from './exam_parts.js';

const pad = (n) => String(n).padStart(2, '0');

function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

const fromLocalInput = (value) => (value ? new Date(value).toISOString() : null);

export async function render(main, ctx) {
  const id = ctx.params[0];
  const isNew = id === 'new';
  const exam = isNew
    ? { title: '', description: '', duration_seconds: 3600, grace_seconds: 30, max_attempts: 1, shuffle_questions: false, shuffle_options: false, results_release: 'immediate', show_correct_answers: false, status: 'draft' }
    : await api('GET', `/exams/${id}`);
  ctx.setTitle(isNew ? 'New exam' : exam.title);
  const errors = h('div', { class: 'form-errors' });
  const details = detailsForm(exam, isNew, ctx, errors);

  if (isNew) {
    replace(main, h('p', { class: 'crumbs' }, h('a', { href: '#/admin/exams', text: 'Exams' })),
      h('h1', { text: 'New exam' }), details);
    return undefined;
  }

  const lifecycle = h('div', { class: 'actions' });
  const lifecycleErrors = h('div', { class: 'form-errors' });
  const statusLine = h('p', { class: 'status-line', role: 'status' });

  function drawLifecycle(current) {
    replace(statusLine, 'Status: ', statusPill(current.status),
      current.published_at ? ` since ${formatDateTime(current.published_at)}` : '',
      current.results_released_at ? ` · results released ${formatDateTime(current.results_released_at)}` : '');
    const buttons = [];
    if (current.status === 'draft') {
      buttons.push(h('button', { type: 'button', class: 'primary', text: 'Publish', onclick: () => act('publish', 'Publish this exam?', 'Students can see it and start it within its window.') }));
      buttons.push(h('button', { type: 'button', class: 'link danger', text: 'Delete exam', onclick: remove }));
    }
    if (current.status === 'published') {
      if (current.results_release !== 'immediate' && !current.results_released_at) {
        buttons.push(h('button', { type: 'button', class: 'secondary', text: 'Release results', onclick: () => act('release-results', 'Release results now?', 'Every student with a graded attempt is told.') }));
      }
      buttons.push(h('button', { type: 'button', class: 'secondary', text: 'Archive', onclick: () => act('archive', 'Archive this exam?', 'Students no longer see it; attempts and results are kept.') }));
    }
    replace(lifecycle, buttons);
  }

  async function act(action, title, body) {
    if (!(await confirmDialog({ title, body, confirm: title.replace(/ .*/, '') }))) return;
    try {
      await api('POST', `/exams/${id}/${action}`, { body: {} });
      const fresh = await api('GET', `/exams/${id}`);
      drawLifecycle(fresh);
      showError(lifecycleErrors, null);
      announce(`Done: ${statusPill(fresh.status).textContent}.`);
    } catch (err) {
      showError(lifecycleErrors, err.code === 'conflict' && action === 'publish'
        ? new Error(`Cannot publish: ${err.message}`) : err);
    }
  }

  async function remove() {
    if (!(await confirmDialog({ title: 'Delete this exam?', body: 'This cannot be undone.', confirm: 'Delete', danger: true }))) return;
    try {
      await api('DELETE', `/exams/${id}`);
      ctx.go('#/admin/exams');
    } catch (err) {
      showError(lifecycleErrors, err);
    }
  }

  const [items, accommodations, roster, audience] = await Promise.all([
    api('GET', `/exams/${id}/questions`),
    api('GET', `/exams/${id}/accommodations`),
    fetchAll(`/exams/${id}/attempts`),
    audienceSection(id),
  ]);
  drawLifecycle(exam);
  const downloads = h('div', { class: 'actions' },
    downloadButton('Results (.xlsx)', `/exams/${id}/results.xlsx`, 'results.xlsx', errors),
    downloadButton('Results (.csv)', `/exams/${id}/results.csv`, 'results.csv', errors));

  replace(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/admin/exams', text: 'Exams' })),
    h('h1', { text: exam.title }),
    examTabs(id, 'edit'),
    h('section', { class: 'card', 'aria-labelledby': 'publishing-h' },
      h('h2', { id: 'publishing-h', text: 'Publishing' }), statusLine, lifecycleErrors, lifecycle),
    h('section', { 'aria-labelledby': 'details-h' }, h('h2', { id: 'details-h', text: 'Details and timing' }), details),
    audience,
    questionsSection(id, items, roster.length > 0),
    accommodationsSection(id, accommodations, roster),
    h('section', { class: 'card', 'aria-labelledby': 'export-h' },
      h('h2', { id: 'export-h', text: 'Results' }), errors, downloads));
  return undefined;
}

function detailsForm(exam, isNew, ctx, errors) {
  const f = {
    title: field('Title', h('input', { type: 'text', name: 'title', value: exam.title, required: true })),
    description: field('Description', h('textarea', { name: 'description', rows: 2, value: exam.description || '' }), { wide: true }),
    duration_seconds: field('Duration (minutes)', h('input', { type: 'number', name: 'duration', min: '0.05', step: 'any', value: String(Math.round((exam.duration_seconds / 60) * 100) / 100) })),
    grace_seconds: field('Grace for late saves (seconds)', h('input', { type: 'number', name: 'grace', min: '0', step: '1', value: String(exam.grace_seconds) })),
    opens_at: field('Opens at', h('input', { type: 'datetime-local', name: 'opens_at', value: toLocalInput(exam.opens_at) }), { hint: 'Empty: open as soon as it is published.' }),
    closes_at: field('Closes at', h('input', { type: 'datetime-local', name: 'closes_at', value: toLocalInput(exam.closes_at) }), { hint: 'Empty: never closes.' }),
    max_attempts: field('Attempts allowed', h('input', { type: 'number', name: 'max_attempts', min: '1', max: '100', step: '1', value: String(exam.max_attempts) })),
    results_release: field('Results are shown', select([['immediate', 'As soon as graded'], ['after_close', 'After the exam closes'], ['manual', 'When I release them']], exam.results_release, { name: 'results_release' })),
  };
  const shuffleQuestions = checkbox('Shuffle the questions for each student', exam.shuffle_questions);
  const shuffleOptions = checkbox('Shuffle the options of choice questions', exam.shuffle_options);
  const showCorrect = checkbox('Show correct answers with the results', exam.show_correct_answers);
  const save = h('button', { type: 'submit', class: 'primary', text: isNew ? 'Create exam' : 'Save details' });
  const saved = h('div', {});
  const form = h('form', { class: 'card form-grid', novalidate: true }, Object.values(f),
    h('div', { class: 'wide checks' }, shuffleQuestions, shuffleOptions, showCorrect), errors, saved,
    h('div', { class: 'actions wide' }, save));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = {
      title: f.title.control.value.trim(),
      description: f.description.control.value.trim() || null,
      duration_seconds: Math.round(Number(f.duration_seconds.control.value) * 60),
      grace_seconds: Number(f.grace_seconds.control.value || 0),
      opens_at: fromLocalInput(f.opens_at.control.value),
      closes_at: fromLocalInput(f.closes_at.control.value),
      max_attempts: Number(f.max_attempts.control.value || 1),
      results_release: f.results_release.control.value,
      shuffle_questions: shuffleQuestions.control.checked,
      shuffle_options: shuffleOptions.control.checked,
      show_correct_answers: showCorrect.control.checked,
    };
    save.disabled = true;
    try {
      const result = await api(isNew ? 'POST' : 'PATCH', isNew ? '/exams' : `/exams/${exam.id}`, { body });
      showFieldErrors(f, null);
      showError(errors, null);
      if (isNew) ctx.go(`#/admin/exams/${result.id}`);
      else {
        replace(saved, notice('ok', 'Details saved.'));
        document.querySelector('h1').textContent = result.title;
      }
    } catch (err) {
      replace(saved);
      const matched = showFieldErrors(f, err);
      showError(errors, matched ? new Error('Please correct the fields marked above.') : err);
    } finally {
      save.disabled = false;
    }
  });
  return form;
}
