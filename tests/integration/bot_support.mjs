// Helpers for the bot black-box tests: a reader for the YAML subset the sample bots use (so the
// tests take their expected wording from bots/bank.yaml instead of copying it), a scriptable
// action server for `call` steps, and a per-customer chat cursor over a webhook Receiver.
import http from 'node:http';
import { waitFor } from './harness.mjs';

// ---------------------------------------------------------------------------------------------
// YAML subset: block mappings and sequences, one-line flow collections, quoted and plain
// scalars, comments. Enough for bots/*.yaml; throws on anything it does not understand rather
// than guessing, so a test never compares against a misread value.

function stripComment(line) {
  let quote = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (quote === '"' && c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) {
      return line.slice(0, i);
    }
  }
  return line;
}

function plainScalar(s) {
  const t = s.trim();
  if (t === '' || t === '~' || t === 'null') return null;
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (/^-?[0-9]+(\.[0-9]+)?$/.test(t)) return Number(t);
  return t;
}

// Parses one flow value (scalar, {...} or [...]) from s at position i; returns [value, next].
function parseFlow(s, i, inFlow) {
  const skip = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  skip();
  const c = s[i];
  if (c === '{' || c === '[') {
    const close = c === '{' ? '}' : ']';
    const out = c === '{' ? {} : [];
    i++;
    for (;;) {
      skip();
      if (s[i] === close) return [out, i + 1];
      if (c === '{') {
        let key;
        [key, i] = parseFlow(s, i, true);
        skip();
        if (s[i] !== ':') throw new Error(`yaml: expected ':' in flow mapping: ${s}`);
        i++;
        let val;
        skip();
        if (s[i] === ',' || s[i] === '}') val = null;
        else [val, i] = parseFlow(s, i, true);
        out[String(key)] = val;
      } else {
        let val;
        [val, i] = parseFlow(s, i, true);
        out.push(val);
      }
      skip();
      if (s[i] === ',') i++;
      else if (s[i] !== close) throw new Error(`yaml: expected ',' or '${close}': ${s}`);
    }
  }
  if (c === '"') {
    let j = i + 1;
    while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
    if (j >= s.length) throw new Error(`yaml: unterminated string: ${s}`);
    return [JSON.parse(s.slice(i, j + 1)), j + 1];
  }
  if (c === "'") {
    let j = i + 1;
    let v = '';
    for (;;) {
      if (j >= s.length) throw new Error(`yaml: unterminated string: ${s}`);
      if (s[j] === "'") {
        if (s[j + 1] === "'") {
          v += "'";
          j += 2;
          continue;
        }
        return [v, j + 1];
      }
      v += s[j++];
    }
  }
  // plain: in a flow collection it ends at , } ] or ': '; in a block it is the rest
  let j = i;
  if (inFlow) {
    while (j < s.length && !',}]'.includes(s[j]) && !(s[j] === ':' && /[\s,}\]]|^$/.test(s[j + 1] ?? ''))) j++;
  } else {
    j = s.length;
  }
  return [plainScalar(s.slice(i, j)), j];
}

function parseInline(s) {
  const [v, end] = parseFlow(s, 0, false);
  if (s.slice(end).trim() !== '') throw new Error(`yaml: trailing text after value: ${s}`);
  return v;
}

// Index of the ':' that ends a mapping key at the start of text, or -1.
function keyColon(text) {
  if (text[0] === '{' || text[0] === '[') return -1;
  let i = 0;
  if (text[0] === '"' || text[0] === "'") {
    const [, end] = parseFlow(text, 0, true);
    i = end;
    return text[i] === ':' && (i + 1 === text.length || text[i + 1] === ' ') ? i : -1;
  }
  for (; i < text.length; i++) {
    if (text[i] === ':' && (i + 1 === text.length || text[i + 1] === ' ')) return i;
  }
  return -1;
}

export function parseYaml(src) {
  const lines = [];
  for (const raw of src.split('\n')) {
    const l = stripComment(raw).replace(/\s+$/, '');
    if (l.trim() === '' || l.trim() === '---') continue;
    if (/\t/.test(l.match(/^\s*/)[0])) throw new Error('yaml: tab indentation');
    lines.push({ indent: l.length - l.trimStart().length, text: l.trimStart() });
  }
  let pos = 0;
  const isSeq = (t) => t === '-' || t.startsWith('- ');

  function node(indent) {
    const l = lines[pos];
    return isSeq(l.text) ? seq(l.indent) : map(l.indent);
  }
  function seq(indent) {
    const out = [];
    while (pos < lines.length && lines[pos].indent === indent && isSeq(lines[pos].text)) {
      const l = lines[pos];
      const rest = l.text.slice(1).trimStart();
      if (rest === '') {
        pos++;
        out.push(pos < lines.length && lines[pos].indent > indent ? node(lines[pos].indent) : null);
      } else if (keyColon(rest) > 0 || isSeq(rest)) {
        // "- key: v" opens a mapping whose keys line up with "key"
        lines[pos] = { indent: indent + (l.text.length - rest.length), text: rest };
        out.push(node(lines[pos].indent));
      } else {
        pos++;
        out.push(parseInline(rest));
      }
    }
    return out;
  }
  function map(indent) {
    const out = {};
    while (pos < lines.length && lines[pos].indent === indent && !isSeq(lines[pos].text)) {
      const { text } = lines[pos];
      const k = keyColon(text);
      if (k < 0) throw new Error(`yaml: expected 'key:' at "${text}"`);
      const key = String(parseInline(text.slice(0, k)));
      const rest = text.slice(k + 1).trim();
      pos++;
      if (rest !== '') {
        out[key] = parseInline(rest);
      } else if (pos < lines.length && (lines[pos].indent > indent || (lines[pos].indent === indent && isSeq(lines[pos].text)))) {
        out[key] = node(lines[pos].indent);
      } else {
        out[key] = null;
      }
    }
    if (pos < lines.length && lines[pos].indent > indent) {
      throw new Error(`yaml: unexpected indentation at "${lines[pos].text}"`);
    }
    return out;
  }
  const doc = lines.length ? node(lines[0].indent) : null;
  if (pos !== lines.length) throw new Error(`yaml: could not read from "${lines[pos].text}"`);
  return doc;
}

