// The Digital Messaging Manager (/manager): connections and their deliveries, users, queues,
// bots and a live overview, for a signed-in admin. State lives in `state`; render() redraws
// the current section from it. Live events (queue.updated, agent.status) update the state.
import * as api from '/lib/api.js';
import { EventStream, statusView } from '/lib/events.js';
import { signInForm } from '/lib/signin.js';
import { auditSection } from '/manager/audit.js';
import { reportsSection } from '/lib/reports.js';
import {
  h, replace, field, openDialog, confirmDialog, copyText, formatDateTime, formatDuration, refocusOpener,
} from '/lib/dom.js';
import * as history from '/manager/conversations.js';
import * as responses from '/manager/responses.js';

const SECTIONS = [
  ['overview', 'Overview'],
  ['connections', 'Connections'],
  ['conversations', 'Conversations'],
  ['users', 'Users'],
  ['queues', 'Queues'],
  ['responses', 'Responses'],
  ['bots', 'Bots'],
  ['reports', 'Reports'],
  ['audit', 'Audit log'],
];
const DELIVERY_FILTERS = [
  ['', 'All'],
  ['pending', 'Pending'],
  ['failed', 'Failing'],
  ['dead', 'Dead'],
  ['delivered', 'Delivered'],
];
const CONVERSATION_STATES = [
  ['bot', 'With a bot'],
  ['queued', 'Waiting in a queue'],
  ['active', 'With an agent'],
  ['ended', 'Ended'],
];

const state = {
  user: null,
  view: 'overview',
  connectionId: null,
  connections: null,
  connection: null, // the one shown, from GET /connections/{id}
  deliveries: { status: '', items: null, next: null, connectionId: null },
  users: null,
  queues: null,
  bots: null,
  botErrors: {}, // name -> the load error of the last reload
  agents: null,
  overview: { conversations: null, failing: null },
  unavailable: {}, // section -> message when its API answers 404
};

const el = {
  main: document.getElementById('main'),
  nav: document.getElementById('nav'),
  who: document.getElementById('who'),
  signout: document.getElementById('signout'),
  live: document.getElementById('live'),
};

const audit = auditSection({ refresh: () => render() });
const reports = reportsSection({ refresh: () => render() });

const stream = new EventStream({
  onEvent: handleEvent,
  onStatus: statusView(el.live),
  onResync: () => loadSection(true),
});

// ---- routing ----

