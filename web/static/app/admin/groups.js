// Groups (classes, sections, sets): find, create, rename and delete; each links to its
// members. Exams are assigned to groups in the exam editor's Audience section.

import { api, pagination } from '../api.js';
import { announce, confirmDialog, field, formDialog, formatDateTime, h, replace, showError, showFieldErrors, table } from '../dom.js';
import { count, hashFor, pager, queryOf } from './common.js';

const PAGE_SIZE = 25;

/** The name and description fields of a group, filled from `group` if given. */
export function groupFields(group = {}) {
  return {
    name: field('Name', h('input', { type: 'text', name: 'name', value: group.name || '', maxlength: '200', autocomplete: 'off' })),
    description: field('Description (optional)', h('input', { type: 'text', name: 'description', value: group.description || '', autocomplete: 'off' })),
  };
}

export const groupBody = (fields) => ({
  name: fields.name.control.value.trim(),
  description: fields.description.control.value.trim() || null,
});

/** A duplicate name is a 409: say so next to the name. */
export function showGroupError(fields, errors, err) {
  if (err.code === 'conflict') {
    fields.name.setError('Another group has this name.');
    fields.name.control.focus();
    showError(errors, null);
  } else if (showFieldErrors(fields, err)) {
    showError(errors, null);
  } else showError(errors, err);
}

/** Ask for a new name or description; resolves to the saved group, or null. */
export async function renameGroup(group, errors) {
  const fields = groupFields(group);
  const ok = await formDialog({
    title: `Rename “${group.name}”`,
    fields: Object.values(fields),
    check: () => {
      fields.name.setError(fields.name.control.value.trim() ? '' : 'Enter a name.');
      return !!fields.name.control.value.trim();
    },
  });
  if (!ok) return null;
  try {
    const saved = await api('PATCH', `/groups/${group.id}`, { body: groupBody(fields) });
    showError(errors, null);
    announce(`Saved group ${saved.name}.`);
    return saved;
  } catch (err) {
    showError(errors, err.code === 'conflict' ? new Error(`Another group is already called “${groupBody(fields).name}”.`) : err);
    return null;
  }
}

/** Ask, then delete; resolves true when the group is gone. */
export async function deleteGroup(group, errors) {
  const ok = await confirmDialog({
    title: `Delete the group “${group.name}”?`,
    body: [`Its ${count(group.member_count, 'member')} keep their accounts and attempts, but exams assigned to this group no longer reach them through it.`],
    confirm: 'Delete group', danger: true,
  });
  if (!ok) return false;
  try {
    await api('DELETE', `/groups/${group.id}`);
    announce(`Deleted group ${group.name}.`);
    return true;
  } catch (err) {
    showError(errors, err);
    return false;
  }
}

export async function render(main, ctx) {
  ctx.setTitle('Groups');
  const filters = queryOf({ q: '', page: 1 });
  const errors = h('div', { class: 'form-errors' });
  const search = field('Search groups', h('input', { type: 'search', name: 'q', value: filters.q }));
  const searchForm = h('form', { class: 'filters', role: 'search', 'aria-label': 'Find groups' },
    search, h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'secondary', text: 'Find' }),
      filters.q ? h('a', { href: '#/admin/groups', class: 'button link', text: 'Show all' }) : null));
  searchForm.addEventListener('submit', (event) => {
    event.preventDefault();
    ctx.go(hashFor('#/admin/groups', { q: search.control.value.trim(), page: 1 }));
  });

  const reply = await api('GET', '/groups', { query: { q: filters.q, page: filters.page, page_size: PAGE_SIZE }, full: true });
  const pages = pagination(reply.headers) || { total: reply.data.length };
  const list = table('Groups', [
    ['Name', (g) => h('a', { href: `#/admin/groups/${g.id}`, text: g.name })],
    ['Description', (g) => g.description || '—'],
    ['Members', (g) => String(g.member_count)],
    ['Created', (g) => formatDateTime(g.created_at)],
    ['Actions', (g) => h('span', { class: 'row-links' },
      h('button', { type: 'button', class: 'link', text: 'Rename', 'aria-label': `Rename ${g.name}`, onclick: async () => { if (await renameGroup(g, errors)) ctx.reload(); } }),
      h('button', { type: 'button', class: 'link danger', text: 'Delete', 'aria-label': `Delete ${g.name}`, onclick: async () => { if (await deleteGroup(g, errors)) ctx.reload(); } }))],
  ], reply.data, { empty: filters.q ? 'No group has that in its name.' : 'No groups yet. Create one below, or import students with a groups column on the People page.' });

  const fresh = groupFields();
  const createErrors = h('div', { class: 'form-errors' });
  const createForm = h('form', { class: 'inline-form', novalidate: true, 'aria-labelledby': 'new-group-h' },
    fresh.name, fresh.description, h('button', { type: 'submit', class: 'primary', text: 'Create group' }));
  createForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = groupBody(fresh);
    fresh.name.setError(body.name ? '' : 'Enter a name.');
    if (!body.name) {
      fresh.name.control.focus();
      return;
    }
    try {
      const created = await api('POST', '/groups', { body });
      ctx.go(`#/admin/groups/${created.id}`);
    } catch (err) {
      showGroupError(fresh, createErrors, err);
    }
  });

  replace(main,
    h('h1', { text: 'Groups' }),
    searchForm, errors,
    h('p', { class: 'muted', role: 'status', text: `${count(pages.total ?? reply.data.length, 'group')}${filters.q ? ' match' : ''}.` }),
    list,
    pager(pages, (page) => ctx.go(hashFor('#/admin/groups', { ...filters, page }))),
    h('section', { class: 'card', 'aria-labelledby': 'new-group-h' },
      h('h2', { id: 'new-group-h', text: 'New group' }), createForm, createErrors));
}
