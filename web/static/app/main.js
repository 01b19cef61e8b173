// The client's entry point: a hash router (#/exams, #/admin/questions, ...), the top bar,
// and the rules for who may see which page. Pages are modules exporting
// render(main, ctx) that may return a cleanup function.

import { currentUser, onSignedOut, signOut } from './api.js';
import { confirmDialog, h, notice, replace, messageOf } from './dom.js';
import * as auth from './auth.js';
import * as password from './password.js';
import * as lti from './lti.js';
import * as studentExams from './student/exams.js';
import * as attempt from './student/attempt.js';
import * as result from './student/result.js';
import * as receipt from './trust/receipt.js';
import * as questions from './admin/questions.js';
import * as questionForm from './admin/question_form.js';
import * as importPage from './admin/import.js';
import * as exams from './admin/exams.js';
import * as examEditor from './admin/exam_editor.js';
import * as roster from './admin/roster.js';
import * as gradingQueue from './admin/grading.js';
import * as regrade from './admin/regrade.js';
import * as analysis from './admin/analysis.js';
import * as audit from './admin/audit.js';
import * as people from './admin/people.js';
import * as groups from './admin/groups.js';
import * as group from './admin/group.js';
import * as webhooks from './admin/webhooks.js';
import * as ltiAdmin from './admin/lti.js';

const ROUTES = [
  ['/login', auth.renderLogin, null],
  ['/register', auth.renderRegister, null],
  ['/password/forgot', password.renderForgot, null],
  ['/password/reset', password.renderReset, null],
  // Signed in or not: a launch from the course site signs in whoever it names.
  ['/lti', lti.render, 'anyone'],
  ['/exams', studentExams.render, 'student'],
  ['/attempt/:id', attempt.render, 'student'],
  ['/result/:id', result.render, 'student'],
  // Anyone holding a receipt may check it, signed in or not.
  ['/receipts/verify', receipt.render, 'anyone'],
  ['/admin/questions', questions.render, 'admin'],
  ['/admin/questions/:id', questionForm.render, 'admin'],
  ['/admin/import', importPage.render, 'admin'],
  ['/admin/exams', exams.render, 'admin'],
  ['/admin/exams/:id', examEditor.render, 'admin'],
  ['/admin/exams/:id/roster', roster.render, 'admin'],
  ['/admin/exams/:id/grading', gradingQueue.render, 'admin'],
  ['/admin/exams/:id/regrade', regrade.render, 'admin'],
  ['/admin/exams/:id/analysis', analysis.render, 'admin'],
  ['/admin/exams/:id/audit', audit.render, 'admin'],
  ['/admin/people', people.render, 'admin'],
  ['/admin/groups', groups.render, 'admin'],
  ['/admin/groups/:id', group.render, 'admin'],
  ['/admin/webhooks', webhooks.render, 'admin'],
  ['/admin/webhooks/:id', webhooks.renderDeliveries, 'admin'],
  ['/admin/lti', ltiAdmin.render, 'admin'],
  ['/admin/lti/:id', ltiAdmin.renderLinks, 'admin'],
].map(([pattern, page, role]) => ({
  regex: new RegExp(`^${pattern.replace(/:id/g, '([\\w-]+)')}$`),
  page,
  role,
}));

const NAV = {
  student: [['#/exams', 'My exams']],
  admin: [['#/admin/exams', 'Exams'], ['#/admin/questions', 'Question bank'], ['#/admin/import', 'Import'],
    ['#/admin/people', 'People'], ['#/admin/groups', 'Groups'], ['#/admin/webhooks', 'Webhooks'],
    ['#/admin/lti', 'LTI']],
};

const main = document.getElementById('main');
let cleanup = null;
let guard = null; // returns a warning while leaving would lose something
let currentHash = null;
let visits = 0; // counts the pages shown, so a page can tell it is no longer the one shown
let flash = null; // a message for the next page (why the session ended, a new password)

function home(user) {
  if (!user) return '#/login';
  return user.role === 'admin' ? '#/admin/exams' : '#/exams';
}

/** Navigate; `replace` keeps the current entry out of the history. */
export function go(hash, { replace: swap = false } = {}) {
  if (swap) {
    history.replaceState(null, '', hash);
    route();
  } else if (location.hash === hash) route();
  else location.hash = hash;
}