function parseHash() {
  const [view, id] = location.hash.replace(/^#\/?/, '').split('/');
  state.view = SECTIONS.some(([k]) => k === view) ? view : 'overview';
  state.connectionId = state.view === 'connections' && id ? decodeURIComponent(id) : null;
  state.conversationId = state.view === 'conversations' && id ? decodeURIComponent(id) : null;
}

window.addEventListener('hashchange', () => {
  parseHash();
  api.clearError();
  render();
  loadSection();
});

// ---- loading ----

async function guarded(fn, context) {
  try {
    return await fn();
  } catch (e) {
    if (e.status === 401) return undefined;
    api.showError(e, context);
    return undefined;
  }
}

// Reads what the current section shows; `all` re-reads the lists shared by several sections.
async function loadSection(all = false) {
  if (!state.user) return;
  const view = state.view;
  const tasks = [];
  if (view === 'overview') tasks.push(loadOverview());
  if (view === 'connections') {
    tasks.push(loadConnections(), loadBots());
    if (state.connectionId) tasks.push(loadConnection(state.connectionId));
  }
  if (view === 'users') tasks.push(loadUsers(), loadQueues());
  if (view === 'conversations') {
    tasks.push(guarded(() => history.load(state.conversationId), 'Conversations'));
    if (!state.conversationId) tasks.push(loadConnections(), loadQueues(), loadAgents());
  }
  if (view === 'queues' || view === 'responses' || all) tasks.push(loadQueues());
  if (view === 'responses') tasks.push(guarded(responses.load, 'Responses'));
  if (view === 'bots') tasks.push(loadBots());
  if (view === 'audit') tasks.push(guarded(() => audit.load(), 'Audit log'));
  if (view === 'reports') tasks.push(guarded(() => reports.load(), 'Reports'));
  await Promise.all(tasks);
  render();
}

async function optional(section, fn) {
  try {
    const r = await fn();
    delete state.unavailable[section];
    return r;
  } catch (e) {
    if (e.status === 404 && e.code === 'not_found') {
      state.unavailable[section] = 'This server does not offer this yet.';
      return null;
    }
    throw e;
  }
}

const loadConnections = () =>
  guarded(async () => {
    state.connections = (await api.get('/api/v1/connections')).connections;
  }, 'Connections');

const loadConnection = (id) =>
  guarded(async () => {
    try {
      const { jwt_secret: _secret, ...shown } = await api.get(`/api/v1/connections/${api.seg(id)}`);
      state.connection = shown; // the secret is not kept: it was shown once, at creation
    } catch (e) {
      if (e.status === 404) {
        state.connection = null;
        return;
      }
      throw e;
    }
    await loadDeliveries(id, state.deliveries.connectionId === id ? state.deliveries.status : '');
  }, 'Connection');

// Loads may overlap (a Replay reloads the list while the admin picks another status): only the
// last one asked for is shown, so an older answer arriving late never replaces a newer choice.
let deliveriesLoad = 0;
async function loadDeliveries(id, status, after) {
  const q = new URLSearchParams({ limit: '100' });
  if (status) q.set('status', status);
  if (after) q.set('after', after);
  const load = ++deliveriesLoad;
  const r = await api.get(`/api/v1/connections/${api.seg(id)}/deliveries?${q}`);
  if (load !== deliveriesLoad) return;
  const items = after ? [...(state.deliveries.items || []), ...r.deliveries] : r.deliveries;
  state.deliveries = { status, items, next: r.next, connectionId: id };
}

const loadUsers = () =>
  guarded(async () => {
    const r = await optional('users', () => api.get('/api/v1/users'));
    state.users = r ? r.users : null;
  }, 'Users');

const loadQueues = () =>
  guarded(async () => {
    const r = await optional('queues', () => api.get('/api/v1/queues'));
    state.queues = r ? r.queues : null;
  }, 'Queues');

const loadBots = () =>
  guarded(async () => {
    state.bots = (await api.get('/api/v1/bots')).bots;
  }, 'Bots');

const loadAgents = () =>
  guarded(async () => {
    const r = await optional('agents', () => api.get('/api/v1/agents'));
    state.agents = r ? r.agents : null;
  }, 'Agents');

const loadConversationCounts = () =>
  guarded(async () => {
    // Counters kept by the server: one request, whatever the number of conversations.
    const r = await api.get('/api/v1/overview');
    const counts = {};
    for (const [s] of CONVERSATION_STATES) counts[s] = { count: r.conversations[s] || 0, more: false };
    state.overview.conversations = counts;
  }, 'Conversations');

async function loadOverview() {
  await Promise.all([loadAgents(), loadQueues(), loadConnections(), loadConversationCounts()]);
  await guarded(async () => {
    const failing = [];
    for (const c of state.connections || []) {
      const [failed, dead] = await Promise.all(
        ['failed', 'dead'].map((s) =>
          api.get(`/api/v1/connections/${api.seg(c.connection_id)}/deliveries?status=${s}&limit=1000`),
        ),
      );
      failing.push({ connection: c, failed: failed.deliveries.length, dead: dead.deliveries.length });
    }
    state.overview.failing = failing;
  }, 'Deliveries');
}

// ---- live events ----

// The overview's counts (conversations by state, agents' chats) have no event of their own:
// queue and agent events say they moved, and they are read again, at most twice a second.
const OVERVIEW_REFRESH_MS = 500;
let overviewTimer = null;
let overviewLast = 0;
function refreshOverviewSoon() {
  if (state.view !== 'overview' || overviewTimer) return;
  const wait = Math.max(0, overviewLast + OVERVIEW_REFRESH_MS - Date.now());
  overviewTimer = setTimeout(async () => {
    overviewLast = Date.now();
    await Promise.all([loadAgents(), loadConversationCounts()]);
    overviewTimer = null;
    if (state.view === 'overview') render();
  }, wait);
}

function handleEvent(frame) {
  if (frame.type === 'queue.updated' || frame.type === 'agent.status') refreshOverviewSoon();
  if (frame.type === 'queue.updated' && frame.queue && state.queues) {
    const i = state.queues.findIndex((q) => q.name === frame.queue.name);
    if (i >= 0) state.queues[i] = frame.queue;
    else state.queues.push(frame.queue);
    if (state.view === 'queues' || state.view === 'overview') render();
  } else if (frame.type === 'agent.status' && frame.agent && state.agents) {
    const i = state.agents.findIndex((a) => a.username === frame.agent.username);
    if (i >= 0) state.agents[i] = frame.agent;
    else state.agents.push(frame.agent);
    if (state.view === 'overview') render();
  }
}

// ---- sign-in ----

function renderSignIn(message) {
  el.nav.hidden = true;
  el.signout.hidden = true;
  el.who.textContent = '';
  const signin = signInForm({
    title: 'Sign in to the Digital Messaging Manager',
    message,
    accept: async (user) => {
      if (user.role !== 'admin') {
        await api.logout();
        return user.role === 'supervisor'
          ? 'This page is for administrators. Supervisors watch the floor on the wallboard (/supervisor).'
          : 'This page is for administrators. Agents work in the agent console (/agent).';
      }
      await signedIn(user);
      return undefined;
    },
  });
  replace(el.main, signin.form);
  signin.focus();
  markReady();
}

async function signedIn(user) {
  state.user = user;
  el.who.textContent = `${user.display_name || user.username} (admin)`;
  el.signout.hidden = false;
  el.nav.hidden = false;
  parseHash();
  render();
  markReady();
  stream.start();
  await loadSection(true);
}

el.signout.addEventListener('click', async () => {
  stream.stop();
  await guarded(() => api.logout(), 'Sign out');
  state.user = null;
  renderSignIn('You are signed out.');
});

api.onUnauthorized(() => {
  if (!state.user) return;
  state.user = null;
  stream.stop();
  renderSignIn('Your session has ended. Sign in again.');
});

// ---- rendering ----

function render() {
  if (!state.user) return;
  replace(
    el.nav,
    SECTIONS.map(([key, label]) =>
      h('a', { href: `#${key}`, 'aria-current': state.view === key ? 'page' : null }, label),
    ),
  );
  const views = {
    overview: renderOverview,
    connections: () => (state.connectionId ? renderConnection() : renderConnections()),
    conversations: () =>
      history.view({
        connections: state.connections,
        queues: state.queues,
        agents: state.agents,
        table,
        guarded,
        redraw: render,
      }),
    users: renderUsers,
    queues: renderQueues,
    responses: () => responses.view({ table, guarded, redraw: render, queueChecks }),
    bots: renderBots,
    reports: reports.render,
    audit: audit.render,
  };
  const focused = document.activeElement?.id;
  replace(el.main, views[state.view]());
  if (focused) document.getElementById(focused)?.focus();
  refocusOpener(el.main); // a dialog's opener, drawn anew while the dialog was open

}

const loading = () => h('p', { class: 'muted' }, 'Loading…');

function table(caption, headers, rows, emptyText) {
  if (!rows.length) return h('p', { class: 'empty' }, emptyText);
  // Each cell knows its column's name: on a narrow screen rows become stacked cards.
  const names = headers.map((x) => x.replace(/^#/, ''));
  for (const row of rows) {
    [...row.children].forEach((td, i) => {
      if (names[i]) td.dataset.label = names[i];
    });
  }
  return h(
    'div',
    { class: 'table-wrap stack-narrow' },
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col', class: x.startsWith('#') ? 'num' : null }, x.replace(/^#/, ''))))),
      h('tbody', {}, rows),
    ),
  );
}

function sectionHead(title, ...actions) {
  return h('div', { class: 'section-head' }, h('h2', {}, title), actions);
}

// Overview

function renderOverview() {
  const agents = state.agents;
  const byStatus = { available: 0, after_chat: 0, away: 0, offline: 0 };
  for (const a of agents || []) byStatus[a.status] = (byStatus[a.status] || 0) + 1;
  const conv = state.overview.conversations;
  const failing = state.overview.failing;
  const stat = (label, value) => h('div', { class: 'stat' }, h('span', { class: 'value' }, value), h('span', { class: 'label' }, label));
  return h(
    'div',
    {},
    sectionHead('Overview', h('button', { type: 'button', onclick: () => loadSection(true) }, 'Refresh')),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'ov-agents' },
      h('h3', { id: 'ov-agents' }, 'Agents by status'),
      state.unavailable.agents
        ? h('p', { class: 'empty' }, state.unavailable.agents)
        : agents === null
          ? loading()
          : [
              h('div', { class: 'stat-grid' }, stat('Available', byStatus.available), stat('After-chat work', byStatus.after_chat), stat('Away', byStatus.away), stat('Offline', byStatus.offline)),
              table(
                'Agents',
                ['Agent', 'Status', '#Chats', 'Queues'],
                agents.map((a) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, a.display_name || a.username, ' ', h('span', { class: 'muted' }, `(${a.username})`)),
                    h('td', {}, statusBadge(a.status)),
                    h('td', { class: 'num' }, `${a.chats} / ${a.max_chats}`),
                    h('td', {}, (a.queues || []).join(', ')),
                  ),
                ),
                'No agents yet.',
              ),
            ],
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'ov-conv' },
      h('h3', { id: 'ov-conv' }, 'Conversations by state'),
      conv === null
        ? loading()
        : h('div', { class: 'stat-grid' }, CONVERSATION_STATES.map(([s, label]) => stat(label, `${conv[s].count}${conv[s].more ? '+' : ''}`))),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'ov-queues' },
      h('h3', { id: 'ov-queues' }, 'Queues'),
      queueTable(false),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'ov-deliveries' },
      h('h3', { id: 'ov-deliveries' }, 'Deliveries failing'),
      failing === null
        ? loading()
        : failing.some((f) => f.failed || f.dead)
          ? table(
              'Deliveries failing by connection',
              ['Connection', '#Failing', '#Dead'],
              failing
                .filter((f) => f.failed || f.dead)
                .map((f) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, h('a', { href: `#connections/${encodeURIComponent(f.connection.connection_id)}` }, f.connection.name)),
                    h('td', { class: 'num' }, String(f.failed)),
                    h('td', { class: 'num' }, String(f.dead)),
                  ),
                ),
              '',
            )
          : h('p', { class: 'empty' }, 'No delivery is failing.'),
    ),
  );
}

