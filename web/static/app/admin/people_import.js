// Import students from a school's .xlsx or .csv export: check first (dry run), then import;
// all rows or none, with every problem listed by row and column (as for questions).

import { ApiError, api } from '../api.js';
import { field, h, notice, replace, showError, table } from '../dom.js';
import { downloadButton } from './common.js';

const ACCEPT = '.xlsx,.csv,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** The import card of the People page; `onImported()` is called after a real import. */
export function importSection({ onImported }) {
  const errors = h('div', { class: 'form-errors' });
  const file = field('Spreadsheet (.xlsx or .csv)', h('input', { type: 'file', name: 'file', accept: ACCEPT }),
    { hint: 'Columns: email, full_name, and if you like role, groups (separated by ;) and password.' });
  const outcome = h('div', { class: 'import-outcome', tabindex: '-1' });
  const check = h('button', { type: 'button', class: 'secondary', text: 'Check file (dry run)' });
  const run = h('button', { type: 'submit', class: 'primary', text: 'Import' });
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'import-people-h' },
    h('div', { class: 'page-head' }, h('h2', { id: 'import-people-h', text: 'Import students' }),
      h('div', { class: 'actions' }, downloadButton('Download template', '/users/import/template', 'students-template.xlsx', errors))),
    h('p', { class: 'hint lead', text: 'An account whose email is already here is updated, not duplicated; groups that don’t exist yet are created. Students without a password are emailed a link to choose one. Nothing changes unless every row is valid.' }),
    file, errors, h('div', { class: 'actions' }, check, run), outcome);

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
      const result = await api('POST', '/users/import', { form: data, query: { dry_run: dryRun }, timeout: 120000 });
      showSummary(result, dryRun);
      if (!dryRun) onImported();
    } catch (err) {
      if (err instanceof ApiError && err.status === 422 && Array.isArray(err.body.errors)) showProblems(err.body.errors, dryRun);
      else {
        replace(outcome);
        showError(errors, err.status === 413 ? new Error(`The file is too large: ${err.message}.`)
          : err.status === 415 ? new Error('That is neither an .xlsx workbook nor a UTF-8 .csv file.') : err);
      }
    } finally {
      check.disabled = false;
      run.disabled = false;
    }
    outcome.focus();
  }

  function showSummary(result, dryRun) {
    const counts = [
      [dryRun ? 'Would be created' : 'Created', result.created],
      [dryRun ? 'Would be updated' : 'Updated', result.updated],
      [dryRun ? 'New groups' : 'Groups created', result.groups_created],
    ];
    replace(outcome, notice('ok',
      h('p', { text: dryRun ? 'The file is valid. Nothing was imported yet: choose Import to do it.' : 'The file was imported.' }),
      h('ul', { class: 'counts' }, counts.map(([label, n]) => h('li', {}, h('strong', { text: String(n) }), ` ${label.toLowerCase()}`)))));
  }

  function showProblems(problems, dryRun) {
    const n = problems.length;
    replace(outcome,
      notice('error', h('p', { text: `${n} ${n === 1 ? 'problem' : 'problems'} found. ${dryRun ? 'Fix them and check again.' : 'Nothing was imported.'}` })),
      table('Problems in the file', [
        ['Row', (p) => (p.row === null || p.row === undefined ? '—' : String(p.row))],
        ['Column', (p) => p.column || '—'],
        ['Problem', (p) => p.message],
      ], problems));
  }

  check.addEventListener('click', () => upload(true));
  form.addEventListener('submit', (event) => { event.preventDefault(); upload(false); });
  return form;
}
