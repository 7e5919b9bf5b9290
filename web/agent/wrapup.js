// Ending a chat with a wrap-up (a code of the queue and a note), wrapping up a chat the customer
// ended (within 10 minutes), and after-chat work: no new offers until it is over or the agent
// says Ready. All through POST /api/v1/conversations/{id}/end and PUT /api/v1/agents/me/status.
import * as api from '/lib/api.js';
import { h, field, openDialog } from '/lib/dom.js';

export const WRAP_UP_WINDOW_MS = 10 * 60 * 1000;

// The queue's wrap-up settings; none when the queue cannot be read (then no code is offered).
async function queueOf(name) {
  if (!name) return null;
  return api.get(`/api/v1/queues/${api.seg(name)}`).catch(() => null);
}

// The dialog of an end (ending: true) or of a wrap-up afterwards. Resolves 'done' or 'cancel'.
export async function wrapUpDialog(conv, { ending, customer }) {
  const queue = await queueOf(conv.queue);
  const codes = queue?.wrap_up_codes || [];
  const required = Boolean(queue?.wrap_up_required);
  return openDialog(ending ? 'End chat?' : 'Wrap up', (close) => {
    const code = codes.length
      ? h(
          'select',
          {},
          required ? h('option', { value: '' }, 'Choose a code') : h('option', { value: '' }, 'No code'),
          codes.map((c) => h('option', { value: c }, c)),
        )
      : null;
    const note = h('textarea', { rows: 2, maxLength: 2000 });
    const error = h('p', { class: 'error-text', role: 'alert' });
    const submit = h('button', { type: 'submit', class: ending ? 'danger' : 'primary' }, ending ? 'End chat' : 'Save wrap-up');
    return h(
      'form',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          const body = {};
          if (code?.value) body.wrap_up = code.value;
          if (note.value.trim()) body.note = note.value.trim();
          if (!ending && !body.wrap_up && !body.note) {
            error.textContent = 'Choose a code or write a note.';
            return;
          }
          submit.disabled = true;
          try {
            await api.post(`/api/v1/conversations/${api.seg(conv.id)}/end`, body);
            close('done');
          } catch (err) {
            error.textContent = err.message;
            submit.disabled = false;
          }
        },
      },
      ending ? h('p', {}, `The chat with ${customer} ends and the customer is told so.`) : h('p', {}, `What came of the chat with ${customer}.`),
      code ? field('Wrap-up code', code, required ? 'This queue needs one.' : 'Optional.') : null,
      field('Wrap-up note', note, 'For agents and admins: it stays with the transcript.'),
      error,
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => close('cancel') }, 'Cancel'), submit),
    );
  });
}

// Whether the agent can still wrap up `chat` (ended by the customer or a timeout, within the
// window, no wrap-up in its transcript yet).
export function canWrapUpLater(chat, now = Date.now()) {
  if (!chat.ended || chat.ended === 'agent' || !chat.conv.ended_at) return false;
  if (now - Date.parse(chat.conv.ended_at) > WRAP_UP_WINDOW_MS) return false;
  return !(chat.transcript || []).some((e) => e.type === 'wrap_up');
}

// The text of a wrap-up entry in the transcript.
export function wrapUpText(p) {
  return `Wrap-up: ${[p.code, p.note].filter(Boolean).join(' — ') || 'none'}`;
}

// "After-chat work: new chats from hh:mm:ss" with a Ready button (PUT status available).
export function afterChatNotice(readyAt, onReady) {
  const until = readyAt ? new Date(readyAt).toLocaleTimeString() : 'soon';
  return [
    h('span', {}, `After-chat work: no new chats until ${until}, or until you are ready.`),
    ' ',
    h('button', { type: 'button', class: 'primary', onclick: onReady }, 'Ready'),
  ];
}