function statusBadge(status) {
  const cls = { available: 'ok', after_chat: 'warn', away: 'warn', offline: null }[status];
  const label = { available: 'Available', after_chat: 'After-chat work', away: 'Away', offline: 'Offline' }[status] || status;
  return h('span', { class: ['badge', cls] }, label);
}

// Connections

function renderConnections() {
  const list = state.connections;
  return h(
    'div',
    {},
    sectionHead('Connections', h('button', { type: 'button', class: 'primary', onclick: addConnection }, 'Add connection')),
    h(
      'section',
      { class: 'card' },
      list === null
        ? loading()
        : table(
            'Connections',
            ['Name', 'Status', 'Bot', 'Client webhook'],
            list.map((c) =>
              h(
                'tr',
                {},
                h('td', {}, h('a', { href: `#connections/${encodeURIComponent(c.connection_id)}` }, c.name)),
                h('td', {}, h('span', { class: ['badge', c.enabled ? 'ok' : 'bad'] }, c.enabled ? 'Enabled' : 'Disabled')),
                h('td', {}, c.bot),
                h('td', {}, h('span', { class: 'mono' }, c.client_webhook)),
              ),
            ),
            'No connections yet. Add one to connect a channel.',
          ),
    ),
  );
}

const CAPABILITIES = [
  ['menu', 'Menus'],
  ['carousel', 'Carousels'],
  ['link_button', 'Link buttons'],
  ['typing_indicator', 'Typing indicator'],
];
const ALL_CAPABILITIES = CAPABILITIES.map(([name]) => name);

// What the connection's channel can show; what it cannot is sent as text that still works.
function capabilityChecks(selected) {
  const boxes = CAPABILITIES.map(([name, label]) => ({ label, input: h('input', { type: 'checkbox', value: name, checked: selected.includes(name) }) }));
  return {
    el: h(
      'fieldset',
      {},
      h('legend', {}, 'The channel can show'),
      h('div', { class: 'queue-checks' }, boxes.map((b) => h('label', { class: 'check' }, b.input, b.label))),
      h('p', { class: 'hint' }, 'What it cannot show is sent as text: a menu as numbered lines (the customer answers with a number), a carousel as one text per card, a link as “label: url”.'),
    ),
    value: () => boxes.filter((b) => b.input.checked).map((b) => b.input.value),
  };
}

function capabilityText(c) {
  const caps = c.capabilities || ALL_CAPABILITIES;
  if (!caps.length) return 'text only';
  return CAPABILITIES.filter(([name]) => caps.includes(name)).map(([, label]) => label).join(', ');
}

