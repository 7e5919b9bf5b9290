// What the agent was writing, kept in storage the page owns so that a reload (or a crash of the
// tab) gives it back: one draft per chat, under the signed-in user, and the chat that was open.
// sessionStorage: it lives as long as the tab, survives reloads, and is not shared with another
// person signing in on another tab of the same computer.
const PREFIX = 'parley-agent-draft:';
const SELECTED = 'parley-agent-selected:';
const SENDING = 'parley-agent-sending:';
const MAX_DRAFTS = 100;

function key(user, id) {
  return `${PREFIX}${user}:${id}`;
}

export function loadDraft(user, id) {
  try {
    return sessionStorage.getItem(key(user, id)) || '';
  } catch {
    return '';
  }
}

export function saveDraft(user, id, text) {
  try {
    if (!text) sessionStorage.removeItem(key(user, id));
    else {
      sessionStorage.setItem(key(user, id), text);
      pruneDrafts(user);
    }
  } catch {
    // Storage full or refused: the draft still lives in the page.
  }
}

export function clearDraft(user, id) {
  saveDraft(user, id, '');
}

// Keeps the storage bounded: beyond MAX_DRAFTS drafts the oldest keys go.
function pruneDrafts(user) {
  const mine = [];
  for (let i = 0; i < sessionStorage.length; i += 1) {
    const k = sessionStorage.key(i);
    if (k?.startsWith(`${PREFIX}${user}:`)) mine.push(k);
  }
  for (const k of mine.slice(0, Math.max(0, mine.length - MAX_DRAFTS))) sessionStorage.removeItem(k);
}

// A reply on its way to the server. When the page is left before the answer comes (a reload
// right after Enter), nobody knows whether it arrived: the next load looks for it in the
// transcript and gives it back as the draft only if it is not there (settleSending).
export function markSending(user, id, text) {
  try {
    sessionStorage.setItem(`${SENDING}${user}:${id}`, JSON.stringify({ text, at: Date.now() }));
  } catch {
    // As above.
  }
}

export function sendSettled(user, id) {
  try {
    sessionStorage.removeItem(`${SENDING}${user}:${id}`);
  } catch {
    // As above.
  }
}

// The text of a send left unsettled by the previous page, when the transcript does not hold it
// (an agent's text entry with the same lines, written at most a minute before it was sent or
// later); null when there is none or it arrived. The record is gone afterwards either way.
export function settleSending(user, id, transcript) {
  let record = null;
  try {
    record = JSON.parse(sessionStorage.getItem(`${SENDING}${user}:${id}`) || 'null');
    sessionStorage.removeItem(`${SENDING}${user}:${id}`);
  } catch {
    return null;
  }
  if (!record || typeof record.text !== 'string') return null;
  const arrived = (transcript || []).some(
    (e) =>
      e.from === 'csr' &&
      e.type === 'text' &&
      [].concat(e.payload?.text ?? []).join('\n') === record.text &&
      Date.parse(e.created_at) >= record.at - 60_000,
  );
  return arrived ? null : record.text;
}

export function loadSelected(user) {
  try {
    return sessionStorage.getItem(SELECTED + user);
  } catch {
    return null;
  }
}

export function saveSelected(user, id) {
  try {
    if (id) sessionStorage.setItem(SELECTED + user, id);
    else sessionStorage.removeItem(SELECTED + user);
  } catch {
    // As above.
  }
}
