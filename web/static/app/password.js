// A forgotten password: ask for a link by email, then choose a new password with it. The
// link (#/password/reset?token=...) works once and expires; using it ends every session.

import { api } from './api.js';
import { field, h, notice, replace, showError, showFieldErrors } from './dom.js';

export function renderForgot(main, ctx) {
  ctx.setTitle('Forgot your password?');
  const email = field('Email', h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true }),
    { hint: 'The address you sign in with.' });
  const errors = h('div', { class: 'form-errors' });
  const sent = h('div', {});
  const button = h('button', { type: 'submit', class: 'primary', text: 'Email me a link' });
  const form = h('form', { class: 'card narrow', novalidate: true },
    h('p', { text: 'We’ll email you a link to choose a new password.' }),
    email, errors, sent, h('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const address = email.control.value.trim();
    email.setError(address ? '' : 'Enter your email address.');
    if (!address) {
      email.control.focus();
      return;
    }
    button.disabled = true;
    try {
      await api('POST', '/auth/password/forgot', { body: { email: address }, auth: false });
      showError(errors, null);
      // The same answer whether or not the address has an account: nobody learns which do.
      replace(sent, notice('ok',
        h('p', { text: 'If an account exists for that address, we’ve emailed a link to choose a new password.' }),
        h('p', { text: 'The link works once and expires within a day. Check your spam folder if it hasn’t arrived in a few minutes.' })));
    } catch (err) {
      replace(sent);
      if (showFieldErrors({ email }, err)) email.control.focus();
      else showError(errors, err.status === 429 ? new Error('Too many requests. Wait a few minutes and try again.') : err);
    } finally {
      button.disabled = false;
    }
  });
  replace(main,
    h('h1', { class: 'center', text: 'Forgot your password?' }),
    form,
    h('p', { class: 'center' }, h('a', { href: '#/login', text: 'Back to sign in' })));
}

function badLink(message) {
  return notice('error', h('p', { text: message }),
    h('p', {}, h('a', { href: '#/password/forgot', text: 'Ask for a new link' })));
}

export function renderReset(main, ctx) {
  ctx.setTitle('Choose a new password');
  const token = new URLSearchParams(location.hash.split('?')[1] || '').get('token');
  const heading = h('h1', { class: 'center', text: 'Choose a new password' });
  if (!token) {
    replace(main, heading, h('div', { class: 'card narrow' },
      badLink('This link is incomplete. Copy the whole link from the email, or ask for a new one.')));
    return;
  }
  const fields = {
    password: field('New password', h('input', { type: 'password', name: 'password', autocomplete: 'new-password', required: true }),
      { hint: 'At least 8 characters.' }),
    repeat: field('Repeat the new password', h('input', { type: 'password', name: 'repeat', autocomplete: 'new-password', required: true })),
  };
  const errors = h('div', { class: 'form-errors' });
  const button = h('button', { type: 'submit', class: 'primary', text: 'Set new password' });
  const form = h('form', { class: 'card narrow', novalidate: true },
    Object.values(fields), errors, h('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const password = fields.password.control.value;
    fields.password.setError(password ? '' : 'Choose a password.');
    fields.repeat.setError(password && fields.repeat.control.value !== password ? 'The two passwords are different.' : '');
    const invalid = form.querySelector('[aria-invalid="true"]');
    if (invalid) {
      invalid.focus();
      return;
    }
    button.disabled = true;
    try {
      await api('POST', '/auth/password/reset', { body: { token, password }, auth: false });
      ctx.setFlash('Your password has been changed. Sign in with the new one.');
      ctx.go('#/login', { replace: true }); // the spent link stays out of the history
    } catch (err) {
      const tokenProblem = err.fieldErrors?.json?.token;
      if (tokenProblem) {
        replace(errors, badLink('This link has expired or has been used already. Links work once, for a limited time.'));
        return;
      }
      if (showFieldErrors(fields, err)) fields.password.control.focus();
      else showError(errors, err);
    } finally {
      button.disabled = false;
    }
  });
  replace(main, heading, form,
    h('p', { class: 'center' }, h('a', { href: '#/login', text: 'Back to sign in' })));
}