// A new connection's bot, as the server chooses it: the only bot loaded from a file when exactly
// one is, otherwise none. The built-in Echo bot only repeats the customer: it is for testing.
function defaultBot() {
  const loaded = (state.bots || []).filter((b) => b.source !== 'built-in');
  return loaded.length === 1 ? loaded[0].name : 'none';
}

function botOptions(selected) {
  const bots = state.bots || [{ name: 'echo', display_name: 'Echo', source: 'built-in' }];
  return [
    ...bots.map((b) =>
      h('option', { value: b.name, selected: b.name === selected }, b.source === 'built-in' ? `${b.display_name} (${b.name}): repeats the customer, for testing` : `${b.display_name} (${b.name})`),
    ),
    h('option', { value: 'none', selected: selected === 'none' }, 'No bot: straight to a person'),
  ];
}

// The queue a connection's customers wait in: a name, with the known queues to pick from.
function queueInput(value) {
  const list = h('datalist', { id: `queues-${Math.random().toString(36).slice(2)}` }, (state.queues || []).map((q) => h('option', { value: q.name }, q.display_name || q.name)));
  const input = h('input', { name: 'queue', value: value || 'default', required: true, autocomplete: 'off' });
  input.setAttribute('list', list.id);
  return { input, list };
}

// One read-only setting with a copy button.
function setting(label, value) {
  const input = h('input', { readOnly: true, value: value ?? '', spellcheck: false });
  const field_ = field(label, input);
  const labelEl = field_.querySelector('label');
  labelEl.id = `${input.id}-label`;
  const done = h('span', { class: 'visually-hidden', role: 'status' });
  const button = h(
    'button',
    {
      type: 'button',
      'aria-describedby': labelEl.id,
      onclick: async () => {
        const ok = await copyText(input.value, input);
        button.textContent = ok ? 'Copied' : 'Copy';
        done.textContent = ok ? `${label} copied` : `Select and copy the ${label} by hand`;
        setTimeout(() => (button.textContent = 'Copy'), 1500);
      },
    },
    'Copy',
  );
  return h('div', { class: 'setting' }, field_, h('div', {}, button, done));
}

function secretWarning(extra) {
  return h(
    'p',
    { class: 'warning', role: 'note' },
    'The JWT Secret is shown only now. Copy it into your integration layer and keep it safe: it signs every request. ',
    extra || '',
  );
}

async function addConnection() {
  if (!state.bots) await loadBots();
  if (!state.queues) await loadQueues();
  await openDialog('Add connection', (close, dialog) => {
    const body = h('div', {});
    const chooseKind = () =>
      replace(
        body,
        h('p', {}, 'Choose the kind of connection.'),
        h(
          'div',
          { class: 'kind-choice' },
          h(
            'button',
            { type: 'button', onclick: showForm, 'aria-label': 'Client Channel API', 'aria-describedby': 'kind-cca' },
            h('strong', {}, 'Client Channel API'),
            h('span', { class: 'muted', id: 'kind-cca' }, 'Your own integration layer (Teams, Slack, a web chat…) sends and receives messages over HTTPS.'),
          ),
        ),
        h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => close('cancel') }, 'Cancel')),
      );
    function showForm() {
      const name = h('input', { name: 'name', required: true, maxLength: 100, autocomplete: 'off' });
      const webhook = h('input', { name: 'client_webhook', type: 'url', required: true, placeholder: 'https://bridge.example.com/parley', autocomplete: 'off' });
      const bot = h('select', { name: 'bot' }, botOptions(defaultBot()));
      const queue = queueInput('default');
      const caps = capabilityChecks(ALL_CAPABILITIES);
      const error = h('p', { class: 'error-text', role: 'alert' });
      const save = h('button', { type: 'submit', class: 'primary' }, 'Save');
      replace(
        body,
        h(
          'form',
          {
            onsubmit: async (e) => {
              e.preventDefault();
              save.disabled = true;
              error.textContent = '';
              try {
                const c = await api.post('/api/v1/connections', { name: name.value.trim(), client_webhook: webhook.value.trim(), bot: bot.value, queue: queue.input.value.trim(), capabilities: caps.value() });
                showResult(c);
                loadConnections().then(render);
              } catch (err) {
                error.textContent = err.message;
                save.disabled = false;
              }
            },
          },
          h('p', { class: 'muted' }, 'Client Channel API'),
          field('Name', name),
          field('Client webhook', webhook, 'Where Parley sends replies: your integration layer’s HTTPS address.'),
          field('Bot', bot, 'Answers first and hands the customer to a person when they ask for one; with no bot, customers go straight to the queue below.'),
          field('Queue', queue.input, 'Where customers wait for a person: at once with no bot, or when the bot hands over without naming a queue.'),
          queue.list,
          caps.el,
          error,
          h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => close('cancel') }, 'Cancel'), save),
        ),
      );
      name.focus();
    }
    function showResult(c) {
      replace(
        body,
        h('p', { role: 'status' }, `Connection “${c.name}” saved. Give these four settings to your integration layer.`),
        setting('Connection ID', c.connection_id),
        setting('Client Webhook', c.client_webhook),
        setting('Digital Messaging Webhook', c.digital_messaging_webhook),
        setting('JWT Secret', c.jwt_secret),
        secretWarning(),
        h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: () => close('done') }, 'Done')),
      );
      dialog.querySelector('input')?.focus();
    }
    chooseKind();
    return body;
  });
  await loadConnections();
  render();
}