// The lines of a text reply as sent ({text: "x"} or {text: [..]}).
export const linesOf = (reply) => (Array.isArray(reply.text) ? reply.text : [reply.text]);

// Fills {customer_name}, {slot} and {context.key} as the bot does (missing renders empty).
export function fill(s, values) {
  // {name} or {name|fallback}: the fallback stands in for a missing or empty value.
  return s.replace(/\{([A-Za-z_][A-Za-z0-9_.-]*)(?:\|([^{}]*))?\}/g, (_, k, fallback) => {
    const v = k.split('.').reduce((o, p) => (o == null ? undefined : o[p]), values);
    const text = v == null ? '' : String(v);
    return text === '' && fallback !== undefined ? fallback : text;
  });
}

// ---------------------------------------------------------------------------------------------
// An external action for `call` steps: a plain http server on 127.0.0.1:0 that records every
// request and answers as scripted per path: {json, status?} | {status, body?} | {hang: true}
// (never answers; the socket is dropped at close()) | {drop: true} (closes the connection
// without an answer).
export class ActionServer {
  constructor() {
    this.requests = []; // {path, method, headers, body, json, t}
    this.script = new Map(); // path -> action (sticky)
    this.sockets = new Set();
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start() {
    const a = new ActionServer();
    await new Promise((resolve, reject) => {
      a.server.once('error', reject);
      a.server.listen(0, '127.0.0.1', resolve);
    });
    a.port = a.server.address().port;
    return a;
  }

  url(pathname) {
    return `http://127.0.0.1:${this.port}${pathname}`;
  }

  on(pathname, action) {
    this.script.set(pathname, action);
  }

  requestsTo(pathname) {
    return this.requests.filter((r) => r.path === pathname);
  }

  handle(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      let json = null;
      try {
        json = JSON.parse(body);
      } catch {
        // recorded as is; the test asserts on it
      }
      const path = new URL(req.url, 'http://x').pathname;
      this.requests.push({ path, method: req.method, headers: req.headers, body, json, t: Date.now() });
      const action = this.script.get(path) ?? { status: 404, body: 'no script' };
      if (action.hang) return;
      if (action.drop) {
        req.socket.destroy();
        return;
      }
      if (action.json !== undefined) {
        res.writeHead(action.status ?? 200, { 'content-type': 'application/json' }).end(JSON.stringify(action.json));
      } else {
        res.writeHead(action.status ?? 200, { 'content-type': 'text/plain' }).end(action.body ?? '');
      }
    });
  }

  async close() {
    const closed = new Promise((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

// ---------------------------------------------------------------------------------------------
// One customer's side of a conversation: sends messages and waits for the bot's next replies.
export class Chat {
  constructor(server, conn, hook, customerId, { name = 'Test Customer' } = {}) {
    this.server = server;
    this.conn = conn;
    this.hook = hook;
    this.cid = customerId;
    this.name = name;
    this.seen = 0; // delivered events already returned by next()
  }

  all() {
    return this.hook.deliveredTo(this.conn, this.cid);
  }

  async say(text) {
    const ev = { type: 'text', customer_id: this.cid, customer_name: this.name, message_id: crypto.randomUUID() };
    ev.text = Array.isArray(text) ? text : [text];
    return this.server.send(this.conn, ev);
  }

  async tap(payload, text) {
    const ev = { type: 'text', customer_id: this.cid, customer_name: this.name, message_id: crypto.randomUUID(), postback: payload };
    if (text !== undefined) ev.text = [text];
    return this.server.send(this.conn, ev);
  }

  // Waits until the events delivered since the last call satisfy done(events) and returns them
  // (the cursor moves past them). done receives the new events, in seq order.
  async next(done, what = 'the bot reply', timeout = 10000) {
    const evs = await waitFor(
      () => {
        const fresh = this.all().slice(this.seen);
        return done(fresh) ? fresh : null;
      },
      { timeout, message: () => `${what}; got so far: ${JSON.stringify(this.all().slice(this.seen))}` },
    );
    this.seen += evs.length;
    return evs;
  }
}
