// Webhooks: endpoints that receive events (create with the events to send, the secret shown
// once; switch on and off; delete), and each endpoint's deliveries with a Redeliver button.

import { api, pagination } from '../api.js';
import { announce, checkbox, confirmDialog, field, formatDateTime, h, notice, replace, showError, showFieldErrors, table } from '../dom.js';
import { count, hashFor, pager, queryOf } from './common.js';

const PAGE_SIZE = 25;
export const EVENTS = [
  ['attempt.submitted', 'An attempt is submitted (by the student, at the deadline, or by an admin)'],
  ['attempt.graded', 'An attempt is graded'],
  ['results.released', 'An exam’s results are released'],
  ['regrade.finished', 'A regrade job finishes'],
];
const DELIVERY_LABELS = { pending: 'Waiting', sending: 'Sending', delivered: 'Delivered', failed: 'Failed' };

function deliveryPill(status) {
  const kind = { delivered: 'succeeded', failed: 'failed', pending: 'queued', sending: 'running' }[status];
  return h('span', { class: `pill status-${kind}`, text: DELIVERY_LABELS[status] || status });
}

/** The secret, once, with a note that it will not be shown again. */
function secretNotice(hook) {
  return notice('ok',
    h('p', { text: `Webhook created for ${hook.url}. Its signing secret is shown only now: copy it into the receiver.` }),
    h('p', {}, h('code', { class: 'secret', text: hook.secret, 'data-testid': 'webhook-secret' })),
    h('p', { class: 'hint', text: 'Each request carries X-Exam-Signature: sha256=<HMAC-SHA256 of the body with this secret>.' }));
}

function createForm(errors, onCreated) {
  const url = field('Receiver URL', h('input', { type: 'url', name: 'url', placeholder: 'https://lms.school.example/hooks/exam', autocomplete: 'off' }),
    { hint: 'https on a public address; plain http and internal addresses only for hosts the operator allowed (WEBHOOK_ALLOWED_HOSTS).', wide: true });
  const boxes = EVENTS.map(([name, label]) => checkbox(`${name}: ${label}`, true, { name: 'events', value: name }));
  const eventsSet = h('fieldset', { class: 'field wide' }, h('legend', { text: 'Events to send' }), boxes);
  const eventsError = h('p', { class: 'field-error', hidden: true });
  eventsSet.append(eventsError);
  const fields = { url, events: { setError: (m) => { eventsError.textContent = m || ''; eventsError.hidden = !m; } } };
  const form = h('form', { class: 'inline-form', novalidate: true, 'aria-labelledby': 'new-webhook-h' },
    url, eventsSet, h('button', { type: 'submit', class: 'primary', text: 'Create webhook' }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { url: url.control.value.trim(), events: boxes.filter((b) => b.control.checked).map((b) => b.control.value) };
    url.setError(body.url ? '' : 'Enter the receiver’s URL.');
    fields.events.setError(body.events.length ? '' : 'Choose at least one event.');
    if (!body.url || !body.events.length) return;
    try {
      const created = await api('POST', '/webhooks', { body });
      showError(errors, null);
      onCreated(created);
    } catch (err) {
      if (showFieldErrors(fields, err)) showError(errors, null);
      else showError(errors, err);
    }
  });
  return form;
}

async function toggle(hook, errors) {
  try {
    await api('PATCH', `/webhooks/${hook.id}`, { body: { active: !hook.active } });
    announce(`${hook.active ? 'Paused' : 'Resumed'} the webhook to ${hook.url}.`);
    return true;
  } catch (err) {
    showError(errors, err);
    return false;
  }
}

async function remove(hook, errors) {
  const ok = await confirmDialog({
    title: 'Delete this webhook?',
    body: [`Nothing more is sent to ${hook.url}; deliveries still waiting are dropped.`],
    confirm: 'Delete webhook', danger: true,
  });
  if (!ok) return false;
  try {
    await api('DELETE', `/webhooks/${hook.id}`);
    announce('Deleted the webhook.');
    return true;
  } catch (err) {
    showError(errors, err);
    return false;
  }
}