function renderTopbar(user) {
  const nav = document.getElementById('nav');
  const account = document.getElementById('account');
  const path = location.hash.split('?')[0];
  replace(nav, user ? h('ul', {}, (NAV[user.role] || []).map(([href, label]) => h('li', {},
    h('a', { href, text: label, 'aria-current': path.startsWith(href) ? 'page' : null })))) : null);
  replace(account, user ? [
    h('span', { class: 'who', text: user.full_name }),
    h('button', { type: 'button', class: 'link', text: 'Sign out', onclick: leaveThenSignOut }),
  ] : null);
}

async function leaveThenSignOut() {
  if (guard && guard() && !(await confirmDialog({
    title: 'Sign out?', body: guard(), confirm: 'Sign out anyway', cancel: 'Stay', danger: true,
  }))) return;
  guard = null;
  await signOut();
  go('#/login');
}

async function route() {
  const hash = location.hash || '';
  if (hash === currentHash) return;
  if (guard && currentHash !== null) {
    const warning = guard();
    if (warning && !(await confirmDialog({ title: 'Leave this page?', body: warning, confirm: 'Leave', cancel: 'Stay' }))) {
      history.replaceState(null, '', currentHash); // back to where we were, without a new entry
      return;
    }
  }
  const user = currentUser();
  const path = hash.replace(/^#/, '').split('?')[0] || '/';
  const match = ROUTES.map((r) => ({ r, m: r.regex.exec(path) })).find((x) => x.m);
  if (!match) return go(home(user), { replace: true });
  const anyone = match.r.role === 'anyone';
  if (match.r.role && !anyone && !user) {
    sessionStorage.setItem('exam.after-login', hash);
    return go('#/login', { replace: true });
  }
  if (match.r.role && !anyone && user.role !== match.r.role) return go(home(user), { replace: true });
  if (!match.r.role && user) return go(home(user), { replace: true });

  currentHash = hash;
  if (cleanup) cleanup();
  cleanup = null;
  guard = null;
  renderTopbar(user);
  // A page that finishes loading after the user moved on neither titles nor guards the
  // page they moved to, and whatever it set up to run (a poll, a timer) is stopped at once.
  const visit = ++visits;
  const current = () => visit === visits;
  const ctx = {
    params: match.m.slice(1),
    user,
    go,
    reload: () => { currentHash = null; route(); },
    setTitle: (title) => { if (current()) document.title = `${title} · Exams`; },
    setGuard: (fn) => { if (current()) guard = fn; },
    onCleanup: (fn) => {
      if (!current()) { fn(); return; }
      const before = cleanup; cleanup = () => { before?.(); fn(); };
    },
    takeFlash: () => { const message = flash; flash = null; return message; },
    setFlash: (message) => { flash = message; },
    afterLogin: () => {
      const next = sessionStorage.getItem('exam.after-login');
      sessionStorage.removeItem('exam.after-login');
      return next;
    },
  };
  // Each navigation draws into its own element: a page still waiting for the server when
  // the user moves on finishes into a detached one, never over the page they moved to.
  const view = h('div', { class: 'view' }, h('p', { class: 'muted', text: 'Loading…' }));
  replace(main, view);
  try {
    const done = await match.r.page(view, ctx);
    if (typeof done === 'function') ctx.onCleanup(done);
  } catch (err) {
    if (currentHash !== hash) return; // navigated away meanwhile
    replace(view, h('h1', { tabindex: '-1', text: 'Something went wrong' }), notice('error', messageOf(err)),
      h('p', {}, h('button', { type: 'button', class: 'secondary', text: 'Try again', onclick: () => { currentHash = null; route(); } })));
  }
  if (currentHash === hash) focusHeading();
}

/** Move focus to the new page's heading, so keyboard and screen-reader users start there. */
function focusHeading() {
  const heading = main.querySelector('h1');
  if (!heading || main.contains(document.activeElement) && document.activeElement !== main) return;
  heading.setAttribute('tabindex', '-1');
  heading.focus({ preventScroll: true });
}

onSignedOut((reason) => {
  flash = reason;
  guard = null;
  if (!location.hash.startsWith('#/login')) {
    sessionStorage.setItem('exam.after-login', location.hash);
    go('#/login');
  }
});

window.addEventListener('hashchange', route);
window.addEventListener('beforeunload', (event) => {
  if (guard && guard()) {
    event.preventDefault();
    event.returnValue = ''; // browsers show their own wording
  }
});
document.getElementById('skip-link').addEventListener('click', (event) => {
  event.preventDefault(); // the hash belongs to the router
  main.focus();
});

route();
