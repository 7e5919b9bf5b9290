// Writes generated seeds: the JWT seeds of fuzz/corpus/jwt_fuzz and the tree seeds (tree-*) of
// fuzz/corpus/bot_loader_fuzz. Run from the repo root: node fuzz/make-seeds.mjs [jwt|loader]
// (both without an argument; jwt needs tests/node_modules).
import {createRequire} from 'node:module';
import {mkdirSync, writeFileSync} from 'node:fs';

// Tokens signed by jsonwebtoken (the library integration layers use) with the secret and clock
// jwt_fuzz.cpp checks against, so the fuzzer starts from tokens that pass every check and
// mutates towards each refusal.
function writeJwtSeeds() {
  const require = createRequire(new URL('../tests/package.json', import.meta.url));
  const jwt = require('jsonwebtoken');

  const secret = 'fuzz-secret-fuzz-secret-fuzz-secret-123';
  const now = 1764000000;  // jwt_fuzz.cpp's clock, in seconds
  const dir = new URL('./corpus/jwt_fuzz/', import.meta.url);
  mkdirSync(dir, {recursive: true});

  const seeds = {
    'valid': jwt.sign({iss: 'conn-1', iat: now}, secret, {algorithm: 'HS256'}),
    'valid-exp-nbf': jwt.sign({iss: 'conn-2', iat: now - 10, exp: now + 60, nbf: now - 5}, secret,
                              {algorithm: 'HS256'}),
    'disabled': jwt.sign({iss: 'xdisabled', iat: now}, secret, {algorithm: 'HS256'}),
    'expired': jwt.sign({iss: 'conn-1', iat: now - 301}, secret, {algorithm: 'HS256'}),
    'future': jwt.sign({iss: 'conn-1', iat: now + 31}, secret, {algorithm: 'HS256'}),
    'wrong-secret': jwt.sign({iss: 'conn-1', iat: now}, 'another-secret', {algorithm: 'HS256'}),
    'hs512': jwt.sign({iss: 'conn-1', iat: now}, secret, {algorithm: 'HS512'}),
    'unicode-iss': jwt.sign({iss: 'conn-ü-😀', iat: now, sub: 'عميل'}, secret, {algorithm: 'HS256'}),
    'float-iat': jwt.sign({iss: 'conn-1', iat: now + 0.5}, secret, {algorithm: 'HS256'}),
    'alg-none': jwt.sign({iss: 'conn-1', iat: now}, null, {algorithm: 'none'}),
  };
  for (const [name, token] of Object.entries(seeds)) {
    writeFileSync(new URL(name, dir), `Bearer ${token}`);
  }
  writeFileSync(new URL('lower-bearer', dir), `bearer ${seeds.valid}`);
  writeFileSync(new URL('two-parts', dir),
                `Bearer ${seeds.valid.split('.').slice(0, 2).join('.')}`);
  writeFileSync(new URL('basic', dir), 'Basic dXNlcjpwYXNz');
}

// bot_loader_fuzz's tree encoding (see the top of fuzz/bot_loader_fuzz.cpp): definitions written
// here as objects, encoded node by node with the target's tables of keys and values. Keep the
// two tables identical to the target's.
const kKeys = [
  'name', 'greeting', 'threshold', 'interrupt_threshold', 'cancel', 'fallback', 'intents',
  'menus', 'flows', 'escalation', 'words', 'replies', 'escalate_after', 'offer', 'title',
  'queues', 'queue', 'text', 'examples', 'flow', 'action', 'steps', 'interruptible', 'ask',
  'slot', 'pattern', 'retry', 'retries', 'choices', 'synonyms', 'call', 'when', 'url',
  'timeout_ms', 'on_error', 'items', 'payload', 'image_url', 'menu', 'carousel', 'link_button',
  'label', 'subtitle', 'buttons', 'f', 'm', 'q', 's'];
const kValues = [
  'f', 'm', 'q', 's', 'i', 'Hi {s}', 'escalate', 'action:escalate', 'action:cancel',
  'flow:f', 'menu:m', 'intent:i', 'queue:q', 'x:y', '{customer_name|you}', '{context.plan}',
  '{s|none}', '{t}', '{', 'https://x.example/{s}', 'https://x.example/a.png',
  'http://10.0.0.1/', 'http://x.example/', 'javascript:alert(1)', '//x', '^[0-9]{4}$',
  '(a*)*b', '[', 'a*a*a*a*$', '0', '1', '0.5', '1.5', '-1', '2000', '60001', 'true', 'false',
  'yes', '~', '', ' ', 'hours', 'main'];

function encodeRaw(out, text, max) {
  const bytes = [...Buffer.from(text, 'utf8')];
  if (bytes.length >= max) throw new Error(`'${text}' is longer than ${max - 1} bytes`);
  out.push(bytes.length, ...bytes);
}

