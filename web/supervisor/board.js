// The wallboard's two tables, drawn from GET /api/v1/overview (the floor): per queue and per
// agent. A figure is coloured only when it passes its threshold — the service level below the
// queue's service_level_target, the longest wait beyond its service_level_s — and then it also
// says so in words (class "over": a ⚠ sign and "below target" / "over" in the text).
import { h, replace, formatDuration } from '/lib/dom.js';

const percent = (x) => (x === null || x === undefined ? '—' : `${Math.round(x * 100)} %`);
const seconds = (x) => (x === null || x === undefined ? '—' : formatDuration(x));
const STATUS_WORDS = { available: 'Available', busy: 'Busy', away: 'Away', offline: 'Offline' };

function cell(label, content, props = {}) {
  return h('td', { 'data-label': label, ...props }, content);
}

// The seconds since `iso` (at `now`), for the live counters.
export const since = (iso, now) => (iso ? Math.max(0, Math.floor((now - Date.parse(iso)) / 1000)) : null);

function serviceLevel(q) {
  const target = q.service_level_target ?? 0.8;
  if (q.service_level === null || q.service_level === undefined) return '—';
  if (q.service_level < target)
    return h('span', { class: 'over' }, `${percent(q.service_level)} (below target ${percent(target)})`);
  return `${percent(q.service_level)} (target ${percent(target)})`;
}

// The longest wait in words, and whether it passed the queue's service_level_s.
export function waitText(q, waitedS) {
  if (!q.waiting) return { text: '—', over: false };
  const limit = q.service_level_s ?? 60;
  const over = waitedS > limit;
  return { text: over ? `${seconds(waitedS)} (over ${limit} s)` : seconds(waitedS), over };
}

function longestWait(q, waitedS) {
  const { text, over } = waitText(q, waitedS);
  return h('span', { class: over ? 'over' : '', dataset: { wait: q.name } }, text);
}

// The queues table. `waitedAt(q)`: the longest wait now, counted on between events.
export function renderQueues(el, queues, waitedAt) {
  if (!queues.length) {
    replace(el, h('p', { class: 'empty' }, 'No queues yet.'));
    return;
  }
  const heads = [
    'Queue', 'Waiting', 'Longest wait', 'Available', 'Busy', 'Away', 'Offline', 'Answered today',
    'Abandoned today', 'Service level today', 'Average wait today', 'Average handle time today', 'CSAT today',
  ];
  const rows = queues.map((q) =>
    h(
      'tr',
      { dataset: { queue: q.name } },
      cell('Queue', h('strong', {}, q.display_name || q.name)),
      cell('Waiting', String(q.waiting), { class: 'num' }),
      cell('Longest wait', longestWait(q, waitedAt(q)), { class: 'num' }),
      cell('Available', String(q.agents_available ?? 0), { class: 'num' }),
      cell('Busy', String(q.agents_busy ?? 0), { class: 'num' }),
      cell('Away', String(q.agents_away ?? 0), { class: 'num' }),
      cell('Offline', String(q.agents_offline ?? 0), { class: 'num' }),
      cell('Answered today', String(q.answered_today ?? 0), { class: 'num' }),
      cell('Abandoned today', String(q.abandoned_today ?? 0), { class: 'num' }),
      cell('Service level today', serviceLevel(q), { class: 'num' }),
      cell('Average wait today', seconds(q.average_wait_today_s), { class: 'num' }),
      cell('Average handle time today', seconds(q.average_handle_today_s), { class: 'num' }),
      // csat_today is {average, count} (the survey's ratings today, part B).
      cell('CSAT today', q.csat_today?.count ? `${Number(q.csat_today.average).toFixed(1)} (${q.csat_today.count})` : '—', { class: 'num' }),
    ),
  );
  replace(
    el,
    h(
      'table',
      { 'aria-label': 'Queues' },
      h('thead', {}, h('tr', {}, heads.map((t, i) => h('th', { scope: 'col', class: i ? 'num' : '' }, t)))),
      h('tbody', {}, rows),
    ),
  );
}

function statusText(a) {
  const word = STATUS_WORDS[a.floor_status] || a.status;
  if (a.status === 'away' && a.away_reason) return `${word} (${a.away_reason})`;
  if (a.status === 'after_chat') return `${word} (after-chat work)`;
  return word;
}

// The agents table. `actions`: {openChat(conversation), setAway(agent), signOut(agent)}.
export function renderAgents(el, agents, now, actions) {
  if (!agents.length) {
    replace(el, h('p', { class: 'empty' }, 'No agents yet.'));
    return;
  }
  const heads = ['Agent', 'Status', 'For', 'Chats', 'Chats today', 'Average handle time today', 'Actions'];
  const rows = agents.map((a) => {
    const chats = (a.conversations || []).map((c) =>
      h(
        'li',
        {},
        h(
          'button',
          { type: 'button', class: 'link', onclick: () => actions.openChat(c, a) },
          `Open chat with ${c.customer_name || c.customer_id}`,
        ),
        ' ',
        h('span', { class: 'muted', dataset: { since: c.assigned_at } }, seconds(since(c.assigned_at, now))),
      ),
    );
    const name = a.display_name || a.username;
    return h(
      'tr',
      { dataset: { agent: a.username } },
      cell('Agent', h('strong', {}, name)),
      cell('Status', h('span', { class: `status-${a.floor_status}` }, statusText(a))),
      cell('For', h('span', { dataset: { since: a.status_since || '' } }, seconds(since(a.status_since, now))), { class: 'num' }),
      cell('Chats', chats.length ? h('ul', { class: 'chat-links' }, chats) : h('span', { class: 'muted' }, 'none')),
      cell('Chats today', String(a.chats_today ?? 0), { class: 'num' }),
      cell('Average handle time today', seconds(a.average_handle_today_s), { class: 'num' }),
      cell(
        'Actions',
        h(
          'div',
          { class: 'row' },
          a.status !== 'away' && a.status !== 'offline'
            ? h('button', { type: 'button', 'aria-label': `Set ${name} away`, onclick: () => actions.setAway(a) }, 'Set away')
            : null,
          a.status !== 'offline'
            ? h('button', { type: 'button', class: 'danger', 'aria-label': `Sign ${name} out`, onclick: () => actions.signOut(a) }, 'Sign out')
            : null,
        ),
      ),
    );
  });
  replace(
    el,
    h(
      'table',
      { 'aria-label': 'Agents' },
      h('thead', {}, h('tr', {}, heads.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows),
    ),
  );
}

// Moves the "for how long" and "age" counters on, in place (no redraw, the focus stays).
export function tick(root, now) {
  for (const node of root.querySelectorAll('[data-since]')) {
    if (node.dataset.since) node.textContent = seconds(since(node.dataset.since, now));
  }
}
