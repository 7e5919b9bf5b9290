// How one transcript entry's payload reads to a person (text, menus, cards, link buttons, the
// wait time sent, the end, notes and wrap-ups): shared by the open chat's transcript and the
// read-only ones (earlier conversations, History).
import { h, formatDuration } from '/lib/dom.js';
import { wrapUpText } from '/agent/wrapup.js';

// The lines a person reads for one entry's payload.
export function payloadView(e) {
  const p = e.payload || {};
  const lines = (arr) => (Array.isArray(arr) ? arr : arr ? [arr] : []).map((t) => h('p', { class: 'line' }, String(t)));
  switch (e.type) {
    case 'text': {
      const parts = [...lines(p.text)];
      if (p.postback && !(p.text && p.text.length)) parts.push(h('p', { class: 'line muted' }, `Chose: ${p.postback}`));
      for (const a of p.attachments || []) parts.push(h('p', { class: 'line muted' }, `Attachment: ${a.file_name || a.url}`));
      return parts;
    }
    case 'menu':
      return [
        lines(p.title),
        h('ul', { class: 'options', 'aria-label': 'Menu options' }, (p.items || []).map((i) => h('li', {}, i.text))),
      ];
    case 'carousel':
      return [
        lines(p.title),
        h(
          'ul',
          { class: 'options', 'aria-label': 'Cards' },
          (p.items || []).map((i) =>
            h('li', {}, i.title, i.subtitle ? ` — ${i.subtitle}` : '', (i.buttons || []).length ? ` [${i.buttons.map((b) => b.text).join(' | ')}]` : ''),
          ),
        ),
      ];
    case 'link_button':
      return [lines(p.title), h('p', { class: 'line' }, `[${p.label}] `, h('span', { class: 'mono' }, p.url))];
    case 'wait_time':
      return h('p', { class: 'line' }, `Estimated wait sent to the customer: ${formatDuration(p.waitTime)}`);
    case 'csr_end_session':
      return h('p', { class: 'line' }, 'Chat ended.');
    case 'customer_end_session':
      return h('p', { class: 'line' }, 'The customer ended the chat.');
    case 'note':
      return [h('p', { class: 'line note-mark' }, 'Internal note: only agents see this.'), lines(p.text)];
    case 'wrap_up':
      return [h('p', { class: 'line note-mark' }, 'Wrap-up: only agents see this.'), lines(wrapUpText(p))];
    default:
      return p.text ? lines(p.text) : h('p', { class: 'line muted' }, e.type);
  }
}
