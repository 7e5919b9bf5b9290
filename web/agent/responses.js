// Canned responses in the composer: "/" at the start of the message box, then a shortcut,
// opens a picker of the matching responses (the agent's own first, then the shared ones of
// the chat's queue). Arrow keys move, Enter or Tab puts the text in the message box with
// {customer_name} and {agent_name} filled in, Escape closes. Nothing is sent by the picker:
// the agent reads, edits and sends.
import * as api from '/lib/api.js';
import { h, replace, uniqueId } from '/lib/dom.js';

const MAX_SHOWN = 8;

// {customer_name} and {agent_name} in `text`, filled; other braces stay as they are.
export function fillResponse(text, { customerName, agentName }) {
  return text.replace(/\{(customer_name|agent_name)\}/g, (_, key) =>
    key === 'customer_name' ? customerName || 'there' : agentName || '',
  );
}

// textarea: the message box; context(): {queue, customerName, agentName} of the selected chat.
export function attachResponsePicker(textarea, context) {
  let responses = null; // from GET /api/v1/responses, read when the picker first opens
  let loading = null;
  let matches = [];
  let active = 0;
  const list = h('ul', { class: 'response-picker', role: 'listbox', 'aria-label': 'Canned responses', id: uniqueId('responses') });
  list.hidden = true;
  textarea.after(list);
  textarea.setAttribute('aria-controls', list.id);
  textarea.setAttribute('aria-autocomplete', 'list');

  async function load() {
    if (!loading) {
      loading = api
        .get('/api/v1/responses')
        .then((r) => (responses = r.responses))
        .catch(() => (responses = []))
        .finally(() => (loading = null));
    }
    return loading;
  }

  // The shortcut being typed: "/card" -> "card"; null when the box does not start with "/".
  function typedShortcut() {
    const m = /^\/([a-z0-9_-]*)$/.exec(textarea.value);
    return m ? m[1] : null;
  }

  function candidates(prefix) {
    const { queue } = context();
    const usable = (responses || []).filter((r) => !r.shared || !r.queues.length || r.queues.includes(queue));
    return usable
      .filter((r) => r.shortcut.startsWith(prefix))
      .sort((a, b) => Number(a.shared) - Number(b.shared) || a.shortcut.localeCompare(b.shortcut))
      .slice(0, MAX_SHOWN);
  }

  function close() {
    list.hidden = true;
    matches = [];
    textarea.removeAttribute('aria-activedescendant');
    textarea.setAttribute('aria-expanded', 'false');
  }

  function draw() {
    if (!matches.length) {
      replace(list, h('li', { class: 'muted', role: 'option', 'aria-disabled': 'true' }, 'No canned response starts with this.'));
      textarea.removeAttribute('aria-activedescendant');
    } else {
      replace(
        list,
        matches.map((r, i) =>
          h(
            'li',
            {
              id: `${list.id}-${i}`,
              role: 'option',
              'aria-selected': i === active ? 'true' : 'false',
              class: i === active ? 'active' : null,
              onmousedown: (e) => {
                e.preventDefault(); // keep the focus in the message box
                choose(i);
              },
            },
            h('span', { class: 'shortcut' }, `/${r.shortcut}`),
            ' ',
            h('span', { class: 'title' }, r.title),
            r.shared ? null : h('span', { class: 'badge' }, 'Mine'),
            h('span', { class: 'preview muted' }, r.text),
          ),
        ),
      );
      textarea.setAttribute('aria-activedescendant', `${list.id}-${active}`);
    }
    list.hidden = false;
    textarea.setAttribute('aria-expanded', 'true');
  }

  async function update() {
    const prefix = typedShortcut();
    if (prefix === null) return close();
    if (!responses) await load();
    if (typedShortcut() !== prefix) return undefined; // typed on meanwhile: a later update draws
    matches = candidates(prefix);
    active = 0;
    return draw();
  }

  function choose(i) {
    const r = matches[i];
    if (!r) return;
    const { customerName, agentName } = context();
    const text = fillResponse(r.text, { customerName, agentName });
    textarea.value = text;
    close();
    textarea.focus();
    textarea.setSelectionRange(text.length, text.length);
    textarea.dispatchEvent(new Event('input', { bubbles: true }));
  }

  textarea.addEventListener('input', () => {
    update();
  });
  textarea.addEventListener('focus', () => {
    responses = null; // read again: an admin may have added one
  });
  textarea.addEventListener('blur', () => setTimeout(close, 150));
  // Capture: runs before the composer's own Enter-sends handler on the same box.
  textarea.addEventListener(
    'keydown',
    (e) => {
      if (list.hidden) return;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        if (!matches.length) return;
        active = (active + (e.key === 'ArrowDown' ? 1 : matches.length - 1)) % matches.length;
        draw();
      } else if ((e.key === 'Enter' || e.key === 'Tab') && !e.shiftKey && matches.length) {
        choose(active);
      } else if (e.key === 'Escape') {
        close();
      } else {
        return;
      }
      e.preventDefault();
      e.stopImmediatePropagation();
    },
    { capture: true },
  );
  return { close };
}
