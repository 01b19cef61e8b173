// One group: its members (remove), students to add (search), rename and delete.

import { api, fetchAll } from '../api.js';
import { announce, h, replace, showError, table } from '../dom.js';
import { count } from './common.js';
import { deleteGroup, renameGroup } from './groups.js';
import { studentPicker } from './student_picker.js';

export async function render(main, ctx) {
  const id = ctx.params[0];
  let [group, members] = await Promise.all([api('GET', `/groups/${id}`), fetchAll(`/groups/${id}/members`)]);
  ctx.setTitle(group.name);
  const errors = h('div', { class: 'form-errors' });
  const heading = h('h1', { text: group.name });
  const description = h('p', { class: 'description' });
  const total = h('p', { class: 'summary', role: 'status' });
  const list = h('div', {});
  const memberIds = () => new Set(members.map((m) => m.id));

  function drawHead() {
    heading.textContent = group.name;
    description.textContent = group.description || '';
    description.hidden = !group.description;
    ctx.setTitle(group.name);
  }

  function draw() {
    total.textContent = `${count(group.member_count, 'member')}.`;
    replace(list, table(`Members of ${group.name}`, [
      ['Name', (m) => m.full_name],
      ['Email', (m) => m.email],
      ['Status', (m) => (m.active ? 'Active' : 'Disabled')],
      ['Actions', (m) => h('button', { type: 'button', class: 'link danger', text: 'Remove', 'aria-label': `Remove ${m.full_name} from the group`, onclick: () => remove(m) })],
    ], members, { empty: 'Nobody is in this group yet. Find students below to add them.' }));
  }

  async function refreshMembers(memberCount) {
    members = await fetchAll(`/groups/${id}/members`);
    group = { ...group, member_count: memberCount };
    draw();
    picker.refresh();
  }

  async function remove(member) {
    const index = members.indexOf(member);
    try {
      const { member_count: memberCount } = await api('DELETE', `/groups/${id}/members/${member.id}`);
      await refreshMembers(memberCount);
      showError(errors, null);
      announce(`Removed ${member.full_name}. ${count(memberCount, 'member')} left.`);
      const buttons = list.querySelectorAll('button');
      (buttons[index] || buttons[index - 1] || heading).focus();
    } catch (err) {
      showError(errors, err);
    }
  }

  const picker = studentPicker({
    label: 'Find students to add',
    errors,
    isPicked: (user) => memberIds().has(user.id),
    onPick: async (user) => {
      const { member_count: memberCount } = await api('POST', `/groups/${id}/members`, { body: { user_ids: [user.id] } });
      await refreshMembers(memberCount);
      announce(`Added ${user.full_name}. ${count(memberCount, 'member')}.`);
    },
  });

  const rename = h('button', { type: 'button', class: 'secondary', text: 'Rename' });
  rename.addEventListener('click', async () => {
    const saved = await renameGroup(group, errors);
    if (saved) {
      group = saved;
      drawHead();
      draw();
    }
  });
  const removeGroup = h('button', { type: 'button', class: 'link danger', text: 'Delete group' });
  removeGroup.addEventListener('click', async () => {
    if (await deleteGroup(group, errors)) ctx.go('#/admin/groups');
  });

  drawHead();
  draw();
  replace(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/admin/groups', text: 'Groups' })),
    h('div', { class: 'page-head' }, heading, h('div', { class: 'actions' }, rename, removeGroup)),
    description, errors,
    h('section', { 'aria-labelledby': 'members-h' }, h('h2', { id: 'members-h', text: 'Members' }), total, list),
    h('section', { class: 'card', 'aria-labelledby': 'add-members-h' },
      h('h2', { id: 'add-members-h', text: 'Add students' }), picker.element));
}
