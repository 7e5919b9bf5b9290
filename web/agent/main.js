// The agent console (/agent): presence, the agent's queues, offers with a countdown, the
// agent's chats with unread marks, the selected chat's transcript with delivery states and
// agent assist, a composer, transfer, release and end.
//
// State lives in `state`; the server's events (WebSocket) update it and the affected parts of
// the view are redrawn from it. Transcript entries keep their DOM node between redraws, so a
// chat of 500 messages costs one node per new message, not a rebuild.
import * as api from '/lib/api.js';
import { EventStream, statusView } from '/lib/events.js';
import { signInForm } from '/lib/signin.js';
import { h, replace, field, openDialog, confirmDialog, formatTime, formatDuration } from '/lib/dom.js';
import { attachResponsePicker } from '/agent/responses.js';
import { loadDraft, saveDraft, clearDraft, loadSelected, saveSelected } from '/agent/drafts.js';
import { wrapUpDialog, canWrapUpLater, afterChatNotice } from '/agent/wrapup.js';
import { createContextPanel } from '/agent/context.js';
import { createHistoryPanel } from '/agent/history.js';
import { payloadView } from '/agent/payload.js';
import { createAlerts } from '/agent/alerts.js';

const ENDED_KEEP_MS = 60 * 60 * 1000; // ended chats come back after a reload for an hour
const CLOSED_KEY = 'parley-agent-closed-chats'; // ids of ended chats the agent closed (this tab)
const ASSIST_AUTO = 20; // the latest customer messages that get the bot's view without asking
const TYPING_IDLE_MS = 3000;
const TYPING_SHOWN_MS = 6000;

const state = {
  user: null,
  status: 'away',
  awayReason: '', // one of awayReasons while away, else ''
  awayReasons: [], // the server's away_reasons (GET /api/v1/agents/me)
  queues: [], // objects of GET /api/v1/queues, only the agent's own
  offers: new Map(), // conversation id -> {conversation, expires_at}
  chats: new Map(), // conversation id -> chat (see newChat)
  selected: null,
  assistAvailable: true,
  assist: new Map(), // `${conversation}:${position}` -> {state:'loading'|'done'|'error', result}
};

function newChat(conversation) {
  return {
    conv: conversation,
    transcript: null, // entries from the server, by position
    positions: new Set(),
    pending: new Map(), // event_id -> entry sent by this page, not yet echoed by the server
    deliveries: new Map(), // event_id -> {delivery_status, last_error} that came before the entry
    unread: 0,
    typing: false,
    typingTimer: null,
    ended: null, // why it ended, once it has
    draft: '',
    nodes: new Map(), // entry key -> {sig, node}
    loading: null,
    early: [], // entries that came by event while the transcript was being read
  };
}

const $ = (id) => document.getElementById(id);
const el = {
  presence: $('presence'),
  awayReason: $('away-reason'),
  who: $('who'),
  signout: $('signout'),
  live: $('live'),
  signin: $('signin-area'),
  console: $('console'),
  offers: $('offers'),
  queues: $('queues'),
  chats: $('chats'),
  chatTitle: $('chat-title'),
  chatMeta: $('chat-meta'),
  chatActions: $('chat-actions'),
  chatEmpty: $('chat-empty'),
  transcript: $('transcript'),
  typing: $('typing'),
  chatEnded: $('chat-ended'),
  composer: $('composer'),
  message: $('message'),
  notice: $('notice'),
  context: $('context'),
  history: $('history'),
};

const stream = new EventStream({
  onEvent: handleEvent,
  onStatus: statusView(el.live),
  onResync: () => resync(),
});

const myName = () => state.user?.display_name || state.user?.username || '';
const isMine = (conv) => conv && state.user && conv.agent === state.user.username;
const queueLabel = (name) => state.queues.find((q) => q.name === name)?.display_name || name || '';
const customerLabel = (conv) => conv.customer_name || conv.customer_id || 'Customer';
const contextPanel = createContextPanel(el.context, { customerLabel, queueLabel });
const historyPanel = createHistoryPanel(el.history, { customerLabel });
const alerts = createAlerts($('alerts'));
// available | away | after_chat (the server's word; offline is not a choice)
const statusOf = (agent) => (agent.status === 'available' || agent.status === 'after_chat' ? agent.status : 'away');

async function guarded(fn, context) {
  try {
    return await fn();
  } catch (e) {
    if (e.status !== 401) api.showError(e, context);
    return undefined;
  }
}

// ---- loading ----

