// The manager's audit log section (#audit): what administrators did — who, what, on what, from
// which address, when and with what answer — newest first, from GET /api/v1/audit. The log
// names the fields a change carried, never their values, so nothing secret is shown here.
import * as api from '/lib/api.js';
import { h, formatDateTime } from '/lib/dom.js';

const ACTIONS = {
  'connection.create': 'Created connection',
  'connection.update': 'Changed connection',
  'connection.delete': 'Deleted connection',
  'connection.rotate_secret': 'Rotated the JWT secret of',
  'connection.read_secret': 'Viewed (with its secret) connection',
  'delivery.replay': 'Replayed delivery',
  'user.create': 'Created user',
  'user.update': 'Changed user',
  'user.delete': 'Deleted user',
  'user.set_password': 'Set the password of',
  'queue.create': 'Created queue',
  'queue.update': 'Changed queue',
  'queue.delete': 'Deleted queue',
  'bot.reload': 'Reloaded bot',
};

// The section's own state and view; `refresh()` is called by main.js when the page redraws.
export function auditSection({ refresh }) {
  const state = { entries: null, next: null, error: null };

  async function load(more = false) {
    const q = new URLSearchParams({ limit: '100' });
    if (more && state.next) q.set('before', String(state.next));
    const r = await api.get(`/api/v1/audit?${q}`);
    state.entries = more ? [...(state.entries || []), ...r.entries] : r.entries;
    state.next = r.next_before;
  }

  function row(e) {
    const fields = e.detail && Array.isArray(e.detail.fields) ? e.detail.fields.join(', ') : '';
    const ok = e.outcome >= 200 && e.outcome < 300;
    return h(
      'tr',
      {},
      h('td', {}, formatDateTime(e.at)),
      h('td', {}, e.actor === 'admin-token' ? h('span', { class: 'muted' }, 'admin token') : e.actor),
      h('td', {}, ACTIONS[e.action] || e.action, ' ', h('span', { class: 'mono' }, e.target)),
      h('td', {}, h('span', { class: ['mono', 'nowrap'] }, e.address || '—')),
      h('td', {}, h('span', { class: ['badge', ok ? 'ok' : 'bad'] }, ok ? `Done (${e.outcome})` : `Refused (${e.outcome})`)),
      h('td', {}, fields ? h('span', { class: 'muted' }, fields) : '—'),
    );
  }

  function render() {
    const entries = state.entries;
    let body;
    if (entries === null) body = h('p', { class: 'muted' }, 'Loading…');
    else if (!entries.length) body = h('p', { class: 'empty' }, 'Nothing recorded yet.');
    else
      body = h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          {},
          h('caption', { class: 'visually-hidden' }, 'Audit log'),
          h('thead', {}, h('tr', {}, ['When', 'Who', 'What', 'From', 'Answer', 'Fields sent'].map((x) => h('th', { scope: 'col' }, x)))),
          h('tbody', {}, entries.map(row)),
        ),
      );
    return h(
      'div',
      {},
      h('div', { class: 'section-head' }, h('h2', {}, 'Audit log'),
        h('button', { type: 'button', onclick: async () => { await load(); refresh(); } }, 'Refresh')),
      h(
        'section',
        { class: 'card' },
        h('p', { class: 'muted' }, 'Changes made by administrators, newest first. Field names only: values such as secrets and passwords are never recorded.'),
        body,
        state.next
          ? h('button', { type: 'button', onclick: async () => { await load(true); refresh(); } }, 'Show older')
          : null,
      ),
    );
  }

  return { load, render };
}
