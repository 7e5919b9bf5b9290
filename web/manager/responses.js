// The manager's Responses section: the shared canned responses agents pick with "/" and a
// shortcut in the console (GET/POST/PATCH/DELETE /api/v1/responses). Admins manage these; each
// agent keeps their own through the same API. Its own state; main.js calls load() and view().
import * as api from '/lib/api.js';
import { h, field, openDialog, confirmDialog } from '/lib/dom.js';

const responses = { items: null };

export async function load() {
  const r = await api.get('/api/v1/responses');
  responses.items = r.responses.filter((x) => x.shared);
}

// `ctx`: {queues, table, guarded, redraw, queueChecks}.
export function view(ctx) {
  const items = responses.items;
  return h(
    'div',
    {},
    h(
      'div',
      { class: 'section-head' },
      h('h2', {}, 'Responses'),
      h('button', { type: 'button', class: 'primary', onclick: () => edit(ctx, null) }, 'Add response'),
    ),
    h(
      'p',
      { class: 'muted' },
      'Shared canned responses: agents type / and the shortcut in the console. {customer_name} and {agent_name} are filled in.',
    ),
    h(
      'section',
      { class: 'card' },
      items === null
        ? h('p', { class: 'muted' }, 'Loading…')
        : ctx.table(
            'Responses',
            ['Shortcut', 'Title', 'Text', 'Queues', ''],
            items.map((r) =>
              h(
                'tr',
                {},
                h('td', {}, h('span', { class: 'mono' }, `/${r.shortcut}`)),
                h('td', {}, r.title),
                h('td', {}, r.text),
                h('td', {}, r.queues.length ? r.queues.join(', ') : 'All'),
                h(
                  'td',
                  {},
                  h(
                    'div',
                    { class: 'row' },
                    h('button', { type: 'button', 'aria-label': `Edit response ${r.shortcut}`, onclick: () => edit(ctx, r) }, 'Edit'),
                    h('button', { type: 'button', 'aria-label': `Delete response ${r.shortcut}`, onclick: () => remove(ctx, r) }, 'Delete'),
                  ),
                ),
              ),
            ),
            'No shared responses yet. Add one for the answers agents give often.',
          ),
    ),
  );
}

async function edit(ctx, r) {
  await openDialog(r ? `Edit response /${r.shortcut}` : 'Add response', (close) => {
    const shortcut = h('input', { required: true, value: r?.shortcut || '', pattern: '[a-z0-9_\\-]{1,32}', autocomplete: 'off' });
    const title = h('input', { required: true, value: r?.title || '', maxLength: 100 });
    const text = h('textarea', { required: true, rows: 4, value: r?.text || '', maxLength: 4096 });
    const queues = ctx.queueChecks(r?.queues || []);
    const error = h('p', { class: 'error-text', role: 'alert' });
    return h(
      'form',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          const body = { shortcut: shortcut.value.trim(), title: title.value.trim(), text: text.value.trim(), queues: queues.value() };
          try {
            if (r) await api.patch(`/api/v1/responses/${api.seg(r.id)}`, body);
            else await api.post('/api/v1/responses', { ...body, shared: true });
            close('saved');
          } catch (err) {
            error.textContent = err.message;
          }
        },
      },
      field('Shortcut', shortcut, 'What agents type after /: a-z, 0-9, - and _.'),
      field('Title', title),
      field('Text', text, 'May use {customer_name} and {agent_name}.'),
      queues.el,
      h('p', { class: 'hint' }, 'No queue ticked: offered in every chat.'),
      error,
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => close('cancel') }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Save')),
    );
  });
  await ctx.guarded(load, 'Responses');
  ctx.redraw();
}

async function remove(ctx, r) {
  const ok = await confirmDialog(`Delete response /${r.shortcut}?`, 'Agents can no longer pick it.', 'Delete', { danger: true });
  if (!ok) return;
  await ctx.guarded(() => api.del(`/api/v1/responses/${api.seg(r.id)}`), 'Delete response');
  await ctx.guarded(load, 'Responses');
  ctx.redraw();
}
