// The manager's Conversations section: search the history (customer, connection, queue, agent,
// state, wrap-up code, dates) with GET /api/v1/conversations, open one transcript read-only with the delivery
// state of every message sent, and export it as JSON. Its own state; main.js calls load() and
// view() and redraws when told.
import * as api from '/lib/api.js';
import { h, field, formatDateTime } from '/lib/dom.js';

const STATES = [
  ['', 'Any state'],
  ['bot', 'With a bot'],
  ['queued', 'Waiting in a queue'],
  ['active', 'With an agent'],
  ['ended', 'Ended'],
];
const DELIVERY = { pending: 'Sending', delivered: 'Delivered', dead: 'Dead' };

const history = {
  filters: { customer: '', connection_id: '', queue: '', agent: '', state: '', wrap_up: '', from: '', to: '' },
  items: null,
  next: null,
  open: null, // the conversation shown, with its transcript
  openId: null,
  asked: 0, // the newest list request: an answer to an older one that comes later is dropped
};

// "2026-11-25" -> the next day, for an inclusive "to" date.
function dayAfter(day) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

function query(after) {
  const f = history.filters;
  const q = new URLSearchParams({ limit: '50' });
  for (const key of ['customer', 'connection_id', 'queue', 'agent', 'state', 'wrap_up']) if (f[key]) q.set(key, f[key]);
  if (f.from) q.set('created_from', f.from);
  if (f.to) q.set('created_before', dayAfter(f.to));
  if (after) q.set('after', after);
  return q;
}

// Reads the list (or, with `id`, the one conversation).
export async function load(id, { more = false } = {}) {
  history.openId = id || null;
  if (id) {
    history.open = null;
    history.open = await api.get(`/api/v1/conversations/${api.seg(id)}`);
    return;
  }
  const asked = ++history.asked;
  const r = await api.get(`/api/v1/conversations?${query(more ? history.next : null)}`);
  // The section's first list and a search sent right after it may be answered in either
  // order; only the newest may fill the table.
  if (asked !== history.asked) return;
  history.items = more ? [...(history.items || []), ...r.conversations] : r.conversations;
  history.next = r.next;
}

