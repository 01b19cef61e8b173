// The question bank: filters, pages, edit and delete, export (in each format) and import.

import { api, pagination } from '../api.js';
import { announce, confirmDialog, field, h, replace, select, showError, table } from '../dom.js';
import { QUESTION_TYPES, downloadButton, hashFor, pager, queryOf, typeLabel } from './common.js';
import { FORMATS } from './import.js';

const PAGE_SIZE = 20;

const readFilters = () => queryOf({ type: '', tag: '', q: '', page: 1 });
const filterHash = (filters) => hashFor('#/admin/questions', filters);

export async function render(main, ctx) {
  ctx.setTitle('Question bank');
  const filters = readFilters();
  const errors = h('div', { class: 'form-errors' });
  const type = field('Type', select([['', 'All types'], ...QUESTION_TYPES], filters.type, { name: 'type' }));
  const tag = field('Tag', h('input', { type: 'text', name: 'tag', value: filters.tag }));
  const text = field('Text in the prompt', h('input', { type: 'search', name: 'q', value: filters.q }));
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter questions' },
    type, tag, text, h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'secondary', text: 'Filter' }),
      h('a', { href: '#/admin/questions', class: 'button link', text: 'Clear filters' })));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    ctx.go(filterHash({ type: type.control.value, tag: tag.control.value.trim(), q: text.control.value.trim(), page: 1 }));
  });

  const query = { type: filters.type, tag: filters.tag, q: filters.q };
  const reply = await api('GET', '/questions', { query: { ...query, page: filters.page, page_size: PAGE_SIZE }, full: true });
  const pages = pagination(reply.headers) || { total: reply.data.length, page: 1 };
  const results = h('div', { id: 'question-results' });

  async function remove(question) {
    const ok = await confirmDialog({ title: 'Delete this question?', body: [question.prompt], confirm: 'Delete', danger: true });
    if (!ok) return;
    try {
      await api('DELETE', `/questions/${question.id}`);
      announce('Question deleted.');
      ctx.reload();
    } catch (err) {
      showError(errors, err.code === 'conflict' ? new Error('An exam uses this question, so it cannot be deleted.') : err);
    }
  }

  replace(results,
    h('p', { class: 'muted', role: 'status', text: `${pages.total ?? reply.data.length} questions${filters.type || filters.tag || filters.q ? ' match the filters' : ''}.` }),
    table('Questions', [
      ['Prompt', (q) => h('a', { href: `#/admin/questions/${q.id}`, class: 'prompt-link', text: q.prompt.length > 120 ? `${q.prompt.slice(0, 117)}…` : q.prompt })],
      ['Type', (q) => typeLabel(q.type)],
      ['Points', (q) => String(Number(q.points))],
      ['Tags', (q) => q.tags.join(', ')],
      ['Actions', (q) => h('button', { type: 'button', class: 'link danger', text: 'Delete', 'aria-label': `Delete: ${q.prompt.slice(0, 60)}`, onclick: () => remove(q) })],
    ], reply.data, { empty: 'No questions found.' }),
    pager(pages, (page) => ctx.go(filterHash({ ...filters, page }))));

  // The filters apply to the export too: what is listed is what is exported.
  const exportFormat = select(FORMATS.map(([value, label]) => [value, label]), 'xlsx',
    { name: 'export-format', 'aria-label': 'Export format' });

  replace(main,
    h('div', { class: 'page-head' },
      h('h1', { text: 'Question bank' }),
      h('div', { class: 'actions' },
        h('a', { href: '#/admin/questions/new', class: 'button primary', text: 'New question' }),
        h('a', { href: '#/admin/import', class: 'button secondary', text: 'Import questions' }),
        exportFormat,
        downloadButton('Export', '/questions/export', 'questions', errors, () => ({ ...query, format: exportFormat.value })))),
    form, errors, results);
}
