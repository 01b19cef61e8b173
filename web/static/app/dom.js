// Small DOM helpers: elements are built from text, never from HTML strings, so nothing a
// user typed can become markup, and no inline style or handler ever reaches the page (CSP).

let uid = 0;

/** A unique element id with a readable prefix. */
export function newId(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** Create an element: h('button', {class: 'primary', onclick: fn}, 'Save'). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'for') el.htmlFor = value;
    else if (key === 'value') el.value = value;
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (typeof value === 'boolean' && key in el) el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** Append children: nodes, strings, numbers, arrays; null and false are skipped. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace everything inside an element. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A labelled form control with an optional hint and a slot for its error message. */
export function field(label, control, { hint, wide } = {}) {
  control.id ||= newId('f');
  const describedBy = [];
  const hintEl = hint ? h('p', { class: 'hint', id: newId('hint'), text: hint }) : null;
  if (hintEl) describedBy.push(hintEl.id);
  const errorEl = h('p', { class: 'field-error', id: newId('err'), hidden: true });
  describedBy.push(errorEl.id);
  control.setAttribute('aria-describedby', describedBy.join(' '));
  const wrap = h('div', { class: wide ? 'field wide' : 'field' },
    h('label', { for: control.id, text: label }), hintEl, control, errorEl);
  wrap.control = control;
  wrap.setError = (message) => {
    errorEl.textContent = message || '';
    errorEl.hidden = !message;
    if (message) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  };
  return wrap;
}

/** A checkbox with its label after it. */
export function checkbox(label, checked, props = {}) {
  const input = h('input', { type: 'checkbox', id: newId('c'), checked: !!checked, ...props });
  const wrap = h('div', { class: 'check' }, input, h('label', { for: input.id, text: label }));
  wrap.control = input;
  return wrap;
}

/** A <select> from [value, label] pairs. */
export function select(options, value, props = {}) {
  return h('select', props,
    options.map(([v, label]) => h('option', { value: v, text: label, selected: v === value })));
}

/** Tell screen-reader users about something that changed without moving their focus. */
export function announce(message) {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  setTimeout(() => { region.textContent = message; }, 50);
}

/** A message box: kind is 'error' (announced at once), 'ok' or 'info'. */
export function notice(kind, ...children) {
  const role = kind === 'error' ? 'alert' : 'status';
  return h('div', { class: `notice ${kind}`, role }, ...children);
}

/** Show an error (or nothing) in a container that has role=alert. */
export function showError(container, err) {
  replace(container, err ? notice('error', messageOf(err)) : null);
}

/** A sentence a person can act on, from any error the API module throws. */
export function messageOf(err) {
  if (!err) return '';
  if (err.name === 'NetworkError') return 'The server cannot be reached. Check your connection and try again.';
  return err.message || 'Something went wrong.';
}

/** Put field errors of a 422 next to their fields; returns true if any matched. */
export function showFieldErrors(fields, err) {
  for (const f of Object.values(fields)) f.setError?.('');
  const errors = err?.fieldErrors?.json || err?.fieldErrors || {};
  let matched = false;
  for (const [name, messages] of Object.entries(errors)) {
    if (fields[name]?.setError) {
      const text = Array.isArray(messages) ? messages.flat(Infinity).join(' ') : JSON.stringify(messages);
      fields[name].setError(text);
      matched = true;
    }
  }
  return matched;
}

/** A modal <dialog> around `content`; `close(answer)` ends it and resolves the promise. */
function modal(title, content, { focus } = {}) {
  return new Promise((resolve) => {
    const titleId = newId('dlg');
    const dialog = h('dialog', { 'aria-labelledby': titleId }, h('h2', { id: titleId, text: title }));
    const opener = document.activeElement;
    let answer = false;
    const close = (value) => { answer = value; dialog.close(); };
    append(dialog, [content(close)]);
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (opener && document.contains(opener)) opener.focus();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    (focus?.(dialog) || dialog.querySelector('.actions button'))?.focus();
  });
}

/** A modal dialog; resolves true when the main action is chosen. */
export function confirmDialog({ title, body, confirm = 'OK', cancel = 'Cancel', danger = false }) {
  return modal(title, (close) => [
    ...(Array.isArray(body) ? body : [body]).map((b) => (typeof b === 'string' ? h('p', { text: b }) : b)),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: danger ? 'danger' : 'primary', text: confirm, onclick: () => close(true) }),
      h('button', { type: 'button', class: 'secondary', text: cancel, onclick: () => close(false) })),
  ]);
}

/**
 * A modal form of field()s; resolves true when it is submitted and `check()` (which may
 * mark fields with setError) returns true. The first control has the focus.
 */
export function formDialog({ title, fields, confirm = 'Save', cancel = 'Cancel', check = () => true }) {
  return modal(title, (close) => {
    const form = h('form', { novalidate: true }, fields,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary', text: confirm }),
        h('button', { type: 'button', class: 'secondary', text: cancel, onclick: () => close(false) })));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (check()) close(true);
      else form.querySelector('[aria-invalid="true"]')?.focus();
    });
    return form;
  }, { focus: (dialog) => dialog.querySelector('input:not([disabled]), select:not([disabled]), textarea') });
}

export const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** 3725 -> "1:02:05"; 65 -> "1:05". */
export function formatDuration(totalSeconds) {
  const s = Math.max(0, Math.floor(totalSeconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = String(s % 60).padStart(2, '0');
  return hours ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/** 5400 -> "1 h 30 min"; 40 -> "40 s". */
export function humanDuration(totalSeconds) {
  const s = Math.round(totalSeconds);
  if (s < 120) return `${s} s`;
  const hours = Math.floor(s / 3600);
  const minutes = Math.round((s % 3600) / 60);
  return [hours ? `${hours} h` : '', minutes ? `${minutes} min` : ''].filter(Boolean).join(' ');
}

/** A wall-clock time as HH:MM:SS, in the reader's time zone. */
export function formatTime(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/** An ISO timestamp as a short local date and time, or an empty string. */
export function formatDateTime(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

/** 1 -> "1 point", 2.5 -> "2.5 points". */
export function points(n) {
  const value = Number(n);
  return `${value} ${value === 1 ? 'point' : 'points'}`;
}

/** A score like "3 / 4", or a dash when there is none yet. */
export function score(value, max) {
  return value === null || value === undefined ? '—' : `${Number(value)} / ${Number(max)}`;
}

/** A table whose columns are [heading, cell(row)] pairs; wrapped so it scrolls on a phone. */
export function table(caption, columns, rows, { empty = 'Nothing here yet.' } = {}) {
  if (!rows.length) return h('p', { class: 'muted empty', text: empty });
  return h('div', { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: '0' },
    h('table', {},
      h('caption', { class: 'visually-hidden', text: caption }),
      h('thead', {}, h('tr', {}, columns.map(([heading]) => h('th', { scope: 'col', text: heading })))),
      h('tbody', {}, rows.map((row) => h('tr', {}, columns.map(([, cell]) => h('td', {}, cell(row))))))));
}
