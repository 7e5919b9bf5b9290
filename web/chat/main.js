// The customer's side of the demo web chat (docs/webchat.md). The page talks only to its own
// server: POST /api/send|typing|end, and the WebSocket /api/events for what Parley sends.
// Everything shown is set with textContent; nothing from the network is parsed as HTML.

const ID_KEY = 'parley-webchat-customer-id';
const NAME_KEY = 'parley-webchat-customer-name';
const TYPING_HIDE_MS = 5000;
const TYPING_SEND_EVERY_MS = 3000;

const $ = (id) => document.getElementById(id);
const log = $('log');
const form = $('composer');
const input = $('message');
const nameInput = $('name');
const sendButton = $('send');
const endButton = $('end');
const typing = $('typing');
const wait = $('wait');
const errorBox = $('error');
const ended = $('ended');
const statusLine = $('status');

function newCustomerId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

let customerId = sessionStorage.getItem(ID_KEY);
if (!customerId) {
  customerId = newCustomerId();
  sessionStorage.setItem(ID_KEY, customerId);
}
nameInput.value = sessionStorage.getItem(NAME_KEY) || '';
nameInput.addEventListener('change', () => sessionStorage.setItem(NAME_KEY, nameInput.value.trim()));

// ---- Talking to the webchat server ----

async function post(path, body) {
  let res;
  try {
    res = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ customer_id: customerId, ...body }),
    });
  } catch {
    throw new Error('The chat server cannot be reached; check your connection and try again.');
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw new Error(data?.error?.message || `The message was not sent (HTTP ${res.status}).`);
  }
  return data;
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

// ---- Rendering ----

let epoch = 0; // a new conversation starts after each end
const seen = new Set(); // event_ids shown already, and "customer:<message_id>" of our own
// The wait notice stands for the latest wait_time until a later message from Parley (an agent
// joined, a transfer, a release, the end) says the waiting is over.
let waitSeq = -1;
let lastMessageSeq = -1;