/** The list and the form; `justCreated` (the POST's answer) shows its secret, once. */
export async function render(main, ctx, justCreated = null) {
  ctx.setTitle('Webhooks');
  const filters = queryOf({ page: 1 });
  const errors = h('div', { class: 'form-errors' });
  const reply = await api('GET', '/webhooks', { query: { page: filters.page, page_size: PAGE_SIZE }, full: true });
  const pages = pagination(reply.headers) || { total: reply.data.length };
  const list = table('Webhooks', [
    ['URL', (w) => h('a', { href: `#/admin/webhooks/${w.id}`, text: w.url })],
    ['Events', (w) => w.events.join(', ')],
    ['State', (w) => (w.active ? 'Active' : 'Paused')],
    ['Created', (w) => formatDateTime(w.created_at)],
    ['Actions', (w) => h('span', { class: 'row-links' },
      h('a', { href: `#/admin/webhooks/${w.id}`, text: 'Deliveries' }),
      h('button', { type: 'button', class: 'link', text: w.active ? 'Pause' : 'Resume', 'aria-label': `${w.active ? 'Pause' : 'Resume'} ${w.url}`, onclick: async () => { if (await toggle(w, errors)) ctx.reload(); } }),
      h('button', { type: 'button', class: 'link danger', text: 'Delete', 'aria-label': `Delete ${w.url}`, onclick: async () => { if (await remove(w, errors)) ctx.reload(); } }))],
  ], reply.data, { empty: 'No webhooks yet. Create one below to send exam events to another system.' });
  const createErrors = h('div', { class: 'form-errors' });
  // The secret is in the POST's answer only: the page is drawn again with it on top.
  const form = createForm(createErrors, (hook) => render(main, ctx, hook));
  replace(main,
    h('h1', { text: 'Webhooks' }),
    h('p', { class: 'muted', text: 'Each event is sent as a signed POST by a worker, retried with back-off for 24 hours until the receiver answers 2xx.' }),
    errors, justCreated ? secretNotice(justCreated) : null,
    h('p', { class: 'muted', role: 'status', text: `${count(pages.total ?? reply.data.length, 'webhook')}.` }),
    list,
    pager(pages, (page) => ctx.go(hashFor('#/admin/webhooks', { ...filters, page }))),
    h('section', { class: 'card', 'aria-labelledby': 'new-webhook-h' },
      h('h2', { id: 'new-webhook-h', text: 'New webhook' }), form, createErrors));
}

export async function renderDeliveries(main, ctx) {
  const hookId = ctx.params[0];
  const filters = queryOf({ page: 1 });
  const errors = h('div', { class: 'form-errors' });
  const hook = await api('GET', `/webhooks/${hookId}`);
  ctx.setTitle(`Deliveries to ${hook.url}`);
  const reply = await api('GET', `/webhooks/${hookId}/deliveries`, { query: { page: filters.page, page_size: PAGE_SIZE }, full: true });
  const pages = pagination(reply.headers) || { total: reply.data.length };
  const redeliver = async (d) => {
    try {
      await api('POST', `/webhooks/${hookId}/deliveries/${d.id}/redeliver`);
      announce(`Sending ${d.event} again.`);
      ctx.reload();
    } catch (err) {
      showError(errors, err);
    }
  };
  const list = table('Deliveries, newest first', [
    ['Event', (d) => h('span', {}, d.event, h('br'), h('small', { class: 'muted', text: d.event_id }))],
    ['Status', (d) => deliveryPill(d.status)],
    ['Answer', (d) => (d.response_code ? `HTTP ${d.response_code}` : d.error || '—')],
    ['Tries', (d) => String(d.tries)],
    ['Created', (d) => formatDateTime(d.created_at)],
    ['Next try', (d) => (d.next_try_at ? formatDateTime(d.next_try_at) : '—')],
    ['Delivered', (d) => (d.delivered_at ? formatDateTime(d.delivered_at) : '—')],
    ['Actions', (d) => h('button', { type: 'button', class: 'link', text: 'Redeliver', 'aria-label': `Redeliver ${d.event} ${d.event_id}`, onclick: () => redeliver(d) })],
  ], reply.data, { empty: 'Nothing sent to this webhook yet.' });
  replace(main,
    h('p', {}, h('a', { href: '#/admin/webhooks', text: '← Webhooks' })),
    h('h1', { text: 'Deliveries' }),
    h('p', { class: 'muted', text: `${hook.url} · ${hook.active ? 'active' : 'paused'} · ${hook.events.join(', ')}` }),
    errors,
    h('p', { class: 'muted', role: 'status', text: `${count(pages.total ?? reply.data.length, 'delivery', 'deliveries')}.` }),
    list,
    pager(pages, (page) => ctx.go(hashFor(`#/admin/webhooks/${hookId}`, { ...filters, page }))));
}
