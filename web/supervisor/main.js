// The supervisor's wallboard (/supervisor): every queue and every agent live, from
// GET /api/v1/overview and the event stream (queue.updated and agent.status reach supervisors
// and admins for every queue and agent). A queue.updated changes its row at once; any event reads
// the overview again, at most once a second, for the agent counts and today's figures. A
// one-second timer only moves the "how long" counters on, in place. From an agent's chat the
// supervisor opens the chat panel (chat.js): monitor, whisper, join, transfer. #reports shows
// the reports with charts (/lib/reports.js, the same section as the manager's).
import * as api from '/lib/api.js';
import { EventStream, statusView } from '/lib/events.js';
import { signInForm } from '/lib/signin.js';
import { h, replace, field, openDialog, confirmDialog } from '/lib/dom.js';
import { renderQueues, renderAgents, tick, waitText } from '/supervisor/board.js';
import { createChatPanel } from '/supervisor/chat.js';
import { reportsSection } from '/lib/reports.js';

const REREAD_MS = 1000;

const state = {
  user: null,
  floor: { queues: [], agents: [], conversations: {} },
  queuesAt: Date.now(), // when the queues' waits were read
  awayReasons: [],
  rereadTimer: null,
  rereadAt: 0,
};

const $ = (id) => document.getElementById(id);
const el = {
  who: $('who'),
  signout: $('signout'),
  manager: $('manager-link'),
  live: $('live'),
  signin: $('signin-area'),
  board: $('board'),
  queues: $('queues'),
  agents: $('agents'),
  updated: $('updated'),
  chat: $('chat'),
  views: $('views'),
  reports: $('reports-area'),
};

const reports = reportsSection({ refresh: () => showView() });
let reportsLoaded = false;

// The live floor, or the reports (#reports); the stream stays open under either.
function showView() {
  if (!state.user) return;
  const onReports = location.hash === '#reports';
  el.board.hidden = onReports;
  el.reports.hidden = !onReports;
  for (const [link, current] of [[$('view-board'), !onReports], [$('view-reports'), onReports]]) {
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (onReports) {
    if (!reportsLoaded) {
      reportsLoaded = true;
      reports.load().then(showView).catch((e) => {
        if (e.status !== 401) api.showError(e, 'Reports');
      });
    }
    replace(el.reports, reports.render());
  }
}
window.addEventListener('hashchange', showView);

const chatPanel = createChatPanel(el.chat, {
  user: () => state.user,
  floor: () => state.floor,
  onChange: () => reread(),
});

const stream = new EventStream({
  onEvent: handleEvent,
  onStatus: statusView(el.live),
  onResync: () => load(),
});

const mayWatch = (user) => user && (user.role === 'supervisor' || user.role === 'admin');

async function load() {
  try {
    const [floor, me] = await Promise.all([api.get('/api/v1/overview'), state.awayReasons.length ? null : api.get('/api/v1/agents/me').catch(() => null)]);
    state.floor = floor;
    state.queuesAt = Date.now();
    if (me?.away_reasons) state.awayReasons = me.away_reasons;
    render();
  } catch (e) {
    if (e.status !== 401) api.showError(e, 'Wallboard');
  }
}

// Reads the overview again, at most once a second (a burst of events is one read).
function reread() {
  if (state.rereadTimer) return;
  const wait = Math.max(0, state.rereadAt + REREAD_MS - Date.now());
  state.rereadTimer = setTimeout(async () => {
    state.rereadTimer = null;
    state.rereadAt = Date.now();
    await load();
  }, wait);
}

function handleEvent(frame) {
  if (frame.monitoring) {
    chatPanel.event(frame);
    return;
  }
  if (frame.type === 'queue.updated' && frame.queue) {
    const i = state.floor.queues.findIndex((q) => q.name === frame.queue.name);
    // The event's queue has the counters; the agent counts of the overview stay until it is read.
    if (i >= 0) state.floor.queues[i] = { ...state.floor.queues[i], ...frame.queue };
    else state.floor.queues.push(frame.queue);
    state.queuesAt = Date.now();
    render();
  }
  if (frame.type === 'queue.updated' || frame.type === 'agent.status' || frame.type.startsWith('conversation.')) reread();
}

// The longest wait of a queue now: as read, counted on since.
const waitedAt = (q) => (q.longest_wait_s ?? 0) + Math.floor((Date.now() - state.queuesAt) / 1000);

function render() {
  renderQueues(el.queues, state.floor.queues, waitedAt);
  renderAgents(el.agents, state.floor.agents, Date.now(), {
    openChat: (c) => chatPanel.open(c),
    setAway,
    signOut,
  });
  el.updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
}

async function setAway(agent) {
  const reason = h('select', {}, h('option', { value: '' }, 'No reason'), state.awayReasons.map((r) => h('option', { value: r }, r)));
  const error = h('p', { class: 'error-text', role: 'alert' });
  await openDialog(`Set ${agent.display_name} away`, (close) =>
    h(
      'form',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            const body = reason.value ? { status: 'away', reason: reason.value } : { status: 'away' };
            await api.put(`/api/v1/agents/${api.seg(agent.username)}/status`, body);
            close('done');
          } catch (err) {
            error.textContent = err.message;
          }
        },
      },
      h('p', {}, 'They get no new offers until they are available again; their chats stay theirs.'),
      field('Reason', reason),
      error,
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => close('') }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Set away')),
    ),
  );
  reread();
}