function renderConnection() {
  const c = state.connection;
  if (!c || c.connection_id !== state.connectionId) {
    return h(
      'div',
      {},
      h('p', {}, h('a', { href: '#connections' }, '← Connections')),
      c === null && state.connections ? h('p', { class: 'empty' }, 'This connection does not exist (any more).') : loading(),
    );
  }
  return h(
    'div',
    {},
    h('p', {}, h('a', { href: '#connections' }, '← Connections')),
    sectionHead(
      c.name,
      h('span', { class: ['badge', c.enabled ? 'ok' : 'bad'] }, c.enabled ? 'Enabled' : 'Disabled'),
    ),
    h(
      'section',
      { class: 'card', 'aria-label': 'Settings' },
      setting('Connection ID', c.connection_id),
      setting('Client Webhook', c.client_webhook),
      setting('Digital Messaging Webhook', c.digital_messaging_webhook),
      h('p', {}, h('strong', {}, 'JWT Secret: '), 'hidden. It was shown once when the connection was saved; rotate it to get a new one.'),
      c.previous_secret_valid_until
        ? h('p', { class: 'muted' }, `The previous secret still works until ${formatDateTime(c.previous_secret_valid_until)}.`)
        : null,
      h('p', {}, h('strong', {}, 'Bot: '), c.bot),
      h('p', {}, h('strong', {}, 'Queue: '), c.queue || 'default'),
      h('p', {}, h('strong', {}, 'The channel shows: '), capabilityText(c)),
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'button', onclick: () => editConnection(c) }, 'Edit'),
        h('button', { type: 'button', onclick: () => toggleConnection(c) }, c.enabled ? 'Disable' : 'Enable'),
        h('button', { type: 'button', onclick: () => rotateSecret(c) }, 'Rotate secret'),
        h('button', { type: 'button', class: 'danger', onclick: () => deleteConnection(c) }, 'Delete'),
      ),
    ),
    renderDeliveries(c),
  );
}

async function editConnection(c) {
  if (!state.bots) await loadBots();
  if (!state.queues) await loadQueues();
  await openDialog(`Edit ${c.name}`, (close) => {
    const name = h('input', { value: c.name, required: true, maxLength: 100 });
    const webhook = h('input', { type: 'url', value: c.client_webhook, required: true });
    const bot = h('select', {}, botOptions(c.bot));
    const queue = queueInput(c.queue);
    const caps = capabilityChecks(c.capabilities || ALL_CAPABILITIES);
    const error = h('p', { class: 'error-text', role: 'alert' });
    return h(
      'form',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          error.textContent = '';
          try {
            await api.patch(`/api/v1/connections/${api.seg(c.connection_id)}`, {
              name: name.value.trim(),
              client_webhook: webhook.value.trim(),
              bot: bot.value,
              queue: queue.input.value.trim(),
              capabilities: caps.value(),
            });
            close('saved');
          } catch (err) {
            error.textContent = err.message;
          }
        },
      },
      field('Name', name),
      field('Client webhook', webhook),
      field('Bot', bot),
      field('Queue', queue.input, 'Where customers wait for a person: at once with no bot, or when the bot hands over without naming a queue.'),
      queue.list,
      caps.el,
      error,
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => close('cancel') }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Save')),
    );
  });
  await Promise.all([loadConnection(c.connection_id), loadConnections()]);
  render();
}

async function toggleConnection(c) {
  if (c.enabled) {
    const ok = await confirmDialog(
      `Disable ${c.name}?`,
      'Messages from its integration layer are refused (403 connection_disabled) until you enable it again. Replies already queued are still delivered.',
      'Disable',
    );
    if (!ok) return;
  }
  await guarded(() => api.patch(`/api/v1/connections/${api.seg(c.connection_id)}`, { enabled: !c.enabled }), 'Connection');
  await Promise.all([loadConnection(c.connection_id), loadConnections()]);
  render();
}

async function rotateSecret(c) {
  const ok = await confirmDialog(
    `Rotate the JWT Secret of ${c.name}?`,
    'A new secret is made now and signs every request Parley sends from now on. The old one keeps working for requests to Parley for a grace period, so you can update the integration layer.',
    'Rotate secret',
  );
  if (!ok) return;
  let r;
  try {
    r = await api.post(`/api/v1/connections/${api.seg(c.connection_id)}/rotate-secret`);
  } catch (e) {
    api.showError(e, 'Rotate secret');
    return;
  }
  await openDialog('Secret rotated', (close) =>
    h(
      'div',
      {},
      setting('JWT Secret', r.jwt_secret),
      secretWarning(
        r.previous_secret_valid_until
          ? `The old secret still works for requests to Parley until ${formatDateTime(r.previous_secret_valid_until)}.`
          : 'The old secret no longer works.',
      ),
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: () => close('done') }, 'Done')),
    ),
  );
  await loadConnection(c.connection_id);
  render();
}

async function deleteConnection(c) {
  const ok = await confirmDialog(
    `Delete ${c.name}?`,
    'Its tokens are refused from now on and replies not yet delivered are dropped. Its conversations stay readable. This cannot be undone.',
    'Delete',
    { danger: true },
  );
  if (!ok) return;
  const done = await guarded(async () => {
    await api.del(`/api/v1/connections/${api.seg(c.connection_id)}`);
    return true;
  }, 'Delete connection');
  if (!done) return;
  state.connection = null;
  state.connections = (state.connections || []).filter((x) => x.connection_id !== c.connection_id);
  location.hash = '#connections';
}

