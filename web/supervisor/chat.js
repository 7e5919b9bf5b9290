// The chat a supervisor opened from the wallboard: its transcript (read-only), and what they can
// do with it — Monitor (its events come live), Whisper… (an internal note only the agent sees),
// Join (their messages go to the customer; the agent stays), Transfer… (take it over, or give it
// to an agent or a queue). Every action is written to the transcript by the server.
import * as api from '/lib/api.js';
import { h, replace, field, openDialog, formatTime } from '/lib/dom.js';

const FROM = { customer: 'Customer', bot: 'Bot', system: 'System' };

function entryText(e) {
  const p = e.payload || {};
  if (Array.isArray(p.text)) return p.text.join(' ');
  if (typeof p.text === 'string') return p.text;
  if (e.type === 'wrap_up') return `Wrap-up: ${p.code || ''} ${p.note || ''}`.trim();
  if (e.type === 'menu' || e.type === 'carousel') return `(${e.type}) ${p.title || ''}`;
  if (e.type === 'link_button') return `${p.label || ''}: ${p.url || ''}`;
  if (e.type === 'wait_time') return `(wait time ${p.waitTime ?? ''} s, position ${p.queue_position ?? ''})`;
  return `(${e.type})`;
}

function entryView(e) {
  const who = e.from === 'csr' ? e.csr_name || 'Agent' : FROM[e.from] || e.from;
  const kind = e.direction === 'note' ? (e.type === 'whisper' ? 'Whisper' : 'Internal note') : '';
  return h(
    'li',
    { class: e.direction === 'note' ? 'note' : '' },
    h('span', { class: 'who' }, kind ? `${who} · ${kind}` : who),
    h('span', {}, entryText(e)),
    ' ',
    h('span', { class: 'muted' }, formatTime(e.created_at)),
  );
}

