// LTI 1.3 platforms (Canvas, Moodle, ...): the URLs to paste into the LMS, the registered
// platforms (register, forget), scores a gradebook never took (send again), and per platform
// the exams placed in its courses with a roster sync (NRPS). See docs/lti.md.

import { api } from '../api.js';
import { announce, checkbox, confirmDialog, field, formatDateTime, h, notice, replace, showError, showFieldErrors, table } from '../dom.js';

const URL_FIELDS = [
  ['auth_login_url', 'Authentication request URL', 'https://lms.school.example/mod/lti/auth.php'],
  ['auth_token_url', 'Access token URL', 'https://lms.school.example/mod/lti/token.php'],
  ['key_set_url', 'Public keyset URL', 'https://lms.school.example/mod/lti/certs.php'],
];

function ourUrls() {
  const base = `${location.origin}/api/v1/lti`;
  const row = (label, value) => h('li', {}, `${label}: `, h('code', { text: value }));
  return h('section', { class: 'card', 'aria-labelledby': 'lti-urls-h' },
    h('h2', { id: 'lti-urls-h', text: 'Paste these into the LMS' }),
    h('ul', {},
      row('Tool, redirect and deep linking URL', `${base}/launch`),
      row('Initiate login URL', `${base}/login`),
      row('Public keyset (JWKS) URL', `${base}/jwks`)));
}

function input(name, attrs = {}) {
  return h('input', { type: 'text', name, autocomplete: 'off', ...attrs });
}

function registerForm(errors, onDone) {
  const fields = {
    name: field('Name', input('name', { placeholder: 'Moodle (school)' })),
    issuer: field('Platform ID (issuer)', input('issuer', { placeholder: 'https://lms.school.example' }), { wide: true }),
    client_id: field('Client ID', input('client_id')),
    deployment_ids: field('Deployment IDs', input('deployment_ids'), { hint: 'Separated by commas.' }),
  };
  for (const [name, label, placeholder] of URL_FIELDS) {
    fields[name] = field(label, input(name, { type: 'url', placeholder }), { wide: true });
  }
  const admins = checkbox('Instructors sign in as admins of this system (all exams, not only their course’s)', false, { name: 'instructors_are_admins' });
  const form = h('form', { class: 'inline-form', novalidate: true, 'aria-labelledby': 'new-lti-h' },
    Object.values(fields), admins, h('button', { type: 'submit', class: 'primary', text: 'Register platform' }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.control.value.trim()]));
    body.deployment_ids = body.deployment_ids.split(',').map((d) => d.trim()).filter(Boolean);
    body.instructors_are_admins = admins.control.checked;
    try {
      await api('POST', '/lti/platforms', { body });
      showError(errors, null);
      announce(`Registered ${body.name}.`);
      onDone();
    } catch (err) {
      if (showFieldErrors(fields, err)) showError(errors, new Error('Please correct the fields marked above.'));
      else showError(errors, err);
    }
  });
  return form;
}

async function forget(platform, errors) {
  const ok = await confirmDialog({
    title: `Forget ${platform.name}?`,
    body: ['Its launches stop at once and its grade posts are dropped. Accounts and attempts stay.'],
    confirm: 'Forget platform', danger: true,
  });
  if (!ok) return false;
  try {
    await api('DELETE', `/lti/platforms/${platform.id}`);
    announce(`Forgot ${platform.name}.`);
    return true;
  } catch (err) {
    showError(errors, err);
    return false;
  }
}

/** Scores a gradebook never took (a day of retries), each with a button to send it again. */
function failedPosts(posts, errors, ctx) {
  const again = async (post) => {
    try {
      await api('POST', `/lti/grade-posts/${post.id}/retry`, { body: {} });
      announce('Sending the score again.');
      ctx.reload();
    } catch (err) {
      showError(errors, err);
    }
  };
  return table('Scores not taken by a gradebook', [
    ['Platform user', (p) => p.sub],
    ['Score', (p) => `${p.score_given} / ${p.score_maximum}`],
    ['Last answer', (p) => (p.response_code ? `HTTP ${p.response_code}` : p.last_error || '—')],
    ['Tries', (p) => String(p.tries)],
    ['Since', (p) => formatDateTime(p.created_at)],
    ['Actions', (p) => h('button', { type: 'button', class: 'link', text: 'Send again', 'aria-label': `Send the score of ${p.sub} again`, onclick: () => again(p) })],
  ], posts, { empty: 'Every score so far reached its gradebook (or is still being tried).' });
}