// Re-reads everything by REST: at sign-in, and when the event stream could not resume.
async function resync() {
  if (!state.user) return;
  // A status the agent chose while this read was under way is newer than what it reads.
  const statusSeq = state.statusSeq;
  await guarded(async () => {
    const [me, queues, active, ended] = await Promise.all([
      api.get('/api/v1/agents/me'),
      api.get('/api/v1/queues'),
      api.get('/api/v1/conversations?state=active&mine=true&limit=1000'),
      api.get('/api/v1/conversations?state=ended&mine=true&limit=50'),
    ]);
    state.awayReasons = me.away_reasons || [];
    if (state.statusSeq === statusSeq) {
      state.status = statusOf(me);
      state.awayReason = me.away_reason || '';
      state.readyAt = me.ready_at;
    }
    const mine = new Set(me.queues || []);
    state.queues = queues.queues.filter((q) => mine.has(q.name));
    state.queuesAt = Date.now();
    const seen = new Set();
    for (const conv of active.conversations) {
      seen.add(conv.id);
      const chat = state.chats.get(conv.id);
      if (chat) chat.conv = conv;
      else state.chats.set(conv.id, newChat(conv));
    }
    // Chats that ended lately stay until the agent closes them, across reloads too.
    const closed = closedChats();
    for (const conv of ended.conversations) {
      if (closed.has(conv.id)) continue; // mine=true: the agent had it
      if (!conv.ended_at || Date.now() - Date.parse(conv.ended_at) > ENDED_KEEP_MS) continue;
      seen.add(conv.id);
      const chat = state.chats.get(conv.id) || newChat(conv);
      chat.conv = conv;
      chat.ended = chat.ended || conv.ended_by || 'agent';
      state.chats.set(conv.id, chat);
    }
    for (const [id, chat] of state.chats) if (!seen.has(id) && !chat.ended) state.chats.delete(id);
    // Offers still ringing (a reload during an offer); new ones come as events.
    const offers = await api.get('/api/v1/agents/me/offers');
    state.offers.clear();
    for (const offer of offers.offers) state.offers.set(offer.id, { conversation: offer, expires_at: offer.expires_at });
  }, 'Loading');
  // After a reload: the chat that was open, with what was being written in it.
  if (!state.selected) {
    const before = loadSelected(state.user.username);
    if (before && state.chats.has(before)) {
      state.selected = before;
      const chat = state.chats.get(before);
      chat.draft = chat.draft || loadDraft(state.user.username, before);
      el.message.value = chat.draft;
    }
  }
  if (state.selected && !state.chats.has(state.selected)) state.selected = null;
  if (state.selected) await loadTranscript(state.chats.get(state.selected));
  renderAll();
}

async function loadTranscript(chat) {
  if (!chat) return;
  if (chat.loading) return chat.loading;
  chat.loading = (async () => {
    await guarded(async () => {
      const full = await api.get(`/api/v1/conversations/${api.seg(chat.conv.id)}`);
      const { transcript, ...conv } = full;
      chat.conv = conv;
      chat.transcript = [];
      chat.positions.clear();
      for (const entry of transcript) addEntry(chat, entry);
      for (const entry of chat.early.splice(0)) addEntry(chat, entry);
    }, 'Transcript');
  })();
  try {
    await chat.loading;
  } finally {
    chat.loading = null;
  }
}

// Adds an entry once (by position); settles a pending entry with the same event_id.
function addEntry(chat, entry) {
  if (!chat.transcript) return false;
  if (chat.positions.has(entry.position)) return false;
  chat.positions.add(entry.position);
  if (entry.event_id) {
    chat.pending.delete(entry.event_id);
    const d = chat.deliveries.get(entry.event_id);
    if (d) {
      Object.assign(entry, d);
      chat.deliveries.delete(entry.event_id);
    }
  }
  const t = chat.transcript;
  if (!t.length || t[t.length - 1].position < entry.position) t.push(entry);
  else {
    const i = t.findIndex((x) => x.position > entry.position);
    t.splice(i < 0 ? t.length : i, 0, entry);
  }
  return true;
}

// ---- live events ----