async function signOut(agent) {
  const sure = await confirmDialog(
    `Sign ${agent.display_name} out?`,
    'Their sessions end and their chats go back to the head of their queues.',
    'Sign out',
    { danger: true },
  );
  if (!sure) return;
  try {
    await api.post(`/api/v1/agents/${api.seg(agent.username)}/sign-out`);
  } catch (e) {
    if (e.status !== 401) api.showError(e, 'Sign out');
  }
  reread();
}

// ---- sign-in ----

function showSignIn(message) {
  stream.stop();
  state.user = null;
  el.board.hidden = true;
  el.reports.hidden = true;
  el.views.hidden = true;
  el.signout.hidden = true;
  el.who.textContent = '';
  el.signin.hidden = false;
  const signin = signInForm({
    title: 'Sign in to the wallboard',
    message,
    accept: (user) => {
      if (!mayWatch(user)) {
        api.logout().catch(() => {});
        return 'The wallboard is for supervisors and administrators.';
      }
      signedIn(user);
      return undefined;
    },
  });
  replace(el.signin, signin.form);
  signin.focus();
}

function signedIn(user) {
  state.user = user;
  el.signin.hidden = true;
  el.signin.replaceChildren();
  el.views.hidden = false;
  el.signout.hidden = false;
  el.manager.hidden = user.role !== 'admin';
  el.who.textContent = user.display_name || user.username || 'Administrator';
  render();
  showView();
  stream.lastSeq = null;
  stream.everOpened = false;
  stream.start(); // its first open reads the overview
  load();
}

el.signout.addEventListener('click', async () => {
  stream.stop();
  try {
    await api.logout();
  } catch {
    // the session is gone either way
  }
  showSignIn('You are signed out.');
});

api.onUnauthorized(() => {
  if (state.user) showSignIn('Your session has ended. Sign in again.');
});

setInterval(() => {
  if (!state.user) return;
  tick(el.agents, Date.now());
  for (const node of el.queues.querySelectorAll('[data-wait]')) {
    const q = state.floor.queues.find((x) => x.name === node.dataset.wait);
    if (!q) continue;
    const { text, over } = waitText(q, waitedAt(q));
    node.textContent = text;
    node.classList.toggle('over', over);
  }
}, 1000);

async function start() {
  try {
    const user = await api.currentUser();
    if (user && mayWatch(user)) signedIn(user);
    else if (user) showSignIn('The wallboard is for supervisors and administrators; sign in as one.');
    else showSignIn();
  } catch (e) {
    showSignIn(e.message);
  }
}

start();