let nodes = 0;  // the target reads at most kMaxNodes (160) nodes of a tree, kMaxDepth (12) deep
function encodeNode(out, v, depth = 0) {
  if (++nodes > 160) throw new Error('more than 160 nodes');
  if (v === null) return out.push(0);
  if (typeof v !== 'object') {
    const text = String(v);
    const i = kValues.indexOf(text);
    if (i >= 0) return out.push(1, i);
    out.push(2);
    return encodeRaw(out, text, 64);
  }
  if (depth >= 12) throw new Error('a map or sequence deeper than 12 levels');
  const entries = Array.isArray(v) ? v : Object.entries(v);
  if (entries.length > 31) throw new Error('more than 31 entries');
  out.push((Array.isArray(v) ? 4 : 3) | (entries.length << 3));
  for (const e of entries) {
    if (Array.isArray(v)) {
      encodeNode(out, e, depth + 1);
      continue;
    }
    const k = kKeys.indexOf(e[0]);
    if (k >= 0) {
      out.push(k);
    } else {
      out.push(0xF0);
      encodeRaw(out, e[0], 32);
    }
    encodeNode(out, e[1], depth + 1);
  }
}

function writeLoaderSeeds() {
  const fallback = {replies: [{text: 'Sorry?'}]};
  const seeds = {
    // The smallest definition that loads.
    'tree-minimal': {name: 'Mini', fallback},
    // The `flow` text seed's shape with the tables' names: a menu, intents, a flow with every
    // step kind, a guard, links, a carousel and an escalation.
    'tree-flow': {
      name: 'Flow', fallback, threshold: 0.5,
      greeting: [{menu: 'm'}],
      menus: {m: {title: 'Pick', items: [{text: 'Ask', payload: 'flow:f'},
                                          {text: 'Person', payload: 'action:escalate'}]}},
      intents: [{name: 'i', examples: ['hours', 'main'], flow: 'f'},
                {name: 'j', examples: ['x:y'], replies: [{text: ['no', 'idea']}]}],
      flows: {f: {steps: [
        {ask: 'Four digits?', slot: 's', pattern: '^[0-9]{4}$', retry: 'Digits only.'},
        {when: {s: '1'}, replies: [{link_button: {title: 'T', label: 'L',
                                                   url: 'https://x.example/{s}'}}]},
        {replies: [{carousel: {items: [{title: '{s}', image_url: 'https://x.example/a.png',
                                        buttons: [{text: 'go', payload: 'intent:j'}]}]}}]},
      ]}},
      escalation: {replies: [{text: 'Passing you on.'}], title: 'Who?',
                   queues: [{queue: 'q', text: 'One'}]},
    },
    // The `call` text seed's shape: an ask with a menu and synonyms, a call, guards on what it
    // set, cancel words and an escalation reached by an intent's action.
    'tree-call': {
      name: 'Caller', fallback: {replies: [{text: 'Not understood.'}], escalate_after: 2,
                                 offer: '{customer_name|you}'},
      cancel: {words: ['stop'], replies: [{text: 'Dropped.'}]},
      intents: [{name: 'i', examples: ['my balance'], flow: 'f'},
                {name: 'p', examples: ['a person'], action: 'escalate'}],
      flows: {f: {interruptible: false, steps: [
        {ask: {menu: {title: 'Which?', items: [{text: 'A', payload: 'a'},
                                               {text: 'B', payload: 'b'}]}},
         slot: 's', synonyms: {a: ['first']}},
        {ask: 'Last four of {s}?', slot: 't', pattern: '[0-9]{4}', retries: 1},
        {call: {url: 'https://x.example/balance', timeout_ms: 2000,
                on_error: [{text: 'No luck.'}]}},
        {when: {found: 'yes'}, replies: [{text: '{s} {t}: {balance|unknown}.'}]},
        {replies: [{menu: {title: 'More?', items: [{text: 'Person',
                                                    payload: 'action:escalate'}]}}]},
      ]}},
      escalation: {replies: [{text: 'Passing you on.'}], queues: [{queue: 'q', text: 'Q'}]},
    },
  };
  const dir = new URL('./corpus/bot_loader_fuzz/', import.meta.url);
  mkdirSync(dir, {recursive: true});
  for (const [name, def] of Object.entries(seeds)) {
    const out = [0];  // a first byte whose low bits are not 'n''s: the tree path
    nodes = 0;
    encodeNode(out, def);
    writeFileSync(new URL(name, dir), Buffer.from(out));
  }
}

const which = process.argv[2] ?? 'all';
if (which === 'all' || which === 'loader') writeLoaderSeeds();
if (which === 'all' || which === 'jwt') writeJwtSeeds();
