// Import questions from an Excel workbook, a GIFT or Moodle XML file or a QTI 2.1 package:
// check first (dry run), then import; all questions or none, every problem listed by row or
// item, and what a format loses (images, partial credit) listed as notes.

import { ApiError, api } from '../api.js';
import { field, h, notice, replace, select, showError, table } from '../dom.js';
import { downloadButton } from './common.js';

export const FORMATS = [
  ['xlsx', 'Excel workbook (.xlsx)', '.xlsx'],
  ['gift', 'GIFT (.gift, .txt)', '.gift'],
  ['moodle_xml', 'Moodle XML (.xml)', '.xml'],
  ['qti', 'QTI 2.1 package (.zip)', '.zip'],
];
const ACCEPT = '.xlsx,.gift,.txt,.xml,.zip,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,text/plain,application/xml,text/xml,application/zip';

export function render(main, ctx) {
  ctx.setTitle('Import questions');
  const errors = h('div', { class: 'form-errors' });
  const file = field('Question file', h('input', { type: 'file', name: 'file', accept: ACCEPT }),
    { hint: 'An .xlsx made from the template, a GIFT or Moodle XML export, or a QTI 2.1 package. Nothing is created unless every question is valid.' });
  const format = field('Format', select([['', 'From the file name'], ...FORMATS.map(([v, label]) => [v, label])], '', { name: 'format' }),
    { hint: 'Matching, cloze, drag and drop and calculated questions cannot be imported: they are listed as problems.' });
  const outcome = h('div', { class: 'import-outcome', tabindex: '-1' });
  const check = h('button', { type: 'button', class: 'secondary', text: 'Check (dry run)' });
  const run = h('button', { type: 'submit', class: 'primary', text: 'Import' });
  const form = h('form', { class: 'card', novalidate: true }, file, format, errors,
    h('div', { class: 'actions' }, check, run));

  async function upload(dryRun) {
    const chosen = file.control.files[0];
    if (!chosen) {
      file.setError('Choose a file first.');
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
      const query = { dry_run: dryRun, format: format.control.value || undefined };
      const result = await api('POST', '/questions/import', { form: data, query, timeout: 120000 });
      showSuccess(result, dryRun);
    } catch (err) {
      if (err instanceof ApiError && err.status === 422 && Array.isArray(err.body.errors)) showProblems(err.body, dryRun);
      else {
        replace(outcome);
        showError(errors, err.status === 413 ? new Error('The file is too large (or expands to too much).')
          : err.status === 415 ? new Error('That file is not in the chosen format. Pick the format, or use .xlsx, .gift, .xml or .zip.') : err);
      }
    } finally {
      check.disabled = false;
      run.disabled = false;
    }
    outcome.focus();
  }

  function showSuccess(result, dryRun) {
    const message = dryRun
      ? `The file is valid: ${result.created} questions would be created. Nothing was imported yet.`
      : `Imported ${result.created} questions.`;
    replace(outcome, notice('ok', h('p', { text: message }),
      dryRun ? null : h('p', {}, h('a', { href: '#/admin/questions', text: 'See them in the question bank' }))),
    notes(result.warnings));
  }

  function showProblems(body, dryRun) {
    const problems = body.errors;
    const count = problems.length;
    replace(outcome,
      notice('error', h('p', { text: `${count} ${count === 1 ? 'problem' : 'problems'} found. ${dryRun ? 'Fix them and check again.' : 'Nothing was imported.'}` })),
      table('Problems in the file', [
        ['Row or item', (p) => (p.row === null || p.row === undefined ? '—' : String(p.row))],
        ['Column or name', (p) => p.column || '—'],
        ['Problem', (p) => p.message],
      ], problems),
      notes(body.warnings));
  }

  function notes(warnings) {
    if (!warnings || !warnings.length) return null;
    return h('section', { class: 'import-notes' },
      h('h2', { text: 'Notes: kept as text or simplified' }),
      table('Notes on the file', [
        ['Row or item', (p) => (p.row === null || p.row === undefined ? '—' : String(p.row))],
        ['Name', (p) => p.column || '—'],
        ['Note', (p) => p.message],
      ], warnings));
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