function select(label, name, options, value) {
  const el = h('select', { name }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
  return field(label, el);
}

// `ctx`: {connections, queues, agents, redraw, guarded}.
export function view(ctx) {
  return history.openId ? transcriptView(ctx) : listView(ctx);
}

function listView(ctx) {
  const f = history.filters;
  const connections = [['', 'Any connection'], ...(ctx.connections || []).map((c) => [c.connection_id, c.name])];
  const queues = [['', 'Any queue'], ...(ctx.queues || []).map((q) => [q.name, q.display_name || q.name])];
  const agents = [['', 'Any agent'], ...(ctx.agents || []).map((a) => [a.username, a.display_name || a.username])];
  // What is typed is kept in `history.filters` at once: a redraw (a live event, a reconnect)
  // must not wipe a search being written.
  const keep = (form) => {
    const data = new FormData(form);
    for (const key of Object.keys(f)) f[key] = String(data.get(key) || '').trim();
  };
  const form = h(
    'form',
    {
      class: 'history-filters',
      role: 'search',
      'aria-label': 'Search conversations',
      oninput: (e) => keep(e.currentTarget),
      onchange: (e) => keep(e.currentTarget),
      onsubmit: async (e) => {
        e.preventDefault();
        keep(e.currentTarget);
        await ctx.guarded(() => load(null), 'Conversations');
        ctx.redraw();
      },
    },
    field('Customer', h('input', { name: 'customer', value: f.customer, autocomplete: 'off', placeholder: 'name or id' })),
    select('Connection', 'connection_id', connections, f.connection_id),
    select('Queue', 'queue', queues, f.queue),
    select('Agent', 'agent', agents, f.agent),
    select('State', 'state', STATES, f.state),
    field('Wrap-up code', h('input', { name: 'wrap_up', value: f.wrap_up, autocomplete: 'off' })),
    field('Started from', h('input', { name: 'from', type: 'date', value: f.from })),
    field('Started until', h('input', { name: 'to', type: 'date', value: f.to })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Search')),
  );
  const names = Object.fromEntries((ctx.connections || []).map((c) => [c.connection_id, c.name]));
  const items = history.items;
  return h(
    'div',
    {},
    h('div', { class: 'section-head' }, h('h2', {}, 'Conversations')),
    h('section', { class: 'card' }, form),
    h(
      'section',
      { class: 'card' },
      items === null
        ? h('p', { class: 'muted' }, 'Loading…')
        : ctx.table(
            'Conversations',
            ['Started', 'Customer', 'Connection', 'Queue', 'Agent', 'State', ''],
            items.map((c) =>
              h(
                'tr',
                {},
                h('td', {}, formatDateTime(c.created_at)),
                h('td', {}, c.customer_name || c.customer_id, c.customer_name ? h('span', { class: 'muted' }, ` (${c.customer_id})`) : null),
                h('td', {}, names[c.connection_id] || c.connection_id),
                h('td', {}, c.queue || '—'),
                h('td', {}, c.agent || c.last_agent || '—'),
                h('td', {}, (STATES.find(([s]) => s === c.state) || [null, c.state])[1]),
                h('td', {}, h('a', { href: `#conversations/${encodeURIComponent(c.id)}`, 'aria-label': `Open the conversation with ${c.customer_name || c.customer_id}` }, 'Open')),
              ),
            ),
            'No conversation matches.',
          ),
      history.next && items
        ? h(
            'div',
            { class: 'actions' },
            h(
              'button',
              {
                type: 'button',
                onclick: async () => {
                  await ctx.guarded(() => load(null, { more: true }), 'Conversations');
                  ctx.redraw();
                },
              },
              'Show more',
            ),
          )
        : null,
    ),
  );
}

function entryText(e) {
  const p = e.payload || {};
  const lines = [];
  const add = (x) => (Array.isArray(x) ? lines.push(...x.map(String)) : x ? lines.push(String(x)) : null);
  add(p.text);
  add(p.title);
  for (const i of p.items || []) lines.push(`• ${i.text || i.title}`);
  if (p.label) lines.push(`[${p.label}] ${p.url}`);
  if (p.postback && !(p.text && p.text.length)) lines.push(`Chose: ${p.postback}`);
  if (e.type === 'wait_time') lines.push(`Estimated wait sent: ${p.waitTime} s`);
  if (e.type === 'csr_end_session') lines.push('Chat ended.');
  if (e.type === 'customer_end_session') lines.push('The customer ended the chat.');
  if (e.type === 'wrap_up') lines.push(`Wrap-up: ${[p.code, p.note].filter(Boolean).join(' — ') || 'none'}`);
  return lines.length ? lines : [e.type];
}

function who(e) {
  if (e.direction === 'note' && e.from === 'system') return 'System note';
  if (e.direction === 'note') return `Note by ${e.csr_name || 'an agent'}`;
  if (e.from === 'csr') return e.csr_name || 'Agent';
  return { customer: 'Customer', bot: 'Bot', system: 'System' }[e.from] || e.from;
}

function exportJson(conv) {
  const blob = new Blob([JSON.stringify(conv, null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: `conversation-${conv.id}.json` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function transcriptView() {
  const back = h('p', {}, h('a', { href: '#conversations' }, '← Conversations'));
  const conv = history.open;
  if (!conv) return h('div', {}, back, h('p', { class: 'muted' }, 'Loading…'));
  const { transcript, ...meta } = conv;
  return h(
    'div',
    {},
    back,
    h(
      'div',
      { class: 'section-head' },
      h('h2', {}, `Conversation with ${meta.customer_name || meta.customer_id}`),
      h('button', { type: 'button', onclick: () => exportJson(conv) }, 'Export JSON'),
    ),
    h(
      'section',
      { class: 'card', 'aria-label': 'Details' },
      h(
        'dl',
        { class: 'history-meta' },
        [
          ['Customer', `${meta.customer_name || '—'} (${meta.customer_id})`],
          ['State', meta.state],
          ['Queue', meta.queue || '—'],
          ['Agent', meta.agent || meta.last_agent || '—'],
          ['Started', formatDateTime(meta.created_at)],
          ['Ended', formatDateTime(meta.ended_at)],
          ['Customer rating', meta.csat ? `${meta.csat} of 5` : '—'],
          ['Customer comment', meta.csat_comment || '—'],
        ].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
      ),
    ),
    h(
      'section',
      { class: 'card' },
      h(
        'ol',
        { class: 'history-transcript', 'aria-label': 'Transcript (read-only)' },
        transcript.map((e) =>
          h(
            'li',
            { class: ['history-entry', e.direction, `from-${e.from}`] },
            h(
              'div',
              { class: 'meta' },
              h('strong', {}, who(e)),
              ' ',
              h('time', { dateTime: e.created_at }, formatDateTime(e.created_at)),
              e.direction === 'out' && e.delivery_status
                ? h(
                    'span',
                    { class: ['badge', e.delivery_status === 'delivered' ? 'ok' : e.delivery_status === 'dead' ? 'bad' : 'info'] },
                    DELIVERY[e.delivery_status] || e.delivery_status,
                  )
                : null,
              e.direction === 'note' ? h('span', { class: 'badge warn' }, 'Internal note') : null,
            ),
            entryText(e).map((line) => h('p', { class: 'line' }, line)),
            e.last_error ? h('p', { class: 'line error-text' }, `Last error: ${e.last_error}`) : null,
          ),
        ),
      ),
    ),
  );
}
