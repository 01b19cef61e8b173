// Sign in and register (forgotten passwords are in password.js).

import { register, signIn } from './api.js';
import { field, h, notice, replace, showError, showFieldErrors } from './dom.js';

/** Why the server refused, in words a student or teacher can act on. */
function refusal(err) {
  if (err.status === 429) return new Error('Too many attempts. Wait a few minutes and try again.');
  if (err.code === 'account_disabled') return new Error('This account is disabled. Ask your school’s exam administrator to enable it.');
  if (err.code === 'registration_closed') return new Error('Accounts here are made by the school, so you can’t create one yourself. Ask your school’s exam administrator for an account.');
  return err;
}

function landing(user, ctx) {
  const next = ctx.afterLogin();
  const fits = next && (user.role === 'admin') === next.startsWith('#/admin');
  ctx.go(fits ? next : user.role === 'admin' ? '#/admin/exams' : '#/exams');
}

export function renderLogin(main, ctx) {
  ctx.setTitle('Sign in');
  const email = field('Email', h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true }));
  const password = field('Password', h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true }));
  const errors = h('div', { class: 'form-errors' });
  const button = h('button', { type: 'submit', class: 'primary', text: 'Sign in' });
  const flash = ctx.takeFlash();
  const form = h('form', { class: 'card narrow', novalidate: true },
    flash ? notice('info', flash) : null,
    email, password, errors, h('div', { class: 'actions' }, button,
      h('a', { href: '#/password/forgot', text: 'Forgot your password?' })));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!email.control.value || !password.control.value) {
      showError(errors, new Error('Enter your email and password.'));
      (email.control.value ? password : email).control.focus();
      return;
    }
    button.disabled = true;
    button.textContent = 'Signing in…';
    try {
      landing(await signIn(email.control.value.trim(), password.control.value), ctx);
    } catch (err) {
      showError(errors, refusal(err));
      password.control.value = '';
      password.control.focus();
    } finally {
      button.disabled = false;
      button.textContent = 'Sign in';
    }
  });
  replace(main,
    h('h1', { class: 'center', text: 'Sign in' }),
    form,
    h('p', { class: 'center' }, 'New student? ', h('a', { href: '#/register', text: 'Create an account' })));
}

export function renderRegister(main, ctx) {
  ctx.setTitle('Create an account');
  const fields = {
    full_name: field('Full name', h('input', { type: 'text', name: 'full_name', autocomplete: 'name', required: true })),
    email: field('Email', h('input', { type: 'email', name: 'email', autocomplete: 'email', required: true })),
    password: field('Password', h('input', { type: 'password', name: 'password', autocomplete: 'new-password', required: true }),
      { hint: 'At least 8 characters.' }),
  };
  const errors = h('div', { class: 'form-errors' });
  const button = h('button', { type: 'submit', class: 'primary', text: 'Create account' });
  const form = h('form', { class: 'card narrow', novalidate: true },
    Object.values(fields), errors, h('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      const user = await register(fields.full_name.control.value.trim(),
        fields.email.control.value.trim(), fields.password.control.value);
      landing(user, ctx);
    } catch (err) {
      const matched = showFieldErrors(fields, err);
      showError(errors, matched ? new Error('Please correct the fields marked above.') : refusal(err));
      if (matched) form.querySelector('[aria-invalid="true"]')?.focus();
    } finally {
      button.disabled = false;
    }
  });
  replace(main,
    h('h1', { class: 'center', text: 'Create a student account' }),
    form,
    h('p', { class: 'center' }, 'Already have an account? ', h('a', { href: '#/login', text: 'Sign in' })));
}