function handleEvent(frame) {
  // A chat a supervisor monitors reaches their stream too; this console shows one's own chats.
  if (frame.monitoring) return;
  const conv = frame.conversation;
  switch (frame.type) {
    case 'conversation.offered':
      state.offers.set(conv.id, { conversation: conv, expires_at: frame.expires_at || conv.offer_expires_at });
      announce(`New chat offered: ${customerLabel(conv)}, queue ${queueLabel(conv.queue)}.`);
      alerts.offered('New chat offered', `${customerLabel(conv)}, queue ${queueLabel(conv.queue)}`);
      renderOffers();
      break;
    case 'conversation.assigned': {
      state.offers.delete(conv.id);
      if (isMine(conv)) {
        const chat = state.chats.get(conv.id);
        if (chat) {
          chat.conv = conv;
          chat.ended = null;
        } else state.chats.set(conv.id, newChat(conv));
        if (!state.selected) select(conv.id);
      } else if (state.chats.has(conv.id)) {
        state.chats.delete(conv.id);
        if (state.selected === conv.id) state.selected = null;
      }
      renderOffers();
      renderChats();
      renderChat();
      break;
    }
    case 'conversation.message': {
      const chat = state.chats.get(conv?.id);
      if (!chat) break;
      chat.conv = { ...chat.conv, ...conv };
      const entry = frame.entry;
      if (!entry) break;
      if (entry.from === 'customer') {
        chat.typing = false;
        if (state.selected !== conv.id || document.hidden) chat.unread += 1;
      }
      if (chat.transcript) {
        if (addEntry(chat, entry) && state.selected === conv.id) renderTranscript();
      } else if (chat.loading) {
        chat.early.push(entry);
      }
      renderChats();
      if (state.selected === conv.id) renderTyping();
      break;
    }
    case 'conversation.typing': {
      const chat = state.chats.get(conv?.id);
      if (!chat) break;
      chat.typing = Boolean(frame.on);
      clearTimeout(chat.typingTimer);
      if (chat.typing) {
        chat.typingTimer = setTimeout(() => {
          chat.typing = false;
          if (state.selected === chat.conv.id) renderTyping();
        }, TYPING_SHOWN_MS);
      }
      if (state.selected === conv.id) renderTyping();
      break;
    }
    case 'conversation.delivery': {
      const chat = state.chats.get(conv?.id);
      if (!chat) break;
      const update = { delivery_status: frame.delivery_status, last_error: frame.last_error ?? null };
      const entry =
        chat.transcript?.find((e) => e.event_id === frame.event_id) || chat.pending.get(frame.event_id);
      if (entry) Object.assign(entry, update);
      else chat.deliveries.set(frame.event_id, update);
      if (state.selected === conv.id) renderTranscript();
      break;
    }
    case 'conversation.removed':
      state.offers.delete(conv.id);
      if (frame.reason === 'offer_expired') {
        showNotice('You missed an offer, so you are now Away. Choose Available to get offers again.');
        announce('You missed an offer, so you are now Away.');
      }
      if (state.chats.has(conv.id) && !isMine(conv)) {
        state.chats.delete(conv.id);
        if (state.selected === conv.id) state.selected = null;
      }
      renderOffers();
      renderChats();
      renderChat();
      break;
    case 'conversation.ended': {
      state.offers.delete(conv.id);
      const chat = state.chats.get(conv.id);
      if (chat) {
        chat.conv = { ...chat.conv, ...conv };
        chat.ended = frame.by || 'agent';
        chat.typing = false;
      }
      renderOffers();
      renderChats();
      if (state.selected === conv.id) renderChat();
      if (chat) historyPanel.refresh();
      break;
    }
    case 'queue.updated': {
      const i = state.queues.findIndex((q) => q.name === frame.queue?.name);
      if (i >= 0) {
        state.queues[i] = { ...frame.queue, at: Date.now() };
        renderQueues();
      }
      break;
    }
    case 'agent.status':
      if (frame.agent?.username === state.user?.username) {
        state.status = statusOf(frame.agent);
        state.awayReason = frame.agent.away_reason || '';
        state.readyAt = frame.agent.ready_at;
        if (state.status === 'available') hideNotice();
        renderPresence();
        renderChats();
      }
      break;
    default:
      break;
  }
}

// ---- rendering ----

function renderAll() {
  renderPresence();
  renderOffers();
  renderQueues();
  renderChats();
  renderChat();
}

function renderPresence() {
  for (const radio of el.presence.querySelectorAll('input')) radio.checked = radio.value === state.status;
  const wanted = ['', ...state.awayReasons];
  if ([...el.awayReason.options].map((o) => o.value).join('\n') !== wanted.join('\n')) {
    replace(el.awayReason, ...wanted.map((r) => h('option', { value: r }, r ? r[0].toUpperCase() + r.slice(1) : 'No reason')));
  }
  el.awayReason.value = state.status === 'away' ? state.awayReason : '';
  if (state.status === 'after_chat') {
    replace(el.notice, afterChatNotice(state.readyAt, () => setStatus('available')));
    el.notice.hidden = false;
  } else if (el.notice.dataset.kind !== 'missed') {
    el.notice.hidden = true;
  }
}

let countdownTimer = null;

function renderOffers() {
  const now = Date.now();
  const items = [...state.offers.values()];
  replace(
    el.offers,
    items.map(({ conversation: c, expires_at }) => {
      const left = expires_at ? Math.max(0, Math.ceil((Date.parse(expires_at) - now) / 1000)) : null;
      const title = `New chat: ${customerLabel(c)}`;
      return h(
        'div',
        { class: 'offer', role: 'group', 'aria-label': title },
        h('p', {}, h('strong', {}, title)),
        h('p', { class: 'muted' }, `Queue: ${queueLabel(c.queue)}`, c.transfer_note ? ` · Note: ${c.transfer_note}` : ''),
        left !== null ? h('p', { class: 'countdown', dataset: { expires: expires_at } }, `Expires in ${left} s`) : null,
        h(
          'div',
          { class: 'row' },
          h('button', { type: 'button', class: 'primary', onclick: () => accept(c.id) }, 'Accept'),
          h('button', { type: 'button', onclick: () => letPass(c.id) }, 'Let pass'),
        ),
      );
    }),
  );
  // A display timer for the countdowns only; expiry itself comes from the server (an offer
  // long past its time is dropped here too). The text changes in place, so the focus stays
  // on the Accept button.
  if (items.length && !countdownTimer) {
    countdownTimer = setInterval(() => {
      let gone = false;
      for (const [id, o] of state.offers) {
        if (o.expires_at && Date.parse(o.expires_at) < Date.now() - 5000) gone = state.offers.delete(id);
      }
      if (gone) return renderOffers();
      for (const p of el.offers.querySelectorAll('.countdown')) {
        const left = Math.max(0, Math.ceil((Date.parse(p.dataset.expires) - Date.now()) / 1000));
        p.textContent = `Expires in ${left} s`;
      }
    }, 1000);
  } else if (!items.length && countdownTimer) {
    clearInterval(countdownTimer);
    countdownTimer = null;
  }
  document.title = items.length ? `(${items.length}) New chat · Agent console · Parley` : 'Agent console · Parley';
}

function announce(text) {
  const region = $('announce');
  region.textContent = '';
  // A fresh text node, so screen readers announce it even when it repeats.
  requestAnimationFrame(() => (region.textContent = text));
}

