// What the agent was writing, kept in storage the page owns so that a reload (or a crash of the
// tab) gives it back: one draft per chat, under the signed-in user, and the chat that was open.
// sessionStorage: it lives as long as the tab, survives reloads, and is not shared with another
// person signing in on another tab of the same computer.
const PREFIX = 'parley-agent-draft:';
const SELECTED = 'parley-agent-selected:';
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
