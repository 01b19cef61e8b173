// The exam editor's Audience: every student, or only the groups and students assigned;
// how many may sit the exam. Saved with PATCH audience and PUT assignees.

import { api, fetchAll } from '../api.js';
import { announce, append, checkbox, h, newId, notice, replace, showError } from '../dom.js';
import { count } from './common.js';
import { studentPicker } from './student_picker.js';

const byName = (a, b) => a.full_name.localeCompare(b.full_name);

/** The students assigned by name, with their names: one by one when few, else every student. */
async function namedStudents(ids) {
  if (!ids.length) return [];
  const wanted = new Set(ids);
  const found = ids.length <= 25
    ? await Promise.all(ids.map((id) => api('GET', `/users/${id}`)))
    : (await fetchAll('/users', { role: 'student' })).filter((u) => wanted.has(u.id));
  return found.sort(byName);
}

export async function audienceSection(examId) {
  const [initial, groups] = await Promise.all([api('GET', `/exams/${examId}/assignees`), fetchAll('/groups')]);
  let saved = initial;
  const state = { audience: saved.audience, groupIds: new Set(saved.group_ids), students: await namedStudents(saved.user_ids) };
  let dirty = false;
  const errors = h('div', { class: 'form-errors' });
  const done = h('div', {});
  const eligible = h('p', { class: 'summary', role: 'status' });
  const assignees = h('div', { class: 'assignees' });
  const chosen = h('div', {});

  function changed() {
    dirty = true;
    replace(done);
    drawCount();
  }

  function drawCount() {
    const n = saved.eligible_count;
    eligible.textContent = (saved.audience === 'everyone'
      ? `Every active student may sit this exam (${n} now).`
      : `${count(n, 'student')} may sit this exam.`) + (dirty ? ' Save to apply your changes.' : '');
  }

  const radioName = newId('audience');
  const option = (value, label, hint) => {
    const hintId = newId('hint');
    const input = h('input', { type: 'radio', name: radioName, value, id: newId('r'), checked: state.audience === value, 'aria-describedby': hintId });
    input.addEventListener('change', () => {
      state.audience = value;
      assignees.hidden = value === 'everyone';
      changed();
    });
    return h('div', { class: 'radio-option' }, h('div', { class: 'check' }, input, h('label', { for: input.id, text: label })),
      h('p', { class: 'hint', id: hintId, text: hint }));
  };
  const mode = h('fieldset', { class: 'checks' }, h('legend', { text: 'Who may sit this exam' }),
    option('assigned', 'Assigned students only', 'The groups and students chosen below.'),
    option('everyone', 'Every student', 'Every active student account, now and later.'));

  const groupBoxes = groups.map((g) => {
    const box = checkbox(`${g.name} (${count(g.member_count, 'member')})`, state.groupIds.has(g.id), { name: 'group' });
    box.control.addEventListener('change', () => {
      if (box.control.checked) state.groupIds.add(g.id); else state.groupIds.delete(g.id);
      changed();
    });
    return box;
  });
  const groupPicker = h('fieldset', { class: 'checks' }, h('legend', { text: 'Groups' }),
    groups.length ? h('div', { class: 'pick-box' }, groupBoxes)
      : h('p', { class: 'muted' }, 'No groups yet. ', h('a', { href: '#/admin/groups', text: 'Create groups' }), ' or import students with a groups column.'));

  function drawStudents() {
    replace(chosen, state.students.length ? h('ul', { class: 'bank-list' }, state.students.map((s, index) => h('li', {},
      h('span', {}, s.full_name, h('span', { class: 'muted', text: ` · ${s.email}` })),
      h('button', {
        type: 'button', class: 'link danger', text: 'Remove', 'aria-label': `Remove ${s.full_name} from the audience`,
        onclick: () => {
          state.students.splice(index, 1);
          drawStudents();
          picker.refresh();
          changed();
          const buttons = chosen.querySelectorAll('button');
          (buttons[index] || buttons[index - 1] || save).focus();
        },
      }))))
      : h('p', { class: 'muted', text: 'No students chosen by name.' }));
  }

  const picker = studentPicker({
    label: 'Find a student to add by name',
    errors,
    isPicked: (user) => state.students.some((s) => s.id === user.id),
    onPick: (user) => {
      state.students.push(user);
      state.students.sort(byName);
      drawStudents();
      changed();
      announce(`Added ${user.full_name}. Save the audience to keep it.`);
    },
  });

  const save = h('button', { type: 'button', class: 'primary', text: 'Save audience' });
  save.addEventListener('click', async () => {
    save.disabled = true;
    try {
      if (state.audience !== saved.audience) await api('PATCH', `/exams/${examId}`, { body: { audience: state.audience } });
      saved = await api('PUT', `/exams/${examId}/assignees`, {
        body: { group_ids: [...state.groupIds], user_ids: state.students.map((s) => s.id) },
      });
      dirty = false;
      drawCount();
      showError(errors, null);
      replace(done, notice('ok', 'Audience saved.'));
    } catch (err) {
      replace(done);
      showError(errors, err);
    } finally {
      save.disabled = false;
    }
  });

  assignees.hidden = state.audience === 'everyone';
  append(assignees, [groupPicker, h('h3', { text: 'Students chosen by name' }), chosen, picker.element]);
  drawStudents();
  drawCount();
  return h('section', { class: 'card', 'aria-labelledby': 'audience-h' },
    h('h2', { id: 'audience-h', text: 'Audience' }),
    eligible, mode, assignees, errors, done, h('div', { class: 'actions' }, save),
    h('p', { class: 'hint', text: 'Taking students out of the audience never deletes their attempts.' }));
}