// "oldest N s" counts on between events: the server's figure plus the time since it came.
function oldestWait(q) {
  const since = q.at ?? state.queuesAt ?? Date.now();
  return (q.oldest_wait_s ?? 0) + Math.max(0, Math.floor((Date.now() - since) / 1000));
}

let oldestTimer = null;
function tickOldest() {
  const rows = el.queues.querySelectorAll('.oldest');
  if (!rows.length) {
    clearInterval(oldestTimer);
    oldestTimer = null;
    return;
  }
  for (const span of rows) {
    const q = state.queues.find((x) => x.name === span.dataset.queue);
    if (q) span.textContent = `oldest ${formatDuration(oldestWait(q))}`;
  }
}

function renderQueues() {
  if (!state.queues.length) {
    replace(el.queues, h('p', { class: 'empty' }, 'You are in no queue. Ask an administrator to add you to one.'));
    return;
  }
  replace(
    el.queues,
    state.queues.map((q) =>
      h(
        'div',
        { class: 'queue-row' },
        h('span', { class: 'name' }, q.display_name || q.name),
        h('span', { class: ['badge', q.waiting ? 'warn' : null] }, `${q.waiting ?? 0} waiting`),
        q.waiting ? h('span', { class: 'muted oldest', dataset: { queue: q.name } }, `oldest ${formatDuration(oldestWait(q))}`) : null,
        h(
          'button',
          {
            type: 'button',
            disabled: !q.waiting,
            'aria-label': `Take the next chat from ${q.display_name || q.name}`,
            onclick: () => takeNext(q.name),
          },
          'Take next',
        ),
      ),
    ),
  );
  // A display timer, as for the offers' countdowns: the text changes in place.
  if (!oldestTimer && el.queues.querySelector('.oldest')) oldestTimer = setInterval(tickOldest, 1000);
}

function renderChats() {
  const chats = [...state.chats.values()];
  if (!chats.length) {
    const hint = state.status === 'available' ? 'No chats. Offers come here when customers wait.' : 'No chats. Go Available to get offers.';
    replace(el.chats, h('li', { class: 'empty' }, hint));
    return;
  }
  replace(
    el.chats,
    chats.map((chat) => {
      const c = chat.conv;
      const label = [customerLabel(c), chat.unread ? `${chat.unread} unread` : null, chat.ended ? 'ended' : null]
        .filter(Boolean)
        .join(', ');
      return h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            'aria-current': state.selected === c.id ? 'true' : null,
            'aria-label': label,
            onclick: () => select(c.id),
          },
          h('span', { class: 'name' }, customerLabel(c)),
          chat.ended ? h('span', { class: 'badge' }, 'Ended') : h('span', { class: 'muted' }, queueLabel(c.queue)),
          chat.unread ? h('span', { class: 'unread' }, String(chat.unread)) : null,
        ),
      );
    }),
  );
}

async function select(id) {
  const prev = state.chats.get(state.selected);
  if (prev) prev.draft = el.message.value;
  state.selected = id;
  saveSelected(state.user?.username, id);
  const chat = state.chats.get(id);
  if (!chat) return renderChat();
  chat.unread = 0;
  chat.draft = chat.draft || loadDraft(state.user.username, id);
  el.message.value = chat.draft;
  renderChats();
  renderChat();
  // On a narrow screen the chat sits below the lists: bring it into view.
  if (window.matchMedia('(max-width: 760px)').matches) el.chatTitle.scrollIntoView({ block: 'start' });
  if (!chat.transcript) {
    await loadTranscript(chat);
    if (state.selected === id) renderChat();
  }
}

function renderChat() {
  const chat = state.chats.get(state.selected);
  const has = Boolean(chat);
  el.chatEmpty.hidden = has;
  el.transcript.hidden = !has;
  el.chatActions.hidden = !has || Boolean(chat?.ended);
  el.composer.hidden = !has || Boolean(chat?.ended);
  contextPanel.show(chat?.conv);
  if (!has) {
    el.chatTitle.textContent = 'No chat selected';
    el.chatMeta.textContent = '';
    el.chatEnded.hidden = true;
    el.typing.textContent = '';
    el.transcript.replaceChildren();
    return;
  }
  const c = chat.conv;
  el.chatTitle.textContent = customerLabel(c);
  const ctx = Object.entries(c.context || {}).map(([k, v]) => `${k}: ${v}`);
  el.chatMeta.textContent = [
    c.queue ? `Queue: ${queueLabel(c.queue)}` : null,
    c.transfer_note ? `Transfer note: ${c.transfer_note}` : null,
    ctx.length ? ctx.join(' · ') : null,
  ]
    .filter(Boolean)
    .join(' — ');
  const endedText = { customer: 'The customer ended the chat.', agent: 'The chat has ended.', timeout: 'The chat ended after a time without messages.' };
  el.chatEnded.hidden = !chat.ended;
  if (chat.ended) {
    replace(
      el.chatEnded,
      endedText[chat.ended] || 'The chat has ended.',
      ' ',
      canWrapUpLater(chat) ? h('button', { type: 'button', onclick: () => wrapUpLater(chat) }, 'Wrap up…') : null,
      ' ',
      h('button', { type: 'button', onclick: () => closeChat(c.id) }, 'Close chat'),
    );
  }
  renderTranscript();
  renderTyping();
}

