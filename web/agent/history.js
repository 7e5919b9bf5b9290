// The agent's own history: their ended chats of the last 30 days, newest first, each with the
// customer, when it ended and its wrap-up code, and each opening its transcript read-only. From
// GET /api/v1/agents/me/conversations (paged: "More" reads the next page), read when the agent
// opens the History (not at every sign-in: most console loads never look at it), and again while
// it is open when one of the agent's chats ends, and on "Refresh".
import * as api from '/lib/api.js';
import { h, replace, openDialog, formatDateTime } from '/lib/dom.js';
import { entryView } from '/agent/context.js';

const PAGE = 20;
const MAX_SHOWN = 500; // "More" stops here: the list in the page stays bounded

export function createHistoryPanel(el, { customerLabel }) {
  let shown = false;
  let items = [];
  let next = null;
  let loading = 0;
  let failed = false;

  async function read(after) {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (after) q.set('after', after);
    return api.get(`/api/v1/agents/me/conversations?${q}`);
  }

  // From the first page again (what a chat ending or a late wrap-up changed).
  async function refresh() {
    if (!shown) return;
    const mine = ++loading;
    try {
      const page = await read(null);
      if (mine !== loading) return;
      items = page.conversations;
      next = page.next;
      failed = false;
    } catch (e) {
      if (mine !== loading) return;
      failed = true;
      if (e.status !== 401) api.showError(e, 'History');
    }
    render();
  }

  async function more() {
    const mine = ++loading;
    try {
      const page = await read(next);
      if (mine !== loading) return;
      const seen = new Set(items.map((c) => c.id));
      items = [...items, ...page.conversations.filter((c) => !seen.has(c.id))].slice(0, MAX_SHOWN);
      next = items.length >= MAX_SHOWN ? null : page.next;
    } catch (e) {
      if (mine === loading) api.showError(e, 'History');
    }
    render();
  }

  async function open(conv) {
    const full = await api.get(`/api/v1/conversations/${api.seg(conv.id)}`).catch((e) => {
      api.showError(e, 'Past chat');
      return null;
    });
    if (!full) return;
    await openDialog(`Chat with ${customerLabel(full)}, ended ${formatDateTime(full.ended_at)}`, (close) =>
      h(
        'div',
        {},
        full.csat ? h('p', { class: 'csat' }, `Customer rating: ${full.csat} of 5${full.csat_comment ? ` — “${full.csat_comment}”` : ''}`) : null,
        h('ol', { class: 'transcript previous', 'aria-label': 'Past transcript' }, full.transcript.filter((e) => e.type !== 'typing_indicator').map((e) => entryView(full, e, customerLabel))),
        h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => close('done') }, 'Close')),
      ),
    );
  }

  function row(conv) {
    const label = `Past chat: ${customerLabel(conv)} (ended ${formatDateTime(conv.ended_at)}${conv.wrap_up ? `; wrap-up ${conv.wrap_up}` : ''})`;
    return h(
      'li',
      {},
      h(
        'button',
        { type: 'button', 'aria-label': label, onclick: () => open(conv) },
        h('span', { class: 'name' }, customerLabel(conv)),
        conv.wrap_up ? h('span', { class: 'badge' }, conv.wrap_up) : null,
        h('span', { class: ['muted', 'when'] }, formatDateTime(conv.ended_at)),
      ),
    );
  }

  function toggle() {
    shown = !shown;
    if (shown) refresh();
    else {
      loading += 1;
      items = [];
      next = null;
    }
    render();
    // The one button changed its label: it keeps the focus.
    el.querySelector('button[aria-expanded]')?.focus();
  }

  // Re-drawn whole: the button that had the focus (Show, Refresh, a row...) gets it back.
  function render() {
    const focused = el.contains(document.activeElement) ? document.activeElement.textContent : null;
    draw();
    if (focused) [...el.querySelectorAll('button')].find((b) => b.textContent === focused)?.focus();
  }

  function draw() {
    const head = h(
      'div',
      { class: 'row' },
      h('h2', { id: 'history-title' }, 'History'),
      h('span', { class: 'spacer' }),
      shown ? h('button', { type: 'button', onclick: refresh }, 'Refresh') : null,
      h('button', { type: 'button', 'aria-expanded': String(shown), onclick: toggle }, shown ? 'Hide history' : 'Show history'),
    );
    if (!shown) {
      replace(el, head);
      return;
    }
    replace(
      el,
      head,
      h('p', { class: 'muted' }, 'Your chats that ended in the last 30 days.'),
      failed && !items.length
        ? h('p', { class: 'muted' }, 'History could not be read; try Refresh.')
        : items.length
          ? h('ul', { class: ['chat-list', 'history-list'], 'aria-label': 'Past chats' }, items.map(row))
          : h('p', { class: 'muted' }, 'No ended chats yet.'),
      next ? h('button', { type: 'button', onclick: more }, 'More') : null,
    );
  }

  function clear() {
    shown = false;
    loading += 1;
    items = [];
    next = null;
    failed = false;
    render();
  }

  render();
  return { refresh, clear };
}