function safeUrl(url) {
  try {
    const u = new URL(url, location.href);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch {
    return null;
  }
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function senderName(event) {
  if (event.from === 'csr') return event.csr_name || 'Agent';
  if (event.from === 'system') return 'Notice';
  return 'Assistant';
}

// Places an item from Parley in seq order within the current conversation.
function place(item, event) {
  item.dataset.epoch = String(epoch);
  if (Number.isInteger(event.seq)) {
    item.dataset.seq = String(event.seq);
    const later = Array.from(log.querySelectorAll(`li[data-epoch="${epoch}"][data-seq]`)).find(
      (li) => Number(li.dataset.seq) > event.seq,
    );
    if (later) {
      log.insertBefore(item, later);
      return;
    }
  }
  log.appendChild(item);
  item.scrollIntoView({ block: 'end' });
}

function choiceButton(text, payload) {
  const b = el('button', 'choice', text);
  b.type = 'button';
  b.addEventListener('click', () => send({ text, postback: payload }));
  return b;
}

function linkButton(label, url) {
  const href = safeUrl(url);
  if (!href) return el('span', 'link-button disabled', label);
  const a = el('a', 'link-button', label);
  a.href = href;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  return a;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

function stamp(ms) {
  const when = new Date(Number.isFinite(ms) ? ms : Date.now());
  const t = el('time', 'when', timeFormat.format(when));
  t.dateTime = when.toISOString();
  return t;
}

// "Sam 12:08": who, and when the message came.
function head(name, at) {
  const line = el('span', 'msg-head');
  line.appendChild(el('span', 'sender', name));
  line.appendChild(stamp(at));
  return line;
}

function message(event, at) {
  const li = el('li', `msg from-${event.from === 'csr' ? 'csr' : event.from === 'system' ? 'system' : 'bot'}`);
  li.appendChild(head(senderName(event), at));
  return li;
}

function renderText(event, at) {
  const li = message(event, at);
  const lines = Array.isArray(event.text) ? event.text : [String(event.text ?? '')];
  for (const line of lines) li.appendChild(el('p', 'line', line));
  for (const a of event.attachments || []) {
    const link = linkButton(a.file_name || a.url, a.url);
    link.classList.add('attachment');
    li.appendChild(link);
  }
  return li;
}

function renderMenu(event, at) {
  const li = message(event, at);
  if (event.title) li.appendChild(el('p', 'line', event.title));
  const group = el('div', 'choices');
  group.setAttribute('role', 'group');
  if (event.title) group.setAttribute('aria-label', event.title);
  for (const item of event.items || []) group.appendChild(choiceButton(item.text, item.payload));
  li.appendChild(group);
  return li;
}

function renderCarousel(event, at) {
  const li = message(event, at);
  if (event.title) li.appendChild(el('p', 'line', event.title));
  const cards = el('div', 'cards');
  for (const item of event.items || []) {
    const card = el('section', 'card');
    const img = item.image_url && safeUrl(item.image_url);
    if (img) {
      const image = el('img', 'card-image');
      image.src = img;
      image.alt = '';
      image.addEventListener('error', () => image.remove());
      card.appendChild(image);
    }
    card.appendChild(el('h2', 'card-title', item.title || ''));
    if (item.subtitle) card.appendChild(el('p', 'card-subtitle', item.subtitle));
    const buttons = el('div', 'choices');
    for (const b of item.buttons || []) {
      buttons.appendChild(b.url ? linkButton(b.text, b.url) : choiceButton(b.text, b.payload));
    }
    card.appendChild(buttons);
    cards.appendChild(card);
  }
  li.appendChild(cards);
  return li;
}

function renderLinkButton(event, at) {
  const li = message(event, at);
  if (event.title) li.appendChild(el('p', 'line', event.title));
  li.appendChild(linkButton(event.label || event.url, event.url));
  return li;
}

let typingTimer = null;
function showTyping(on) {
  clearTimeout(typingTimer);
  typing.hidden = !on;
  if (on) {
    typingTimer = setTimeout(() => (typing.hidden = true), TYPING_HIDE_MS);
    log.scrollTop = log.scrollHeight;
  }
}

function hideWait() {
  wait.hidden = true;
}

function showWait(event) {
  const parts = [];
  if (Number.isFinite(event.waitTime)) {
    const minutes = Math.max(1, Math.round(event.waitTime / 60));
    parts.push(`Estimated wait: about ${minutes} minute${minutes === 1 ? '' : 's'}`);
  }
  if (Number.isInteger(event.queue_position) && event.queue_position > 0) {
    parts.push(`You are number ${event.queue_position} in the queue`);
  }
  wait.textContent = parts.join('. ');
  wait.hidden = parts.length === 0;
  log.scrollTop = log.scrollHeight; // the notice takes room from the log: keep its end in view
}

function setEnded(isEnded) {
  ended.hidden = !isEnded;
  input.disabled = isEnded;
  sendButton.disabled = isEnded;
  endButton.disabled = isEnded;
  if (isEnded) {
    showTyping(false);
    wait.hidden = true;
  }
}

function endConversation(event) {
  const li = el('li', 'msg from-system ended-note', 'The conversation has ended');
  waitSeq = -1;
  lastMessageSeq = -1;
  if (event) place(li, event);
  else log.appendChild(li);
  epoch += 1;
  setEnded(true);
  ended.querySelector('button').focus();
}

let endedByCustomer = false; // "End chat" was used and Parley's own close may follow

// A message from Parley with this seq: the wait is over when it is later than the notice.
function messageSeen(event) {
  const seq = Number.isInteger(event.seq) ? event.seq : lastMessageSeq + 1;
  lastMessageSeq = Math.max(lastMessageSeq, seq);
  if (lastMessageSeq > waitSeq) hideWait();
}

// The customer's own side, as the webchat keeps it: shown after a reload too.
function renderMine(event, at) {
  if (event.type === 'send_failed') {
    const li = log.querySelector(`li.from-me[data-message-id="${CSS.escape(String(event.message_id))}"]`);
    li?.classList.add('failed');
    return;
  }
  if (event.type === 'customer_end_session') {
    if (!input.disabled) {
      endConversation(null);
      endedByCustomer = true;
    }
    return;
  }
  if (event.type !== 'text') return;
  const key = `customer:${event.message_id}`;
  if (seen.has(key)) return;
  seen.add(key);
  if (input.disabled) startNewChat(); // a new conversation began after the last one ended
  const lines = Array.isArray(event.text) ? event.text : [String(event.text ?? '')];
  showMine(lines.join('\n'), event.message_id, at);
}

function showMine(text, messageId, at) {
  const li = el('li', 'msg from-me');
  li.dataset.messageId = messageId;
  li.dataset.epoch = String(epoch);
  li.appendChild(head('You', at));
  li.appendChild(el('p', 'line', text));
  log.appendChild(li);
  li.scrollIntoView({ block: 'end' });
  return li;
}

function render(event, at) {
  if (event.from === 'customer') {
    renderMine(event, at);
    return;
  }
  if (event.event_id !== undefined) {
    const id = String(event.event_id);
    if (seen.has(id)) return;
    seen.add(id);
  }
  if (event.type !== 'csr_end_session' && event.type !== 'typing_indicator') endedByCustomer = false;
  switch (event.type) {
    case 'typing_indicator':
      showTyping(true);
      return;
    case 'wait_time': {
      const seq = Number.isInteger(event.seq) ? event.seq : lastMessageSeq + 1;
      if (seq < lastMessageSeq) return; // older than a message that ended the wait
      waitSeq = seq;
      showWait(event);
      return;
    }
    case 'csr_end_session':
      // The close of a conversation the customer ended already: nothing more to show.
      if (endedByCustomer) {
        endedByCustomer = false;
        return;
      }
      endConversation(event);
      return;
    case 'text':
      showTyping(false);
      messageSeen(event);
      place(renderText(event, at), event);
      return;
    case 'menu':
      showTyping(false);
      messageSeen(event);
      place(renderMenu(event, at), event);
      return;
    case 'carousel':
      showTyping(false);
      messageSeen(event);
      place(renderCarousel(event, at), event);
      return;
    case 'link_button':
      showTyping(false);
      messageSeen(event);
      place(renderLinkButton(event, at), event);
      return;
    default:
      // Unknown types are skipped: PROTOCOL.md lets servers add them.
  }
}

// ---- The customer's actions ----

async function send({ text, postback }) {
  if (!input.disabled && text) {
    const messageId = newCustomerId();
    seen.add(`customer:${messageId}`); // the webchat echoes it to our other pages, not to this one
    const li = showMine(text, messageId, Date.now());
    showError('');
    try {
      const body = { text, message_id: messageId };
      if (postback) body.postback = postback;
      const name = nameInput.value.trim();
      if (name) body.customer_name = name;
      await post('/api/send', body);
    } catch (e) {
      li.classList.add('failed');
      showError(e.message);
    }
  }
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  input.value = '';
  send({ text });
});

let lastTyping = 0;
input.addEventListener('input', () => {
  const now = Date.now();
  if (now - lastTyping < TYPING_SEND_EVERY_MS || !input.value) return;
  lastTyping = now;
  post('/api/typing', {}).catch(() => {});
});

// "End chat" asks first: it sits in the header, away from Send, and ends for good.
const confirmEnd = $('confirm-end');
endButton.addEventListener('click', () => confirmEnd.showModal());
confirmEnd.addEventListener('close', async () => {
  if (confirmEnd.returnValue !== 'end') {
    endButton.focus();
    return;
  }
  confirmEnd.returnValue = '';
  try {
    await post('/api/end', {});
    if (!input.disabled) {
      endConversation(null);
      endedByCustomer = true;
    }
  } catch (e) {
    showError(e.message);
  }
});

function startNewChat() {
  setEnded(false);
  showError('');
  log.appendChild(el('li', 'separator', 'New chat'));
}

$('restart').addEventListener('click', () => {
  startNewChat();
  input.focus();
});

// ---- Events from Parley, over the WebSocket ----

let after = 0; // the last frame number received; a reconnect asks for what came later
let retryMs = 500;

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const url = `${scheme}://${location.host}/api/events?customer_id=${encodeURIComponent(customerId)}&after=${after}`;
  const ws = new WebSocket(url);
  ws.addEventListener('open', () => {
    retryMs = 500;
    statusLine.textContent = 'Connected';
    document.body.dataset.connected = 'true';
  });
  ws.addEventListener('message', (e) => {
    let frame;
    try {
      frame = JSON.parse(e.data);
    } catch {
      return;
    }
    if (!Number.isInteger(frame.n) || frame.n <= after) return;
    after = frame.n;
    if (frame.event && typeof frame.event === 'object') render(frame.event, frame.at);
  });
  ws.addEventListener('close', () => {
    statusLine.textContent = 'Reconnecting…';
    document.body.dataset.connected = 'false';
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10000);
  });
}

connect();
input.focus();