function renderTyping() {
  const chat = state.chats.get(state.selected);
  el.typing.textContent = chat?.typing && !chat.ended ? `${customerLabel(chat.conv)} is typing…` : '';
}

const FROM_LABEL = { bot: 'Bot', system: 'System' };

function whoLabel(chat, e) {
  if (e.direction === 'note' && e.from === 'system') return 'System note';
  if (e.direction === 'note') return `Note by ${e.csr_name && e.csr_name !== myName() ? e.csr_name : `${e.csr_name || myName()} (you)`}`;
  if (e.from === 'customer') return customerLabel(chat.conv);
  if (e.from === 'csr') return e.csr_name && e.csr_name !== myName() ? e.csr_name : `${e.csr_name || myName()} (you)`;
  return FROM_LABEL[e.from] || e.from;
}

function deliveryView(e) {
  if (e.direction !== 'out' || !e.delivery_status) return null;
  if (e.delivery_status === 'dead') {
    return h('span', { class: 'delivery failed' }, `Not delivered: ${e.last_error || 'the channel did not accept it'}`);
  }
  if (e.delivery_status === 'delivered') return e.from === 'csr' ? h('span', { class: 'delivery' }, 'Delivered') : null;
  if (e.last_error) return h('span', { class: 'delivery failed' }, `Retrying: ${e.last_error}`);
  return e.from === 'csr' ? h('span', { class: 'delivery' }, 'Sending…') : null;
}

// The text of a customer message for agent assist; none for a tapped button (its payload told
// the bot what was meant, so the classifier's view would only mislead).
function customerText(e) {
  if (e.from !== 'customer' || e.type !== 'text' || e.payload?.postback) return '';
  const t = e.payload?.text;
  return (Array.isArray(t) ? t.join('\n') : t || '').trim();
}

function assistView(chat, e, autoAsk) {
  if (!state.assistAvailable) return null;
  const text = customerText(e);
  if (!text) return null;
  const key = `${chat.conv.id}:${e.position}`;
  const a = state.assist.get(key);
  if (!a) {
    if (autoAsk) {
      askAssist(chat, e, key, text);
      return h('div', { class: 'assist muted' }, 'Bot: reading…');
    }
    return h(
      'div',
      { class: 'assist' },
      h('button', { type: 'button', class: 'link', onclick: () => askAssist(chat, e, key, text) }, 'What did the bot understand?'),
    );
  }
  if (a.state === 'loading') return h('div', { class: 'assist muted' }, 'Bot: reading…');
  if (a.state === 'error') return h('div', { class: 'assist muted' }, 'Bot: no answer.');
  const r = a.result;
  // The server's label says what the bot did with the message ("answered the question …").
  const head = r.label && r.kind && r.kind !== 'intent' && r.kind !== 'not_understood'
    ? `Bot: ${r.label}`
    : r.understood
      ? `Bot understood: ${r.intent} (${Math.round((r.confidence || 0) * 100)} %)`
      : 'Bot: not understood';
  const suggestions = (r.suggestions || []).filter((s) => s.type === 'text' && Array.isArray(s.text));
  return h(
    'div',
    { class: 'assist', role: 'group', 'aria-label': 'Agent assist' },
    h('span', {}, head),
    suggestions.length
      ? h(
          'div',
          { class: 'suggestions' },
          suggestions.map((s) => {
            const t = s.text.join('\n');
            return h('button', { type: 'button', title: 'Put this reply in the message box to edit and send', onclick: () => useSuggestion(t) }, `Suggest: ${t}`);
          }),
        )
      : null,
  );
}

async function askAssist(chat, e, key, text) {
  state.assist.set(key, { state: 'loading' });
  try {
    const result = await api.post(`/api/v1/conversations/${api.seg(chat.conv.id)}/assist`, { text });
    state.assist.set(key, { state: 'done', result });
  } catch (err) {
    if (err.status === 404 && err.code === 'not_found') {
      state.assistAvailable = false; // the server has no agent assist: hide the panel
    }
    state.assist.set(key, { state: 'error' });
  }
  if (state.selected === chat.conv.id) renderTranscript();
}

function useSuggestion(text) {
  el.message.value = text;
  el.message.focus();
  el.message.setSelectionRange(text.length, text.length);
}

function entryNode(chat, e, key, autoAsk) {
  const assistKey = `${chat.conv.id}:${e.position}`;
  const a = state.assist.get(assistKey);
  const sig = [e.delivery_status, e.last_error, state.assistAvailable, a?.state, autoAsk].join('|');
  const cached = chat.nodes.get(key);
  if (cached && cached.sig === sig) return cached.node;
  const node = h(
    'li',
    { class: ['entry', e.direction, `from-${e.from}`], 'aria-label': e.direction === 'note' ? 'Internal note' : null },
    h(
      'div',
      { class: 'bubble' },
      h('div', { class: 'meta' }, h('span', { class: 'who' }, whoLabel(chat, e)), h('time', { dateTime: e.created_at || '' }, formatTime(e.created_at))),
      payloadView(e),
    ),
    deliveryView(e),
    e.from === 'customer' ? assistView(chat, e, autoAsk) : null,
  );
  chat.nodes.set(key, { sig, node });
  return node;
}