export async function render(main, ctx) {
  ctx.setTitle('LTI platforms');
  const errors = h('div', { class: 'form-errors' });
  const [platforms, failed] = await Promise.all([
    api('GET', '/lti/platforms'), api('GET', '/lti/grade-posts', { query: { status: 'failed', page_size: 50 } }),
  ]);
  const list = table('Registered platforms', [
    ['Name', (p) => h('a', { href: `#/admin/lti/${p.id}`, text: p.name })],
    ['Issuer', (p) => p.issuer],
    ['Client ID', (p) => p.client_id],
    ['Deployments', (p) => p.deployment_ids.join(', ')],
    ['Instructors', (p) => (p.instructors_are_admins ? 'Admins' : 'Refused')],
    ['Actions', (p) => h('span', { class: 'row-links' },
      h('a', { href: `#/admin/lti/${p.id}`, text: 'Placed exams' }),
      h('button', { type: 'button', class: 'link danger', text: 'Forget', 'aria-label': `Forget ${p.name}`, onclick: async () => { if (await forget(p, errors)) ctx.reload(); } }))],
  ], platforms, { empty: 'No platform yet. Register your LMS below once it knows our URLs.' });
  const formErrors = h('div', { class: 'form-errors' });
  replace(main,
    h('h1', { text: 'LTI platforms' }),
    h('p', { class: 'muted', text: 'Students open exams from their course; scores go to the course gradebook once results are released.' }),
    errors, ourUrls(), list, failedPosts(failed, errors, ctx),
    h('section', { class: 'card', 'aria-labelledby': 'new-lti-h' },
      h('h2', { id: 'new-lti-h', text: 'Register a platform' }), registerForm(formErrors, () => ctx.reload()), formErrors));
}

export async function renderLinks(main, ctx) {
  const platformId = ctx.params[0];
  const errors = h('div', { class: 'form-errors' });
  const [platform, links] = await Promise.all([
    api('GET', `/lti/platforms/${platformId}`), api('GET', `/lti/platforms/${platformId}/links`),
  ]);
  ctx.setTitle(`Exams placed on ${platform.name}`);
  const sync = async (link) => {
    try {
      await api('POST', `/lti/platforms/${platformId}/links/${link.id}/sync`, { body: {} });
      announce('Roster sync started: learners are enrolled in a moment.');
      replace(errors, notice('ok', `Roster sync of “${link.title || link.resource_link_id}” started.`));
    } catch (err) {
      showError(errors, err);
    }
  };
  const list = table('Placed exams', [
    ['Link', (l) => l.title || l.resource_link_id],
    ['Exam', (l) => h('a', { href: `#/admin/exams/${l.exam_id}`, text: 'Open exam' })],
    ['Course', (l) => l.context_id || '—'],
    ['Gradebook', (l) => (l.lineitem_url ? 'Scores sent' : 'No grade column')],
    ['Placed', (l) => formatDateTime(l.created_at)],
    ['Actions', (l) => (l.memberships_url
      ? h('button', { type: 'button', class: 'link', text: 'Sync roster', 'aria-label': `Sync the roster of ${l.title || l.resource_link_id}`, onclick: () => sync(l) })
      : '—')],
  ], links, { empty: 'No exam is placed on this platform yet: teachers place them from their course.' });
  replace(main,
    h('p', {}, h('a', { href: '#/admin/lti', text: '← LTI platforms' })),
    h('h1', { text: `Exams placed on ${platform.name}` }),
    errors, list);
}
