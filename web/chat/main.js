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
const seen = new Set(); // event_ids shown already

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

function message(event) {
  const li = el('li', `msg from-${event.from === 'csr' ? 'csr' : event.from === 'system' ? 'system' : 'bot'}`);
  li.appendChild(el('span', 'sender', senderName(event)));
  return li;
}

function renderText(event) {
  const li = message(event);
  const lines = Array.isArray(event.text) ? event.text : [String(event.text ?? '')];
  for (const line of lines) li.appendChild(el('p', 'line', line));
  for (const a of event.attachments || []) {
    const link = linkButton(a.file_name || a.url, a.url);
    link.classList.add('attachment');
    li.appendChild(link);
  }
  return li;
}

function renderMenu(event) {
  const li = message(event);
  if (event.title) li.appendChild(el('p', 'line', event.title));
  const group = el('div', 'choices');
  group.setAttribute('role', 'group');
  if (event.title) group.setAttribute('aria-label', event.title);
  for (const item of event.items || []) group.appendChild(choiceButton(item.text, item.payload));
  li.appendChild(group);
  return li;
}

function renderCarousel(event) {
  const li = message(event);
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

function renderLinkButton(event) {
  const li = message(event);
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
  if (event) place(li, event);
  else log.appendChild(li);
  epoch += 1;
  setEnded(true);
  ended.querySelector('button').focus();
}

let endedByCustomer = false; // "End chat" was used and Parley's own close may follow

function render(event) {
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
    case 'wait_time':
      showWait(event);
      return;
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
      place(renderText(event), event);
      return;
    case 'menu':
      showTyping(false);
      place(renderMenu(event), event);
      return;
    case 'carousel':
      showTyping(false);
      place(renderCarousel(event), event);
      return;
    case 'link_button':
      showTyping(false);
      place(renderLinkButton(event), event);
      return;
    default:
      // Unknown types are skipped: PROTOCOL.md lets servers add them.
  }
}

// ---- The customer's actions ----

async function send({ text, postback }) {
  if (!input.disabled && text) {
    const li = el('li', 'msg from-me');
    li.appendChild(el('span', 'sender', 'You'));
    li.appendChild(el('p', 'line', text));
    log.appendChild(li);
    li.scrollIntoView({ block: 'end' });
    showError('');
    try {
      const body = { text };
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

endButton.addEventListener('click', async () => {
  try {
    await post('/api/end', {});
    endConversation(null);
    endedByCustomer = true;
  } catch (e) {
    showError(e.message);
  }
});

$('restart').addEventListener('click', () => {
  setEnded(false);
  showError('');
  log.appendChild(el('li', 'separator', 'New chat'));
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
    if (frame.event && typeof frame.event === 'object') render(frame.event);
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