// Redraws coalesce into one per frame: a burst of events or assist answers costs one pass.
let transcriptFrame = 0;
function renderTranscript() {
  if (transcriptFrame) return;
  transcriptFrame = requestAnimationFrame(() => {
    transcriptFrame = 0;
    drawTranscript();
  });
}

function drawTranscript() {
  const chat = state.chats.get(state.selected);
  if (!chat) return;
  if (!chat.transcript) {
    replace(el.transcript, h('li', { class: 'muted' }, 'Loading…'));
    return;
  }
  const list = el.transcript;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const entries = chat.transcript.filter((e) => e.type !== 'typing_indicator');
  // The latest customer messages get the bot's view at once; older ones on request.
  let customerSeen = 0;
  const autoFrom = new Set();
  for (let i = entries.length - 1; i >= 0 && customerSeen < ASSIST_AUTO; i--) {
    if (customerText(entries[i])) {
      customerSeen += 1;
      autoFrom.add(entries[i].position);
    }
  }
  const nodes = entries.map((e) => entryNode(chat, e, `p${e.position}`, autoFrom.has(e.position)));
  for (const [eventId, e] of chat.pending) nodes.push(entryNode(chat, e, `e${eventId}`, false));
  list.replaceChildren(...nodes);
  if (atBottom || chat.scrollToEnd) list.scrollTop = list.scrollHeight;
  chat.scrollToEnd = false;
}

// ---- actions ----

async function accept(id) {
  const conv = await guarded(() => api.post(`/api/v1/conversations/${api.seg(id)}/accept`), 'Accept');
  state.offers.delete(id);
  renderOffers();
  if (!conv) return;
  if (!state.chats.has(id)) state.chats.set(id, newChat(conv));
  else state.chats.get(id).conv = conv;
  await select(id);
  el.message.focus();
}

// The offer moves on to the next agent at once; this agent stays available.
async function letPass(id) {
  state.offers.delete(id);
  renderOffers();
  try {
    await api.post(`/api/v1/conversations/${api.seg(id)}/decline`, {});
  } catch (e) {
    // Gone already (taken, rung out): nothing to let pass.
    if (e.status !== 401 && e.status !== 409) api.showError(e, 'Let pass');
  }
}

function showNotice(text) {
  el.notice.dataset.kind = 'missed';
  replace(
    el.notice,
    h('span', {}, text),
    h('button', { type: 'button', onclick: () => hideNotice() }, 'Dismiss'),
  );
  el.notice.hidden = false;
}

function hideNotice() {
  el.notice.hidden = true;
  delete el.notice.dataset.kind;
}

async function takeNext(queue) {
  const r = await guarded(() => api.get(`/api/v1/conversations?state=queued&queue=${encodeURIComponent(queue)}&limit=1000`), 'Queue');
  if (!r) return;
  const waiting = r.conversations
    .filter((c) => !c.offered_to || c.offered_to === state.user.username)
    .sort((a, b) => String(a.queued_at).localeCompare(String(b.queued_at)));
  if (!waiting.length) {
    api.showError(new Error('Nobody is waiting in this queue any more.'));
    return;
  }
  await accept(waiting[0].id);
}

async function send(body) {
  const chat = state.chats.get(state.selected);
  if (!chat || chat.ended) return false;
  const id = chat.conv.id;
  try {
    const r = await api.post(`/api/v1/conversations/${api.seg(id)}/messages`, body);
    const known = chat.transcript?.some((e) => e.event_id === r.event_id);
    if (!known) {
      chat.pending.set(r.event_id, {
        position: null,
        direction: 'out',
        from: 'csr',
        csr_name: myName(),
        type: body.type,
        event_id: r.event_id,
        payload: body,
        created_at: new Date().toISOString(),
        delivery_status: 'pending',
        ...(chat.deliveries.get(r.event_id) || {}),
      });
    }
    chat.scrollToEnd = true;
    if (state.selected === id) renderTranscript();
    return true;
  } catch (e) {
    if (e.status === 409 && e.code === 'conversation_ended') {
      chat.ended = chat.ended || 'customer';
      renderChat();
    }
    if (e.status !== 401) api.showError(e, 'Message not sent');
    return false;
  }
}

const typingState = { on: false, lastSent: 0, idle: null, conv: null };

function typing(on) {
  const id = state.selected;
  if (!id) return;
  clearTimeout(typingState.idle);
  if (on) {
    typingState.idle = setTimeout(() => typing(false), TYPING_IDLE_MS);
    if (typingState.on && typingState.conv === id && Date.now() - typingState.lastSent < TYPING_IDLE_MS) return;
  } else if (!typingState.on) return;
  typingState.on = on;
  typingState.conv = id;
  typingState.lastSent = Date.now();
  api.post(`/api/v1/conversations/${api.seg(id)}/typing`, { on }).catch(() => {});
}

el.composer.addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = el.message.value.replace(/\s+$/, '');
  if (!text.trim()) return;
  const lines = text.split('\n');
  el.message.value = '';
  clearTimeout(typingState.idle);
  typingState.on = false;
  // The box is empty from now on, and so is the kept draft (a reload while it is being sent
  // must not bring it back); a send that fails puts both back.
  const sentFrom = state.selected;
  const sentChat = state.chats.get(sentFrom);
  if (sentChat) sentChat.draft = '';
  if (sentFrom) clearDraft(state.user.username, sentFrom);
  const ok = await send({ type: 'text', text: lines });
  if (!ok) {
    el.message.value = text;
    if (sentChat) sentChat.draft = text;
    if (sentFrom) saveDraft(state.user.username, sentFrom, text);
  }
  el.message.focus();
});

