// The sign-in form both pages show: Username, Password, Sign in. `accept(user)` runs after a
// successful sign-in; a text it returns (or resolves to) is shown as the form's error instead.
import * as api from '/lib/api.js';
import { field, h } from '/lib/dom.js';

export function signInForm({ title, message, accept }) {
  const username = h('input', { name: 'username', autocomplete: 'username', required: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const status = h('p', { class: 'error-text', role: 'alert' }, message || '');
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    {
      class: 'card signin',
      'aria-labelledby': 'signin-title',
      onsubmit: async (e) => {
        e.preventDefault();
        submit.disabled = true;
        status.textContent = '';
        try {
          const user = await api.login(username.value, password.value);
          password.value = '';
          const refused = await accept(user);
          if (refused) status.textContent = refused;
        } catch (err) {
          status.textContent =
            err.code === 'invalid_credentials' ? 'The username or password is not right.' : err.message;
        } finally {
          submit.disabled = false;
        }
      },
    },
    h('h2', { id: 'signin-title' }, title),
    field('Username', username),
    field('Password', password),
    status,
    h('div', { class: 'actions' }, submit),
  );
  return { form, focus: () => username.focus() };
}
