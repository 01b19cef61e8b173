// Find students by name or email and pick them one at a time (group members, an exam's
// students chosen by name).

import { api } from '../api.js';
import { field, h, replace, showError } from '../dom.js';

/**
 * A search form and its results. `onPick(user)` is called for "Add" (it may be async);
 * `isPicked(user)` marks those already picked. Returns {element, refresh}.
 */
export function studentPicker({ label, onPick, isPicked, errors }) {
  const search = field(label, h('input', { type: 'search', name: 'student-search', autocomplete: 'off' }),
    { hint: 'Part of a name or an email address; empty lists the first students.' });
  const found = h('div', { class: 'pick-results' });
  const form = h('form', { class: 'inline-form', role: 'search', 'aria-label': 'Student search' },
    search, h('button', { type: 'submit', class: 'secondary', text: 'Search students' }));
  let last = [];

  function draw() {
    replace(found, last.length ? h('ul', { class: 'bank-list' }, last.map((user) => {
      const picked = isPicked(user);
      const add = h('button', {
        type: 'button', class: 'secondary small', text: picked ? 'Added' : 'Add',
        'aria-label': picked ? `${user.full_name} added` : `Add ${user.full_name}`, disabled: picked,
      });
      add.addEventListener('click', async () => {
        add.disabled = true;
        try {
          await onPick(user);
          showError(errors, null);
        } catch (err) {
          showError(errors, err);
        }
        draw();
        (found.querySelector('button:not(:disabled)') || search.control).focus();
      });
      return h('li', {}, h('span', {}, user.full_name,
        h('span', { class: 'muted', text: ` · ${user.email}${user.active ? '' : ' · disabled'}` })), add);
    })) : h('p', { class: 'muted', role: 'status', text: 'No students match.' }));
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      last = await api('GET', '/users', { query: { role: 'student', q: search.control.value.trim(), page_size: 10 } });
      showError(errors, null);
      draw();
    } catch (err) {
      showError(errors, err);
    }
  });

  return { element: h('div', { class: 'picker' }, form, found), refresh: () => { if (last.length) draw(); } };
}