el.message.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    el.composer.requestSubmit();
  }
});
el.message.addEventListener('input', () => {
  typing(el.message.value.length > 0 && !el.message.value.startsWith('/'));
  const chat = state.chats.get(state.selected);
  if (chat) {
    chat.draft = el.message.value;
    saveDraft(state.user.username, state.selected, chat.draft);
  }
});

attachResponsePicker(el.message, () => {
  const chat = state.chats.get(state.selected);
  return { queue: chat?.conv.queue, customerName: chat?.conv.customer_name, agentName: myName() };
});

$('add-note').addEventListener('click', async () => {
  const chat = state.chats.get(state.selected);
  if (!chat) return;
  const id = chat.conv.id;
  await openDialog('Add an internal note', (close) => {
    const text = h('textarea', { required: true, rows: 3, maxLength: 4096 });
    const error = h('p', { class: 'error-text', role: 'alert' });
    return h(
      'form',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            const entry = await api.post(`/api/v1/conversations/${api.seg(id)}/notes`, { text: text.value.trim() });
            const c = state.chats.get(id);
            if (c && addEntry(c, entry)) {
              c.scrollToEnd = true;
              if (state.selected === id) renderTranscript();
            }
            close('saved');
          } catch (err) {
            error.textContent = err.message;
          }
        },
      },
      field('Note', text, 'For agents and admins only: the customer never sees it.'),
      error,
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => close('cancel') }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Add note')),
    );
  });
});

$('quick-menu').addEventListener('click', () =>
  openDialog('Send a menu', (close) => {
    const title = h('input', { required: true, value: 'How can I help?' });
    const items = h('textarea', { required: true, rows: 4, value: '' });
    const error = h('p', { class: 'error-text', role: 'alert' });
    return h(
      'form',
      {
        class: 'items-editor',
        onsubmit: async (e) => {
          e.preventDefault();
          const list = items.value.split('\n').map((s) => s.trim()).filter(Boolean);
          if (!list.length) {
            error.textContent = 'Write at least one option.';
            return;
          }
          if (await send({ type: 'menu', title: title.value.trim(), items: list.map((t) => ({ text: t, payload: t })) })) close('sent');
        },
      },
      field('Title', title),
      field('Options', items, 'One option a line; the customer taps one to answer.'),
      error,
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => close('cancel') }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Send menu')),
    );
  }),
);

$('quick-link').addEventListener('click', () =>
  openDialog('Send a link button', (close) => {
    const title = h('input', { required: true });
    const label = h('input', { required: true, value: 'Open' });
    const url = h('input', { type: 'url', required: true, placeholder: 'https://' });
    return h(
      'form',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          if (await send({ type: 'link_button', title: title.value.trim(), label: label.value.trim(), url: url.value.trim() })) close('sent');
        },
      },
      field('Title', title, 'The sentence above the button.'),
      field('Button label', label),
      field('URL', url),
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => close('cancel') }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Send link')),
    );
  }),
);

$('transfer').addEventListener('click', async () => {
  const chat = state.chats.get(state.selected);
  if (!chat) return;
  const id = chat.conv.id;
  let queues = state.queues;
  const all = await guarded(() => api.get('/api/v1/queues'), 'Queues');
  if (all) queues = all.queues;
  const result = await openDialog(`Transfer ${customerLabel(chat.conv)}`, (close) => {
    const queue = h(
      'select',
      {},
      queues.map((q) => h('option', { value: q.name, selected: q.name === chat.conv.queue }, `${q.display_name || q.name} (${q.waiting ?? 0} waiting)`)),
    );
    const agent = h('select', {}, h('option', { value: '' }, 'Nobody in particular: the queue'));
    const note = h('textarea', { rows: 2 });
    const error = h('p', { class: 'error-text', role: 'alert' });
    // The agents of the chosen queue with their status: whom the chat can go to now.
    const listAgents = async () => {
      const wanted = queue.value;
      const r = await api.get(`/api/v1/agents?queue=${encodeURIComponent(wanted)}`).catch((err) => {
        error.textContent = err.message;
        return null;
      });
      if (!r || queue.value !== wanted) return;
      const others = r.agents.filter((a) => a.username !== state.user.username && a.enabled !== false);
      replace(
        agent,
        h('option', { value: '' }, 'Nobody in particular: the queue'),
        others.map((a) => {
          const full = a.chats + a.offers >= a.max_chats;
          const status = a.status === 'offline' ? 'signed out' : a.status;
          return h(
            'option',
            { value: a.username, disabled: a.status === 'offline' || full },
            `${a.display_name} (${status}, ${a.chats} of ${a.max_chats} chats${full ? ', full' : ''})`,
          );
        }),
      );
    };
    queue.addEventListener('change', listAgents);
    listAgents();
    return h(
      'form',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          const body = agent.value ? { agent: agent.value } : { queue: queue.value };
          if (note.value.trim()) body.note = note.value.trim();
          try {
            await api.post(`/api/v1/conversations/${api.seg(id)}/transfer`, body);
            close('done');
          } catch (err) {
            error.textContent = err.message;
          }
        },
      },
      field('Queue', queue),
      field('Agent', agent, 'Someone of the queue who is signed in and has room, or the queue (the next available agent).'),
      field('Note', note, 'For the next agent: what the customer needs.'),
      error,
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => close('cancel') }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Transfer')),
    );
  });
  if (result === 'done') dropChat(id);
});