function renderDeliveries(c) {
  const d = state.deliveries;
  const filter = h(
    'select',
    {
      id: 'delivery-filter',
      onchange: async (e) => {
        await guarded(() => loadDeliveries(c.connection_id, e.target.value), 'Deliveries');
        render();
      },
    },
    DELIVERY_FILTERS.map(([v, label]) => h('option', { value: v, selected: v === d.status }, label)),
  );
  const items = d.connectionId === c.connection_id ? d.items : null;
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'deliveries-title' },
    h(
      'div',
      { class: 'section-head' },
      h('h2', { id: 'deliveries-title' }, 'Deliveries'),
      h('div', { class: 'row' }, h('label', { for: 'delivery-filter' }, 'Status'), filter),
      h(
        'button',
        {
          type: 'button',
          onclick: async () => {
            await guarded(() => loadDeliveries(c.connection_id, d.status), 'Deliveries');
            render();
          },
        },
        'Refresh',
      ),
    ),
    items === null
      ? loading()
      : table(
          'Deliveries',
          ['Created', 'Type', 'Customer', 'Status', '#Attempts', 'Next attempt', 'Last error', ''],
          items.map((x) =>
            h(
              'tr',
              {},
              h('td', {}, formatDateTime(x.created_at), h('br'), h('span', { class: 'mono muted', title: 'Event ID' }, x.event_id)),
              h('td', {}, x.type),
              h('td', {}, x.customer_id),
              h('td', {}, deliveryBadge(x)),
              h('td', { class: 'num' }, String(x.attempts)),
              h('td', {}, x.status === 'pending' ? formatDateTime(x.next_attempt_at) : '—'),
              h('td', {}, x.last_error || '—'),
              h(
                'td',
                {},
                x.status === 'pending'
                  ? null
                  : h('button', { type: 'button', 'aria-label': `Replay ${x.type} event ${x.event_id}`, onclick: () => replay(c, x) }, 'Replay'),
              ),
            ),
          ),
          d.status ? 'No deliveries with this status.' : 'Nothing was sent on this connection yet.',
        ),
    d.next && items
      ? h(
          'div',
          { class: 'actions' },
          h(
            'button',
            {
              type: 'button',
              onclick: async () => {
                await guarded(() => loadDeliveries(c.connection_id, d.status, d.next), 'Deliveries');
                render();
              },
            },
            'Show more',
          ),
        )
      : null,
  );
}

function deliveryBadge(x) {
  if (x.status === 'delivered') return h('span', { class: 'badge ok' }, 'Delivered');
  if (x.status === 'dead') return h('span', { class: 'badge bad' }, 'Dead');
  return x.attempts > 0 ? h('span', { class: 'badge warn' }, 'Failing') : h('span', { class: 'badge info' }, 'Pending');
}

async function replay(c, x) {
  const ok = await guarded(async () => {
    await api.post(`/api/v1/deliveries/${api.seg(x.event_id)}/replay`);
    return true;
  }, 'Replay');
  if (ok) {
    await guarded(() => loadDeliveries(c.connection_id, state.deliveries.status), 'Deliveries');
    render();
  }
}

// Users

function renderUsers() {
  if (state.unavailable.users) return h('div', {}, sectionHead('Users'), h('p', { class: 'empty' }, state.unavailable.users));
  const users = state.users;
  return h(
    'div',
    {},
    sectionHead('Users', h('button', { type: 'button', class: 'primary', onclick: () => editUser(null) }, 'Add user')),
    h(
      'section',
      { class: 'card' },
      users === null
        ? loading()
        : table(
            'Users',
            ['Username', 'Display name', 'Role', 'Queues', '#Max chats', 'Status', ''],
            users.map((u) =>
              h(
                'tr',
                {},
                h('td', {}, u.username),
                h('td', {}, u.display_name || ''),
                h('td', {}, { admin: 'Admin', supervisor: 'Supervisor' }[u.role] || 'Agent'),
                h('td', {}, (u.queues || []).join(', ') || '—'),
                h('td', { class: 'num' }, String(u.max_chats ?? '')),
                h('td', {}, h('span', { class: ['badge', u.enabled ? 'ok' : 'bad'] }, u.enabled ? 'Enabled' : 'Disabled')),
                h(
                  'td',
                  {},
                  h(
                    'div',
                    { class: 'row' },
                    h('button', { type: 'button', 'aria-label': `Edit ${u.username}`, onclick: () => editUser(u) }, 'Edit'),
                    h('button', { type: 'button', 'aria-label': `${u.enabled ? 'Disable' : 'Enable'} ${u.username}`, onclick: () => toggleUser(u) }, u.enabled ? 'Disable' : 'Enable'),
                    h('button', { type: 'button', 'aria-label': `Reset password of ${u.username}`, onclick: () => resetPassword(u) }, 'Reset password'),
                  ),
                ),
              ),
            ),
            'No users yet.',
          ),
    ),
  );
}

function queueChecks(selected) {
  const names = (state.queues || []).map((q) => q.name);
  for (const s of selected) if (!names.includes(s)) names.push(s);
  if (!names.length) return { el: h('p', { class: 'muted' }, 'No queues yet: add them under Queues.'), value: () => [] };
  const boxes = names.map((n) => h('input', { type: 'checkbox', value: n, checked: selected.includes(n) }));
  return {
    el: h(
      'fieldset',
      {},
      h('legend', {}, 'Queues'),
      h('div', { class: 'queue-checks' }, boxes.map((b) => h('label', { class: 'check' }, b, b.value))),
    ),
    value: () => boxes.filter((b) => b.checked).map((b) => b.value),
  };
}

