// Element builders. Everything a person typed reaches the page through textContent or element
// properties here: no function in this module parses HTML.

// h('button', {type: 'button', class: 'primary', onclick: fn, 'aria-label': '…'}, 'Save')
// props: `class`, `text`, `dataset` (object), `on*` functions become listeners, `aria-*`,
// `for`, `role` and other dashed names become attributes, the rest become properties.
// Children: strings (text nodes), nodes, arrays of them; null, undefined and false are skipped.
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key.includes('-') || key === 'for' || key === 'role') el.setAttribute(key, value === true ? '' : String(value));
    else el[key] = value;
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

// Replaces the children of el.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let idCounter = 0;
export function uniqueId(prefix = 'id') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

// A labelled form field: <div class="field"><label for=…>Label</label><input id=…></div>.
// Returns {wrap, input}. `control` is the element to label (input, select, textarea).
export function field(label, control, hint) {
  if (!control.id) control.id = uniqueId('f');
  const parts = [h('label', { for: control.id }, label), control];
  if (hint) {
    const hintEl = h('p', { class: 'hint', id: uniqueId('hint') }, hint);
    control.setAttribute('aria-describedby', hintEl.id);
    parts.push(hintEl);
  }
  return h('div', { class: 'field' }, parts);
}

// A modal <dialog> built from content; resolves when it closes with the returnValue. Escape
// closes it (the browser's own behaviour). The dialog is removed from the page on close.
// On close (Escape too) the focus goes back to the control that opened it; when the page drew
// that control anew meanwhile, `refocusOpener(root)` finds it again by its name.
// Typing in a field clears the dialog's error lines: an error stays only while it is true.
export function openDialog(title, build) {
  const heading = h('h2', { id: uniqueId('dlg') }, title);
  const dialog = h('dialog', { 'aria-labelledby': heading.id });
  const close = (value = '') => dialog.close(value);
  const opener = document.activeElement && document.activeElement !== document.body ? document.activeElement : null;
  dialog.append(heading);
  append(dialog, [build(close, dialog)]);
  dialog.addEventListener('input', () => {
    for (const e of dialog.querySelectorAll('.error-text')) e.textContent = '';
  });
  document.body.append(dialog);
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (opener) {
        pendingOpener = { el: opener, name: controlName(opener), until: Date.now() + 10000 };
        refocusOpener(document.body);
      }
      resolve(dialog.returnValue);
    });
  });
}

let pendingOpener = null;

function controlName(node) {
  return node.getAttribute('aria-label') || node.textContent.trim();
}

// Puts the focus back on the last dialog's opener (or the control of the same name within
// `root` when the opener was replaced). Does nothing once the focus moved elsewhere.
export function refocusOpener(root) {
  if (!pendingOpener) return;
  if (Date.now() > pendingOpener.until) {
    pendingOpener = null;
    return;
  }
  const active = document.activeElement;
  if (active && active !== document.body && active !== pendingOpener.el) {
    pendingOpener = null;
    return;
  }
  let target = pendingOpener.el.isConnected ? pendingOpener.el : null;
  if (!target && root) {
    target = [...root.querySelectorAll('button, a[href], select, input')].find(
      (x) => controlName(x) === pendingOpener.name,
    );
  }
  if (target) {
    target.focus();
    pendingOpener.el = target; // the page may draw it anew once more (a reload after saving)
  }
}

// Asks a yes/no question in a modal dialog; resolves true when confirmed.
export async function confirmDialog(title, text, confirmLabel, { danger = false } = {}) {
  const answer = await openDialog(title, (close) =>
    h(
      'form',
      { method: 'dialog', onsubmit: (e) => { e.preventDefault(); close('yes'); } },
      h('p', {}, text),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', onclick: () => close('no') }, 'Cancel'),
        h('button', { type: 'submit', class: danger ? 'danger' : 'primary' }, confirmLabel),
      ),
    ),
  );
  return answer === 'yes';
}

// Copies text to the clipboard; falls back to selecting the input when the API is refused.
export async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (input) {
      input.focus();
      input.select();
    }
    return false;
  }
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
});

// "14:03" for today, the date and time otherwise; '' for null.
export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const now = new Date();
  return d.toDateString() === now.toDateString() ? timeFormat.format(d) : dateTimeFormat.format(d);
}

export function formatDateTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : dateTimeFormat.format(d);
}

// 75 -> "1 min 15 s"; null -> "—".
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return '—';
  const s = Math.max(0, Math.round(Number(seconds)));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const hrs = Math.floor(m / 60);
  return m % 60 ? `${hrs} h ${m % 60} min` : `${hrs} h`;
}
