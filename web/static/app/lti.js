// The landing page of a launch from the school's course site (LTI 1.3): the server sent
// the browser here with a one-time code (#/lti?code=...), never a token. The code is taken
// out of the address bar at once, exchanged once for the normal token pair, and the
// student goes to their exams (an admin to the exam's page).

import { signInWithLtiCode } from './api.js';
import { h, notice, replace } from './dom.js';

function refusal(err) {
  if (err.code === 'lti_code_invalid') {
    return 'This link from your course has expired or was already used. Open the exam from your course page again.';
  }
  if (err.code === 'account_disabled') return 'This account is disabled. Ask your school’s exam administrator to enable it.';
  return err.message || 'The sign-in from your course did not work. Open the exam from your course page again.';
}

export async function render(main, ctx) {
  ctx.setTitle('Signing you in');
  const code = new URLSearchParams(location.hash.split('?')[1] || '').get('code');
  // The code must not stay in history or be bookmarked, even though it works only once.
  history.replaceState(null, '', '#/lti');
  if (!code) {
    replace(main, h('h1', { text: 'Open the exam from your course' }),
      notice('info', 'This page is reached from your course site. Open the exam there.'));
    return;
  }
  replace(main, h('p', { class: 'muted', text: 'Signing you in from your course…' }));
  try {
    const session = await signInWithLtiCode(code);
    const next = session.user.role === 'admin' ? `#/admin/exams/${session.exam_id}` : '#/exams';
    ctx.go(next, { replace: true });
  } catch (err) {
    replace(main, h('h1', { tabindex: '-1', text: 'Could not sign you in' }), notice('error', refusal(err)));
  }
}