// `el`: the panel; `ctx`: {user, floor() → the overview, onChange()}.
export function createChatPanel(el, ctx) {
  let chat = null; // {conv, agent, transcript: [], positions: Set, mode: null|'monitor'|'join'}

  async function load() {
    const full = await api.get(`/api/v1/conversations/${api.seg(chat.conv.id)}`);
    const { transcript, ...conv } = full;
    chat.conv = conv;
    chat.transcript = [];
    chat.positions = new Set();
    for (const e of transcript) add(e);
  }

  function add(e) {
    if (chat.positions.has(e.position)) return;
    chat.positions.add(e.position);
    chat.transcript.push(e);
    chat.transcript.sort((a, b) => a.position - b.position);
  }

  async function act(label, fn) {
    try {
      api.clearError();
      await fn();
    } catch (e) {
      if (e.status !== 401) api.showError(e, label);
    }
    render();
  }

  const toggle = (mode) =>
    act(mode === 'join' ? 'Join' : 'Monitor', async () => {
      const id = api.seg(chat.conv.id);
      if (chat.mode === mode) {
        await api.post(`/api/v1/conversations/${id}/unmonitor`);
        chat.mode = null;
      } else {
        chat.conv = await api.post(`/api/v1/conversations/${id}/${mode}`);
        chat.mode = mode;
      }
      await load();
    });

  async function whisper() {
    const text = h('textarea', { rows: 3, required: true, maxLength: 4096 });
    const error = h('p', { class: 'error-text', role: 'alert' });
    const done = await openDialog('Whisper to the agent', (close) =>
      h(
        'form',
        {
          onsubmit: async (e) => {
            e.preventDefault();
            try {
              await api.post(`/api/v1/conversations/${api.seg(chat.conv.id)}/whisper`, { text: text.value });
              close('sent');
            } catch (err) {
              error.textContent = err.message;
            }
          },
        },
        field('Whisper', text, 'Only the agent sees it; the customer never does.'),
        error,
        h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => close('') }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Send whisper')),
      ),
    );
    if (done === 'sent') await act('Whisper', load);
  }

  async function transfer() {
    const floor = ctx.floor();
    const target = h(
      'select',
      { required: true },
      h('option', { value: `agent:${ctx.user().username}` }, 'Me (take over)'),
      h('optgroup', { label: 'Queues' }, floor.queues.map((q) => h('option', { value: `queue:${q.name}` }, q.display_name || q.name))),
      h(
        'optgroup',
        { label: 'Agents' },
        floor.agents
          .filter((a) => a.username !== ctx.user().username && a.username !== chat.conv.agent)
          .map((a) => h('option', { value: `agent:${a.username}`, disabled: a.floor_status === 'offline' }, `${a.display_name} (${a.floor_status})`)),
      ),
    );
    const note = h('input', { maxLength: 2000 });
    const error = h('p', { class: 'error-text', role: 'alert' });
    const done = await openDialog('Transfer the chat', (close) =>
      h(
        'form',
        {
          onsubmit: async (e) => {
            e.preventDefault();
            const [kind, name] = [target.value.slice(0, target.value.indexOf(':')), target.value.slice(target.value.indexOf(':') + 1)];
            const body = { [kind]: name };
            if (note.value) body.note = note.value;
            try {
              chat.conv = await api.post(`/api/v1/conversations/${api.seg(chat.conv.id)}/transfer`, body);
              close('moved');
            } catch (err) {
              error.textContent = err.message;
            }
          },
        },
        field('To', target),
        field('Note', note, 'For the next agent; it stays in the transcript.'),
        error,
        h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => close('') }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Transfer')),
      ),
    );
    if (done === 'moved') {
      await act('Transfer', load);
      ctx.onChange();
    }
  }

  async function send(text) {
    await act('Message not sent', async () => {
      await api.post(`/api/v1/conversations/${api.seg(chat.conv.id)}/messages`, { type: 'text', text: [text] });
    });
  }

  function render() {
    if (!chat) {
      el.hidden = true;
      el.replaceChildren();
      return;
    }
    el.hidden = false;
    const c = chat.conv;
    const ended = c.state === 'ended';
    const message = h('textarea', { rows: 2 });
    const composer =
      chat.mode === 'join' && !ended
        ? h(
            'form',
            {
              onsubmit: async (e) => {
                e.preventDefault();
                if (!message.value.trim()) return;
                const text = message.value;
                message.value = '';
                await send(text);
              },
            },
            field('Message to the customer', message),
            h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Send')),
          )
        : null;
    replace(
      el,
      h(
        'div',
        { class: 'row' },
        h('h2', { id: 'chat-title' }, `Chat with ${c.customer_name || c.customer_id}`),
        h('span', { class: 'spacer' }),
        h('button', { type: 'button', onclick: close }, 'Close chat'),
      ),
      h('p', { class: 'muted' }, `${c.state}${c.agent ? `, agent ${c.agent}` : ''}${c.queue ? `, queue ${c.queue}` : ''}`),
      h(
        'p',
        { class: 'watching', role: 'status' },
        chat.mode === 'monitor' ? 'You are monitoring this chat: its messages come here live.' : chat.mode === 'join' ? 'You have joined this chat: the customer reads what you send.' : '',
      ),
      ended
        ? null
        : h(
            'div',
            { class: 'row' },
            h('button', { type: 'button', 'aria-pressed': String(chat.mode === 'monitor'), onclick: () => toggle('monitor') }, chat.mode === 'monitor' ? 'Stop monitoring' : 'Monitor'),
            h('button', { type: 'button', onclick: whisper, disabled: c.state !== 'active' }, 'Whisper…'),
            h('button', { type: 'button', 'aria-pressed': String(chat.mode === 'join'), onclick: () => toggle('join'), disabled: c.state !== 'active' }, chat.mode === 'join' ? 'Leave chat' : 'Join chat'),
            h('button', { type: 'button', onclick: transfer }, 'Transfer…'),
          ),
      h('ol', { class: 'transcript', 'aria-label': 'Transcript' }, chat.transcript.map(entryView)),
      composer,
    );
  }

  async function close() {
    if (chat?.mode && chat.conv.state !== 'ended') {
      const id = api.seg(chat.conv.id);
      try {
        await api.post(`/api/v1/conversations/${id}/unmonitor`);
      } catch {
        // already ended or left: nothing to stop
      }
    }
    chat = null;
    render();
  }

  return {
    async open(conversation) {
      if (chat && chat.conv.id === conversation.id) return;
      if (chat) await close();
      chat = { conv: conversation, transcript: [], positions: new Set(), mode: null };
      await act('Chat', load);
      el.scrollIntoView({ block: 'nearest' });
    },
    // A live event of a monitored chat.
    event(frame) {
      if (!chat || frame.conversation?.id !== chat.conv.id) return;
      chat.conv = { ...chat.conv, ...frame.conversation };
      if (frame.entry) add(frame.entry);
      render();
    },
    close,
  };
}