async function editUser(u) {
  await openDialog(u ? `Edit ${u.username}` : 'Add user', (close) => {
    const username = h('input', { required: true, autocomplete: 'off', value: u?.username || '', readOnly: Boolean(u) });
    const display = h('input', { value: u?.display_name || '', autocomplete: 'off' });
    const password = h('input', { type: 'password', required: true, autocomplete: 'new-password', minLength: 10 });
    const role = h(
      'select',
      {},
      h('option', { value: 'agent', selected: !u || u.role === 'agent' }, 'Agent'),
      h('option', { value: 'supervisor', selected: u?.role === 'supervisor' }, 'Supervisor'),
      h('option', { value: 'admin', selected: u?.role === 'admin' }, 'Admin'),
    );
    const maxChats = h('input', { type: 'number', min: 1, max: 20, value: String(u?.max_chats ?? 3), required: true });
    const queues = queueChecks(u?.queues || []);
    const error = h('p', { class: 'error-text', role: 'alert' });
    return h(
      'form',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          error.textContent = '';
          const body = {
            display_name: display.value.trim() || username.value.trim(),
            role: role.value,
            queues: queues.value(),
            max_chats: Number(maxChats.value),
          };
          try {
            if (u) await api.patch(`/api/v1/users/${api.seg(u.username)}`, body);
            else await api.post('/api/v1/users', { username: username.value.trim(), password: password.value, ...body });
            close('saved');
          } catch (err) {
            error.textContent = err.message;
          }
        },
      },
      field('Username', username),
      field('Display name', display, 'Shown to customers as the agent’s name.'),
      u ? null : field('Password', password, 'At least 10 characters. Tell it to the person; they sign in with it.'),
      field('Role', role),
      queues.el,
      field('Max chats', maxChats, 'How many chats the agent works at once.'),
      error,
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => close('cancel') }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Save')),
    );
  });
  await loadUsers();
  render();
}

async function toggleUser(u) {
  await guarded(() => api.patch(`/api/v1/users/${api.seg(u.username)}`, { enabled: !u.enabled }), 'User');
  await loadUsers();
  render();
}

async function resetPassword(u) {
  await openDialog(`Reset the password of ${u.username}`, (close) => {
    const password = h('input', { type: 'password', required: true, autocomplete: 'new-password', minLength: 10 });
    const error = h('p', { class: 'error-text', role: 'alert' });
    return h(
      'form',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            await api.post(`/api/v1/users/${api.seg(u.username)}/password`, { password: password.value });
            close('saved');
          } catch (err) {
            error.textContent = err.message;
          }
        },
      },
      field('New password', password, 'At least 10 characters.'),
      error,
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => close('cancel') }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Save')),
    );
  });
}

// Queues

function queueTable(withActions) {
  if (state.unavailable.queues) return h('p', { class: 'empty' }, state.unavailable.queues);
  const queues = state.queues;
  if (queues === null) return loading();
  return table(
    'Queues',
    [
      'Queue', '#Waiting', 'Oldest wait', '#Agents available', 'Estimated wait', 'Open',
      // The busy-day figures on the overview: today's answers, abandons and service level.
      ...(withActions ? [''] : ['Longest wait', '#Answered today', '#Abandoned today', 'Service level', 'Satisfaction today']),
    ],
    queues.map((q) =>
      h(
        'tr',
        {},
        h('td', {}, q.display_name || q.name, ' ', h('span', { class: 'muted' }, `(${q.name})`)),
        h('td', { class: 'num' }, String(q.waiting ?? 0)),
        h('td', {}, q.waiting ? formatDuration(q.oldest_wait_s) : '—'),
        h('td', { class: 'num' }, String(q.agents_available ?? 0)),
        h('td', {}, formatDuration(q.estimated_wait_s)),
        h('td', {}, q.open === false
          ? h('span', { class: 'badge warn' }, q.opens_at ? `Closed until ${formatDateTime(q.opens_at)}` : 'Closed (hours)')
          : q.accepting === false ? h('span', { class: 'badge warn' }, 'Closed') : h('span', { class: 'badge ok' }, 'Open')),
        ...(withActions
          ? []
          : [
              h('td', {}, q.waiting ? formatDuration(q.longest_wait_s ?? 0) : '—'),
              h('td', { class: 'num' }, String(q.answered_today ?? 0)),
              h('td', { class: 'num' }, String(q.abandoned_today ?? 0)),
              h('td', {}, q.service_level == null ? '—' : `${Math.round(q.service_level * 100)} % within ${formatDuration(q.service_level_s ?? 60)}`),
              h('td', {}, q.csat_today?.count ? `${Math.round(q.csat_today.average * 10) / 10} of 5 (${q.csat_today.count})` : '—'),
            ]),
        withActions
          ? h(
              'td',
              {},
              h(
                'div',
                { class: 'row' },
                h('button', { type: 'button', 'aria-label': `Edit queue ${q.name}`, onclick: () => editQueue(q) }, 'Edit'),
                h('button', { type: 'button', 'aria-label': `Delete queue ${q.name}`, onclick: () => deleteQueue(q) }, 'Delete'),
              ),
            )
          : null,
      ),
    ),
    'No queues yet.',
  );
}

function renderQueues() {
  return h(
    'div',
    {},
    sectionHead('Queues', state.unavailable.queues ? null : h('button', { type: 'button', class: 'primary', onclick: () => editQueue(null) }, 'Add queue')),
    h('section', { class: 'card' }, queueTable(true)),
  );
}

