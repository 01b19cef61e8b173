// Every exam, with links to its editor, roster, grading queue and regrade.

import { fetchAll } from '../api.js';
import { formatDateTime, h, humanDuration, replace, select, field, table } from '../dom.js';
import { statusPill } from './common.js';

export async function render(main, ctx) {
  ctx.setTitle('Exams');
  const status = new URLSearchParams(location.hash.split('?')[1] || '').get('status') || '';
  const exams = await fetchAll('/exams', { status });
  const filter = field('Show', select([['', 'All exams'], ['draft', 'Drafts'], ['published', 'Published'], ['archived', 'Archived']], status, { name: 'status' }));
  filter.control.addEventListener('change', () => ctx.go(`#/admin/exams${filter.control.value ? `?status=${filter.control.value}` : ''}`));

  replace(main,
    h('div', { class: 'page-head' },
      h('h1', { text: 'Exams' }),
      h('div', { class: 'actions' }, h('a', { href: '#/admin/exams/new', class: 'button primary', text: 'New exam' }))),
    h('div', { class: 'filters' }, filter),
    table('Exams', [
      ['Title', (e) => h('a', { href: `#/admin/exams/${e.id}`, text: e.title })],
      ['Status', (e) => statusPill(e.status)],
      ['Questions', (e) => `${e.question_count} (${Number(e.max_score)} pts)`],
      ['Duration', (e) => humanDuration(e.duration_seconds)],
      ['Window', (e) => [e.opens_at ? `from ${formatDateTime(e.opens_at)}` : 'any time', e.closes_at ? ` to ${formatDateTime(e.closes_at)}` : ''].join('')],
      ['Pages', (e) => h('span', { class: 'row-links' },
        h('a', { href: `#/admin/exams/${e.id}/roster`, text: 'Roster', 'aria-label': `Roster: ${e.title}` }),
        h('a', { href: `#/admin/exams/${e.id}/grading`, text: 'Grading', 'aria-label': `Grading queue: ${e.title}` }),
        h('a', { href: `#/admin/exams/${e.id}/regrade`, text: 'Regrade', 'aria-label': `Regrade: ${e.title}` }))],
    ], exams, { empty: 'No exams yet. Create one with “New exam”.' }));
}
