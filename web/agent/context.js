// The customer context beside the transcript: who the customer is, the channel, the queue and
// the wait so far, why the bot handed them over, what the bot collected, and their earlier
// conversations on the same channel, each to open read-only. From
// GET /api/v1/conversations/{id}/context, read again when another chat is selected or the
// selected one changes hands.
import * as api from '/lib/api.js';
import { h, replace, openDialog, formatTime, formatDuration } from '/lib/dom.js';
import { payloadView } from '/agent/payload.js';

const HANDOVER = {
  asked_for_person: 'Asked for a person',
  no_bot: 'No bot on this channel: straight to a person',
  unknown: 'Not known',
};

// One entry of an earlier transcript, read-only and plain: who, when, what.
export function entryView(conv, e, customerLabel) {
  const who = { customer: customerLabel(conv), bot: 'Bot', system: 'System' }[e.from] || e.csr_name || e.from;
  return h(
    'li',
    { class: ['entry', e.direction, `from-${e.from}`] },
    h('div', { class: 'meta' }, h('span', { class: 'who' }, e.direction === 'note' ? `Note · ${who}` : who), h('span', {}, formatTime(e.created_at))),
    h('div', { class: 'bubble' }, payloadView(e)),
  );
}

export function createContextPanel(el, { customerLabel, queueLabel }) {
  let shownFor = null;
  let loading = 0;

  function dl(rows) {
    return h(
      'dl',
      { class: 'context-list' },
      rows.filter(([, v]) => v !== null && v !== undefined && v !== '').flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    );
  }

  function collectedView(collected) {
    const rows = [...Object.entries(collected?.slots || {}), ...Object.entries(collected?.context || {})];
    if (!rows.length) return h('p', { class: 'muted' }, 'Nothing collected.');
    return dl(rows.map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  }

  async function openPrevious(current, prev) {
    const full = await api.get(`/api/v1/conversations/${api.seg(prev.id)}?via=${encodeURIComponent(current)}`).catch((e) => {
      api.showError(e, 'Earlier conversation');
      return null;
    });
    if (!full) return;
    await openDialog(`Conversation of ${formatTime(full.created_at)}`, (close) =>
      h(
        'div',
        {},
        h('ol', { class: 'transcript previous', 'aria-label': 'Earlier transcript' }, full.transcript.filter((e) => e.type !== 'typing_indicator').map((e) => entryView(full, e, customerLabel))),
        h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => close('done') }, 'Close')),
      ),
    );
  }

  function draw(ctx, conv) {
    const waited = ctx.waited_s === null || ctx.waited_s === undefined ? null : formatDuration(ctx.waited_s);
    const handover = ctx.handover?.reason === 'intent' ? `Intent: ${ctx.handover.intent}` : HANDOVER[ctx.handover?.reason] || '';
    replace(
      el,
      h('h2', { id: 'context-title' }, 'Customer'),
      dl([
        ['Name', ctx.customer?.name || customerLabel(conv)],
        ['Customer ID', ctx.customer?.id],
        ['Channel', ctx.connection?.name || ctx.connection?.id],
        ['Queue', ctx.queue ? queueLabel(ctx.queue) : null],
        [conv.state === 'queued' ? 'Waiting for' : 'Waited', waited],
        ['Handed over', handover],
        ['They wrote', ctx.handover?.text ? `“${ctx.handover.text}”` : null],
      ]),
      h('h3', {}, 'The bot collected'),
      collectedView(ctx.collected),
      h('h3', {}, 'Earlier conversations'),
      ctx.previous?.length
        ? h(
            'ul',
            { class: 'previous-list' },
            ctx.previous.map((p) =>
              h(
                'li',
                {},
                h(
                  'button',
                  { type: 'button', onclick: () => openPrevious(ctx.conversation_id, p) },
                  `${formatTime(p.created_at)} · ${p.queue ? queueLabel(p.queue) : 'bot only'}${p.last_agent ? ` · ${p.last_agent}` : ''}`,
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'None on this channel.'),
    );
  }

  return {
    async show(conv) {
      if (!conv) {
        shownFor = null;
        replace(el, h('h2', { id: 'context-title' }, 'Customer'), h('p', { class: 'muted' }, 'Pick a chat to see who the customer is.'));
        return;
      }
      const key = `${conv.id}:${conv.state}:${conv.agent || ''}`;
      if (shownFor === key) return;
      shownFor = key;
      const mine = ++loading;
      const ctx = await api.get(`/api/v1/conversations/${api.seg(conv.id)}/context`).catch((e) => {
        if (e.status !== 401 && e.status !== 403) api.showError(e, 'Customer context');
        return null;
      });
      if (mine !== loading) return;
      if (!ctx) {
        shownFor = null;
        return;
      }
      draw(ctx, conv);
    },
  };
}
