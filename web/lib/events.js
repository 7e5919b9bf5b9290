// Live events over the WebSocket GET /api/v1/events (authenticated by the session cookie).
//
// Reconnects by itself with a growing pause (0.5 s to 5 s) and `?after=<last seq>`, so no event
// is lost; frames whose seq was already handled are dropped, so none is handled twice. While
// the socket is down the status callback is told ('reconnecting'), and the page shows it.
// A {"type":"reset"} frame (the server no longer has what came after our seq) and the first
// connection call onResync, where the page re-reads its state by REST.

const MIN_PAUSE_MS = 500;
const MAX_PAUSE_MS = 5000;

export class EventStream {
  // onEvent(frame), onStatus('open'|'reconnecting'|'unavailable'|'closed'), onResync()
  constructor({ onEvent, onStatus = () => {}, onResync = () => {}, path = '/api/v1/events' }) {
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.onResync = onResync;
    this.path = path;
    this.lastSeq = null;
    this.socket = null;
    this.pause = MIN_PAUSE_MS;
    this.timer = null;
    this.stopped = true;
    this.everOpened = false;
    this.gapAt = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = null;
    if (this.socket) {
      this.socket.onclose = null;
      this.socket.close();
      this.socket = null;
    }
    this.onStatus('closed');
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const after = this.lastSeq !== null ? `?after=${encodeURIComponent(this.lastSeq)}` : '';
    return `${scheme}//${location.host}${this.path}${after}`;
  }

  connect() {
    if (this.stopped) return;
    if (this.everOpened) this.onStatus('reconnecting');
    let socket;
    try {
      socket = new WebSocket(this.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.pause = MIN_PAUSE_MS;
      const first = !this.everOpened;
      this.everOpened = true;
      this.onStatus('open');
      // Without a seq to resume from, what happened before the socket opened is read by REST.
      if (first || this.lastSeq === null) this.onResync();
    };
    socket.onmessage = (msg) => this.handle(msg.data);
    socket.onclose = () => {
      if (this.socket === socket) this.socket = null;
      this.scheduleReconnect();
    };
    socket.onerror = () => {
      // onclose follows and reconnects
    };
  }

  scheduleReconnect() {
    if (this.stopped) return;
    // Before the first open there is nothing to reconnect to: say so only once it lasts.
    this.failedFirst = this.everOpened ? 0 : (this.failedFirst || 0) + 1;
    if (this.everOpened) this.onStatus('reconnecting');
    else if (this.failedFirst >= 3) this.onStatus('unavailable');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.pause);
    this.pause = Math.min(MAX_PAUSE_MS, this.pause * 2);
  }

  handle(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (!frame || typeof frame !== 'object') return;
    if (frame.type === 'reset') {
      // The server says from which seq it goes on ({"type":"reset","after":N}).
      const from = Number.isInteger(frame.after) ? frame.after : frame.seq;
      this.lastSeq = Number.isInteger(from) ? from : null;
      this.onResync();
      return;
    }
    if (Number.isInteger(frame.seq)) {
      if (this.lastSeq !== null && frame.seq <= this.lastSeq) return; // a repeat
      if (this.lastSeq !== null && frame.seq > this.lastSeq + 1 && this.gapAt !== this.lastSeq) {
        // A gap: ask again from what we have, so nothing in between is lost. A server that
        // skips the same seq again is believed the second time (no reconnect loop).
        this.gapAt = this.lastSeq;
        this.socket?.close();
        return;
      }
      this.lastSeq = frame.seq;
    }
    try {
      this.onEvent(frame);
    } catch (e) {
      console.error('event handler failed', frame.type, e);
    }
  }
}

// Shows the stream's status in el (a role=status element): hidden while open.
export function statusView(el) {
  return (status) => {
    const text = {
      reconnecting: 'Reconnecting…',
      unavailable: 'Live updates are not available yet; retrying…',
    }[status] || '';
    el.textContent = text;
    el.hidden = !text;
  };
}