async function editQueue(q) {
  await openDialog(q ? `Edit queue ${q.name}` : 'Add queue', (close) => {
    const name = h('input', { required: true, value: q?.name || '', readOnly: Boolean(q), pattern: '[a-z0-9_\\-]{1,64}', autocomplete: 'off' });
    const display = h('input', { value: q?.display_name || '', required: true });
    const auto = h('input', { type: 'checkbox', checked: Boolean(q?.auto_accept) });
    const maxWait = h('input', { type: 'number', min: 0, value: q?.max_wait_s ?? '' });
    const closed = h('textarea', { value: q?.closed_text || '' });
    const sl = h('input', { type: 'number', min: 1, max: 86400, required: true, value: q?.service_level_s ?? 60 });
    const noAgents = h('textarea', { value: q?.no_agents_text || '' });
    const codes = h('textarea', { rows: 3, value: (q?.wrap_up_codes || []).join('\n') });
    const required = h('input', { type: 'checkbox', checked: Boolean(q?.wrap_up_required) });
    const acw = h('input', { type: 'number', min: 0, max: 3600, required: true, value: q?.after_chat_work_s ?? 0 });
    const csat = h('input', { type: 'checkbox', checked: Boolean(q?.csat) });
    const hours = h('textarea', { rows: 4, class: 'mono', value: q?.hours ? JSON.stringify(q.hours) : '' });
    const error = h('p', { class: 'error-text', role: 'alert' });
    return h(
      'form',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          const body = { display_name: display.value.trim(), auto_accept: auto.checked };
          if (maxWait.value !== '') body.max_wait_s = Number(maxWait.value);
          if (closed.value.trim()) body.closed_text = closed.value.trim();
          body.service_level_s = Number(sl.value);
          body.no_agents_text = noAgents.value.trim() || null;
          body.wrap_up_codes = codes.value.split('\n').map((c) => c.trim()).filter(Boolean);
          body.wrap_up_required = required.checked;
          body.after_chat_work_s = Number(acw.value);
          body.csat = csat.checked;
          if (hours.value.trim()) {
            try {
              body.hours = JSON.parse(hours.value);
            } catch {
              error.textContent = 'Business hours must be JSON (see the example under the field), or empty for always open.';
              return;
            }
          } else {
            body.hours = null;
          }
          try {
            if (q) await api.patch(`/api/v1/queues/${api.seg(q.name)}`, body);
            else await api.post('/api/v1/queues', { name: name.value.trim(), ...body });
            close('saved');
          } catch (err) {
            error.textContent = err.message;
          }
        },
      },
      field('Queue name', name, 'Lower-case letters, digits, - and _; bots hand over to this name.'),
      field('Display name', display),
      h('label', { class: 'check' }, auto, 'Auto-accept: assign chats to agents without an offer'),
      field('Max wait (seconds)', maxWait, 'Optional. Customers who would wait longer are told the queue is closed.'),
      field('Closed text', closed, 'Optional. What the customer reads when the queue does not take chats.'),
      field('Service level threshold (seconds)', sl, 'Chats answered within this many seconds count for the service level (the 80/20 figure).'),
      field('No-agents text', noAgents, 'Optional. Sent instead of the wait estimate while no agent of the queue is there; {position} is the customer’s place. Empty: “All our agents are busy right now. You are number {position} in the queue.”'),
      field('Wrap-up codes', codes, 'One a line: what agents pick from when a chat ends.'),
      h('label', { class: 'check' }, required, 'Ending a chat needs a wrap-up code'),
      field('After-chat work (seconds)', acw, 'No new chat for the agent this long after a chat ends, or until they press Ready. 0: none.'),
      h('label', { class: 'check' }, csat, 'Satisfaction survey: ask “How did we do?” (1–5) when an agent ends a chat'),
      field('Business hours', hours, 'Empty: always open. JSON, e.g. {"time_zone":"Europe/London","weekly":{"mon":[["09:00","17:30"]],"tue":[["09:00","17:30"]]},"closed_on":["2026-12-25"]}; a day left out is closed. Outside them customers are told the closed text and the next opening.'),
      error,
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => close('cancel') }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Save')),
    );
  });
  await loadQueues();
  render();
}

async function deleteQueue(q) {
  const ok = await confirmDialog(`Delete queue ${q.name}?`, 'Only an empty queue can be deleted. Agents keep their other queues.', 'Delete', { danger: true });
  if (!ok) return;
  await guarded(() => api.del(`/api/v1/queues/${api.seg(q.name)}`), 'Delete queue');
  await loadQueues();
  render();
}

// Bots

function renderBots() {
  const bots = state.bots;
  return h(
    'div',
    {},
    sectionHead('Bots'),
    h(
      'section',
      { class: 'card' },
      bots === null
        ? loading()
        : table(
            'Bots',
            ['Bot', 'Source', 'Loaded', ''],
            [...bots, ...Object.keys(state.botErrors).filter((n) => !bots.some((b) => b.name === n)).map((n) => ({ name: n, display_name: n, source: '—', loaded_at: null, missing: true }))].map((b) =>
              h(
                'tr',
                {},
                h(
                  'td',
                  {},
                  h('strong', {}, b.display_name),
                  ' ',
                  h('span', { class: 'muted' }, `(${b.name})`),
                  state.botErrors[b.name] ? h('p', { class: 'error-text', role: 'alert' }, `Load error: ${state.botErrors[b.name]}`) : null,
                ),
                h('td', {}, h('span', { class: 'mono' }, b.source)),
                h('td', {}, formatDateTime(b.loaded_at)),
                h(
                  'td',
                  {},
                  b.source === 'built-in'
                    ? h('span', { class: 'muted' }, 'built in')
                    : h('button', { type: 'button', 'aria-label': `Reload ${b.name}`, onclick: () => reloadBot(b.name) }, 'Reload'),
                ),
              ),
            ),
            'No bots.',
          ),
    ),
  );
}

async function reloadBot(name) {
  try {
    await api.post(`/api/v1/bots/${api.seg(name)}/reload`);
    delete state.botErrors[name];
  } catch (e) {
    if (e.status === 401) return;
    state.botErrors[name] = e.message;
  }
  await loadBots();
  render();
}

// ---- start ----

// The moment the first screen is usable, for load measurements (docs/performance.md).
function markReady() {
  if (!performance.getEntriesByName('parley:ready').length) performance.mark('parley:ready');
}

async function start() {
  parseHash();
  let user = null;
  try {
    user = await api.currentUser();
  } catch (e) {
    renderSignIn(e.message);
    return;
  }
  if (user && user.role === 'admin') await signedIn(user);
  else renderSignIn();
}

start();