$('release').addEventListener('click', async () => {
  const chat = state.chats.get(state.selected);
  if (!chat) return;
  const ok = await confirmDialog('Release to bot?', `${customerLabel(chat.conv)} goes back to the bot, which answers from now on.`, 'Release to bot');
  if (!ok) return;
  const done = await guarded(async () => {
    await api.post(`/api/v1/conversations/${api.seg(chat.conv.id)}/release`);
    return true;
  }, 'Release');
  if (done) dropChat(chat.conv.id);
});

$('end').addEventListener('click', async () => {
  const chat = state.chats.get(state.selected);
  if (!chat) return;
  const done = (await wrapUpDialog(chat.conv, { ending: true, customer: customerLabel(chat.conv) })) === 'done';
  if (done) {
    // The wrap-up is in the transcript now (an entry for agents, not sent as an event).
    chat.transcript = null;
    await loadTranscript(chat);
    chat.ended = 'agent';
    renderChats();
    renderChat();
    historyPanel.refresh();
  }
});

function dropChat(id) {
  state.chats.delete(id);
  if (state.user) clearDraft(state.user.username, id);
  if (state.selected === id) state.selected = null;
  renderChats();
  renderChat();
}

function closedChats() {
  try {
    return new Set(JSON.parse(sessionStorage.getItem(CLOSED_KEY) || '[]'));
  } catch {
    return new Set();
  }
}

function closeChat(id) {
  const closed = [...closedChats(), id].slice(-200);
  sessionStorage.setItem(CLOSED_KEY, JSON.stringify(closed));
  dropChat(id);
  const next = state.chats.keys().next();
  if (!next.done) select(next.value);
}

async function setStatus(want, reason = '') {
  state.statusSeq = (state.statusSeq || 0) + 1;
  // Shown at once (a redraw meanwhile keeps the agent's choice); put back if the server refuses.
  const before = [state.status, state.awayReason];
  state.status = want;
  state.awayReason = want === 'away' ? reason : '';
  const body = want === 'away' && reason ? { status: want, reason } : { status: want };
  const r = await guarded(() => api.put('/api/v1/agents/me/status', body), 'Status');
  if (r !== undefined) {
    state.status = statusOf(r);
    state.awayReason = r.away_reason || '';
    state.readyAt = r.ready_at;
  } else {
    [state.status, state.awayReason] = before;
  }
  if (state.status === 'available') hideNotice();
  renderPresence();
  renderChats();
}

// A chat the customer ended: its wrap-up, within 10 minutes.
async function wrapUpLater(chat) {
  if ((await wrapUpDialog(chat.conv, { ending: false, customer: customerLabel(chat.conv) })) !== 'done') return;
  chat.transcript = null;
  await loadTranscript(chat);
  if (state.selected === chat.conv.id) renderChat();
  historyPanel.refresh();
}

for (const radio of el.presence.querySelectorAll('input')) {
  radio.addEventListener('change', async () => {
    if (!radio.checked) return;
    await setStatus(radio.value, radio.value === 'away' ? el.awayReason.value : '');
  });
}
// Picking a reason sets the agent away with it (or changes the reason while away).
el.awayReason.addEventListener('change', async () => {
  if (el.awayReason.value || state.status === 'away') await setStatus('away', el.awayReason.value);
});

// ---- sign-in ----

function showSignIn(message) {
  stream.stop();
  state.user = null;
  historyPanel.clear();
  el.console.hidden = true;
  el.presence.hidden = true;
  el.signout.hidden = true;
  el.who.textContent = '';
  el.signin.hidden = false;
  const signin = signInForm({
    title: 'Sign in to the agent console',
    message,
    accept: (user) => {
      signedIn(user);
    },
  });
  replace(el.signin, signin.form);
  signin.focus();
  markReady();
}

function signedIn(user) {
  state.user = user;
  state.chats.clear();
  state.offers.clear();
  state.selected = null;
  el.signin.hidden = true;
  el.signin.replaceChildren();
  el.console.hidden = false;
  el.presence.hidden = false;
  el.signout.hidden = false;
  el.who.textContent = user.display_name || user.username;
  renderAll();
  markReady();
  stream.lastSeq = null;
  stream.everOpened = false;
  stream.start(); // its first open reads the state again, so nothing between the two is missed
  resync();
}

el.signout.addEventListener('click', async () => {
  stream.stop();
  await guarded(() => api.logout(), 'Sign out');
  showSignIn('You are signed out.');
});

api.onUnauthorized(() => {
  if (state.user) showSignIn('Your session has ended. Sign in again.');
});

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && state.selected) {
    const chat = state.chats.get(state.selected);
    if (chat?.unread) {
      chat.unread = 0;
      renderChats();
    }
  }
});

// The moment the first screen is usable, for load measurements (docs/performance.md).
function markReady() {
  if (!performance.getEntriesByName('parley:ready').length) performance.mark('parley:ready');
}

async function start() {
  try {
    const user = await api.currentUser();
    if (user) signedIn(user);
    else showSignIn();
  } catch (e) {
    showSignIn(e.message);
  }
}

start();
