// Import questions from an Excel workbook: check first (dry run), then import; all rows or
// none, with every problem listed by row and column.

import { ApiError, api } from '../api.js';
import { field, h, notice, replace, showError, table } from '../dom.js';
import { downloadButton } from './common.js';

export function render(main, ctx) {
  ctx.setTitle('Import questions');
  const errors = h('div', { class: 'form-errors' });
  const file = field('Workbook (.xlsx)', h('input', { type: 'file', name: 'file', accept: '.xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' }),
    { hint: 'Use the template: one question per row. Nothing is created unless every row is valid.' });
  const outcome = h('div', { class: 'import-outcome', tabindex: '-1' });
  const check = h('button', { type: 'button', class: 'secondary', text: 'Check (dry run)' });
  const run = h('button', { type: 'submit', class: 'primary', text: 'Import' });
  const form = h('form', { class: 'card', novalidate: true }, file, errors,
    h('div', { class: 'actions' }, check, run));

  async function upload(dryRun) {
    const chosen = file.control.files[0];
    if (!chosen) {
      file.setError('Choose a workbook first.');
      file.control.focus();
      return;
    }
    file.setError('');
    showError(errors, null);
    const data = new FormData();
    data.append('file', chosen);
    check.disabled = true;
    run.disabled = true;
    replace(outcome, h('p', { class: 'muted', role: 'status', text: dryRun ? 'Checking…' : 'Importing…' }));
    try {
      const result = await api('POST', '/questions/import', { form: data, query: { dry_run: dryRun }, timeout: 120000 });
      showSuccess(result, dryRun);
    } catch (err) {
      if (err instanceof ApiError && err.status === 422 && Array.isArray(err.body.errors)) showProblems(err.body.errors, dryRun);
      else {
        replace(outcome);
        showError(errors, err.status === 413 ? new Error('The workbook is too large.')
          : err.status === 415 ? new Error('That is not an .xlsx workbook.') : err);
      }
    } finally {
      check.disabled = false;
      run.disabled = false;
    }
    outcome.focus();
  }

  function showSuccess(result, dryRun) {
    const message = dryRun
      ? `The workbook is valid: ${result.created} questions would be created. Nothing was imported yet.`
      : `Imported ${result.created} questions.`;
    replace(outcome, notice('ok', h('p', { text: message }),
      dryRun ? null : h('p', {}, h('a', { href: '#/admin/questions', text: 'See them in the question bank' }))));
  }

  function showProblems(problems, dryRun) {
    const count = problems.length;
    replace(outcome,
      notice('error', h('p', { text: `${count} ${count === 1 ? 'problem' : 'problems'} found. ${dryRun ? 'Fix them and check again.' : 'Nothing was imported.'}` })),
      table('Problems in the workbook', [
        ['Row', (p) => (p.row === null || p.row === undefined ? '—' : String(p.row))],
        ['Column', (p) => p.column || '—'],
        ['Problem', (p) => p.message],
      ], problems));
  }

  check.addEventListener('click', () => upload(true));
  form.addEventListener('submit', (event) => { event.preventDefault(); upload(false); });

  replace(main,
    h('div', { class: 'page-head' }, h('h1', { text: 'Import questions' }),
      h('div', { class: 'actions' },
        downloadButton('Download template', '/questions/import/template', 'questions-template.xlsx', errors),
        downloadButton('Export the bank', '/questions/export.xlsx', 'questions.xlsx', errors))),
    form, outcome);
}
