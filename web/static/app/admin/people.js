// People: find accounts by name or email, role, group and status; rename, change the role,
// disable or enable, send a reset link; and the import of students from a spreadsheet.

import { api, fetchAll, pagination } from '../api.js';
import { announce, confirmDialog, field, formDialog, h, notice, replace, select, showError, table } from '../dom.js';
import { count, hashFor, pager, queryOf } from './common.js';
import { importSection } from './people_import.js';

const PAGE_SIZE = 25;
const ROLES = [['student', 'Student'], ['admin', 'Admin']];
const roleLabel = (role) => ROLES.find(([r]) => r === role)?.[1] || role;
const readFilters = () => queryOf({ q: '', role: '', group_id: '', active: '', page: 1 });
const filterHash = (filters) => hashFor('#/admin/people', filters);
const groupOptions = (groups) => [['', 'Any group'], ...groups.map((g) => [g.id, g.name])];

export async function render(main, ctx) {
  ctx.setTitle('People');
  const filters = readFilters();
  const groups = await fetchAll('/groups');
  const f = {
    q: field('Name or email', h('input', { type: 'search', name: 'q', value: filters.q })),
    role: field('Role', select([['', 'Every role'], ['student', 'Students'], ['admin', 'Admins']], filters.role, { name: 'role' })),
    group_id: field('Group', select(groupOptions(groups), filters.group_id, { name: 'group_id' })),
    active: field('Status', select([['', 'Active and disabled'], ['true', 'Active'], ['false', 'Disabled']], filters.active, { name: 'active' })),
  };
  const filterForm = h('form', { class: 'filters', role: 'search', 'aria-label': 'Find people' },
    Object.values(f), h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'secondary', text: 'Filter' }),
      h('a', { href: '#/admin/people', class: 'button link', text: 'Clear filters' })));
  filterForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = Object.fromEntries(Object.entries(f).map(([key, wrap]) => [key, wrap.control.value.trim()]));
    ctx.go(filterHash({ ...chosen, page: 1 }));
  });

  const feedback = h('div', {});
  const results = h('div', { id: 'people-results' });
  let rows = [];
  let pages = null;
  const filtered = filters.q || filters.role || filters.group_id || filters.active;

  async function load() {
    const { page, ...query } = filters;
    const reply = await api('GET', '/users', { query: { ...query, page, page_size: PAGE_SIZE }, full: true });
    rows = reply.data;
    pages = pagination(reply.headers) || { total: rows.length };
    draw();
  }

  function draw(focusOn) {
    replace(results,
      h('p', { class: 'muted', role: 'status', text: `${count(pages.total ?? rows.length, 'person', 'people')}${filtered ? ' match the filters' : ''}.` }),
      table('People', [
        ['Email', (u) => u.email],
        ['Name', (u) => [u.full_name, u.id === ctx.user.id ? h('span', { class: 'muted', text: ' (you)' }) : null]],
        ['Role', (u) => roleLabel(u.role)],
        ['Groups', (u) => u.groups.map((g) => g.name).join(', ') || '—'],
        ['Status', (u) => h('span', { class: `pill ${u.active ? 'done' : 'account-disabled'}`, text: u.active ? 'Active' : 'Disabled' })],
        ['Actions', (u) => rowActions(u)],
      ], rows, { empty: filtered ? 'Nobody matches the filters.' : 'No accounts yet. Import students below.' }),
      pager(pages, (page) => ctx.go(filterHash({ ...filters, page }))));
    if (focusOn) results.querySelector(`[data-user="${focusOn.id}"][data-action="${focusOn.action}"]`)?.focus();
  }

  function rowActions(user) {
    const self = user.id === ctx.user.id;
    const button = (action, text, label, onclick, danger) => h('button', {
      type: 'button', class: danger ? 'link danger' : 'link', text, 'aria-label': `${label} ${user.full_name}`,
      'data-user': user.id, 'data-action': action, onclick,
    });
    return h('span', { class: 'row-links' },
      button('edit', 'Edit', 'Edit', () => edit(user)),
      self ? null : user.active
        ? button('toggle', 'Disable', 'Disable', () => toggle(user), true)
        : button('toggle', 'Enable', 'Enable', () => toggle(user)),
      user.active ? button('reset', 'Send reset link', 'Send a reset link to', () => sendReset(user)) : null);
  }

  function tell(message) {
    replace(feedback, notice('ok', message));
    announce(message);
  }

  async function save(user, patch, action, done) {
    try {
      const fresh = await api('PATCH', `/users/${user.id}`, { body: patch });
      rows = rows.map((u) => (u.id === fresh.id ? fresh : u));
      draw({ id: fresh.id, action });
      tell(done(fresh));
    } catch (err) {
      showError(feedback, err);
    }
  }

  async function edit(user) {
    const self = user.id === ctx.user.id;
    const name = field('Full name', h('input', { type: 'text', name: 'full_name', value: user.full_name, autocomplete: 'off' }));
    const role = field('Role', select(ROLES, user.role, { name: 'role', disabled: self }),
      { hint: self ? 'You can’t change your own role.' : 'Admins manage exams, questions and people.' });
    const ok = await formDialog({
      title: `Edit ${user.full_name}`,
      fields: [name, role],
      confirm: 'Save changes',
      check: () => { name.setError(name.control.value.trim() ? '' : 'Enter a name.'); return !!name.control.value.trim(); },
    });
    if (!ok) return;
    const patch = {};
    if (name.control.value.trim() !== user.full_name) patch.full_name = name.control.value.trim();
    if (!self && role.control.value !== user.role) patch.role = role.control.value;
    if (!Object.keys(patch).length) return;
    await save(user, patch, 'edit', (u) => `Saved: ${u.full_name}, ${roleLabel(u.role).toLowerCase()}.`);
  }

  async function toggle(user) {
    const disabling = user.active;
    const ok = await confirmDialog(disabling ? {
      title: `Disable ${user.full_name}’s account?`,
      body: [`${user.email} is signed out at once and can’t sign in until the account is enabled again.`, 'Their attempts and results are kept.'],
      confirm: 'Disable', danger: true,
    } : {
      title: `Enable ${user.full_name}’s account?`,
      body: `${user.email} can sign in again with their password.`,
      confirm: 'Enable',
    });
    if (!ok) return;
    await save(user, { active: !disabling }, 'toggle', (u) => `${u.full_name}’s account is ${u.active ? 'enabled' : 'disabled'}.`);
  }

  async function sendReset(user) {
    try {
      await api('POST', `/users/${user.id}/password-reset`, { body: {} });
      tell(`A link to choose a new password is on its way to ${user.email}.`);
    } catch (err) {
      showError(feedback, err);
    }
  }

  /** An import may have created groups: offer them in the filter. */
  async function loadGroups() {
    const chosen = f.group_id.control.value;
    replace(f.group_id.control, [...select(groupOptions(await fetchAll('/groups')), chosen).children]);
    f.group_id.control.value = chosen;
  }

  await load();
  replace(main,
    h('h1', { text: 'People' }),
    filterForm, feedback, results,
    importSection({ onImported: () => Promise.all([load(), loadGroups()]).catch((err) => showError(feedback, err)) }));
}
