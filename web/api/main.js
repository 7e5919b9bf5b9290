// The API reference page: fetches /api/v1/openapi.json and renders it with textContent only
// (lib/dom.js). Operations by tag, each with its parameters, body, answers and error codes;
// then the webhook and the schemas.
import { h, replace } from '/lib/dom.js';

const main = document.getElementById('main');

function resolve(doc, node) {
  let n = node;
  for (let i = 0; n && n.$ref && i < 20; i++) {
    n = n.$ref
      .slice(2)
      .split('/')
      .reduce((x, k) => x?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  }
  return n;
}

const refName = (node) => (node?.$ref ? node.$ref.split('/').pop() : null);

// A short type text for a schema: "Queue", "array of Conversation", "string | null".
function typeText(schema) {
  if (!schema) return '';
  if (schema.$ref) return refName(schema);
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (schema.oneOf) return schema.oneOf.map(typeText).join(' | ');
  if (schema.allOf) return schema.allOf.map(typeText).filter(Boolean).join(' & ');
  if (schema.type === 'array') return `array of ${typeText(schema.items)}`;
  if (Array.isArray(schema.type)) return schema.type.join(' | ');
  return schema.type || '';
}

function schemaLink(schema) {
  const name = refName(schema);
  if (name) return h('a', { href: `#schema-${name}` }, name);
  return h('code', {}, typeText(schema));
}

function propertiesTable(schema) {
  const props = schema?.properties;
  if (!props) return null;
  const required = new Set(schema.required || []);
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, h('th', {}, 'field'), h('th', {}, 'type'), h('th', {}, 'required'), h('th', {}, 'notes'))),
    h(
      'tbody',
      {},
      Object.entries(props).map(([name, p]) =>
        h(
          'tr',
          {},
          h('td', {}, h('code', {}, name)),
          h('td', {}, p.$ref ? schemaLink(p) : h('code', {}, typeText(p))),
          h('td', {}, required.has(name) ? 'yes' : ''),
          h('td', {}, p.description || ''),
        ),
      ),
    ),
  );
}

function operation(doc, method, path, op, pathParams = []) {
  const params = [...pathParams, ...(op.parameters || [])].map((p) => resolve(doc, p));
  const body = op.requestBody && resolve(doc, op.requestBody);
  const bodyMedia = body?.content && Object.entries(body.content)[0];
  const security = op.security ?? doc.security ?? [];
  return h(
    'details',
    { class: 'op', id: op.operationId },
    h('summary', {}, h('span', { class: 'method' }, method.toUpperCase()), h('span', { class: 'path' }, path), h('span', { class: 'summary' }, op.summary || '')),
    op.description ? h('p', {}, op.description) : null,
    h('p', { class: 'muted' }, 'Credentials: ', security.length ? security.map((s) => Object.keys(s).join(' + ')).join(', or ') : 'none'),
    params.length
      ? h(
          'table',
          {},
          h('thead', {}, h('tr', {}, h('th', {}, 'parameter'), h('th', {}, 'in'), h('th', {}, 'type'), h('th', {}, 'notes'))),
          h('tbody', {}, params.map((p) => h('tr', {}, h('td', {}, h('code', {}, p.name)), h('td', {}, p.in), h('td', {}, h('code', {}, typeText(p.schema))), h('td', {}, p.description || '')))),
        )
      : null,
    bodyMedia ? h('p', {}, 'Body (', h('code', {}, bodyMedia[0]), '): ', schemaLink(bodyMedia[1].schema)) : null,
    bodyMedia?.[1].example !== undefined ? h('pre', {}, JSON.stringify(bodyMedia[1].example, null, 2)) : null,
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, h('th', {}, 'status'), h('th', {}, 'answer'), h('th', {}, 'codes'))),
      h(
        'tbody',
        {},
        Object.entries(op.responses || {}).map(([status, r0]) => {
          const r = resolve(doc, r0);
          const media = r.content && Object.entries(r.content)[0];
          return h(
            'tr',
            {},
            h('td', {}, status),
            h('td', {}, r.description || '', media ? [' ', schemaLink(media[1].schema)] : null),
            h('td', { class: 'codes' }, (r['x-error-codes'] || []).map((c) => h('code', {}, c))),
          );
        }),
      ),
    ),
  );
}

function render(doc) {
  const byTag = new Map((doc.tags || []).map((t) => [t.name, { tag: t, ops: [] }]));
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      if (method === 'parameters') continue;
      const tag = op.tags?.[0] || 'Other';
      if (!byTag.has(tag)) byTag.set(tag, { tag: { name: tag }, ops: [] });
      byTag.get(tag).ops.push(operation(doc, method, path, op, item.parameters || []));
    }
  }
  const webhooks = Object.entries(doc.webhooks || {}).flatMap(([name, item]) =>
    Object.entries(item).map(([method, op]) => operation(doc, method, `(webhook) ${name}`, op)),
  );
  const schemas = Object.entries(doc.components?.schemas || {});
  replace(
    main,
    h('p', {}, doc.info.description),
    h('p', { class: 'muted' }, `OpenAPI ${doc.openapi} · version ${doc.info.version}`),
    h('nav', { 'aria-label': 'Contents' }, h('ul', { class: 'toc' }, [...byTag.values()].map(({ tag }) => h('li', {}, h('a', { href: `#tag-${tag.name.replace(/\W+/g, '-')}` }, tag.name))), h('li', {}, h('a', { href: '#webhooks' }, 'Webhooks')), h('li', {}, h('a', { href: '#schemas' }, 'Schemas')))),
    [...byTag.values()].map(({ tag, ops }) =>
      h('section', { id: `tag-${tag.name.replace(/\W+/g, '-')}` }, h('h2', {}, tag.name), tag.description ? h('p', {}, tag.description) : null, ops),
    ),
    h('section', { id: 'webhooks' }, h('h2', {}, 'Webhooks: what Parley sends'), webhooks),
    h(
      'section',
      { id: 'schemas' },
      h('h2', {}, 'Schemas'),
      schemas.map(([name, s]) =>
        h(
          'details',
          { class: 'op', id: `schema-${name}` },
          h('summary', {}, h('span', { class: 'path' }, name), h('span', { class: 'summary' }, typeText({ ...s, $ref: undefined }))),
          s.description ? h('p', {}, s.description) : null,
          propertiesTable(s),
          (s.allOf || s.oneOf || []).map((part) => (part.$ref ? h('p', {}, 'Includes ', schemaLink(part)) : propertiesTable(part))),
          s.examples ? h('pre', {}, JSON.stringify(s.examples[0], null, 2)) : null,
        ),
      ),
    ),
  );
  if (location.hash) document.getElementById(location.hash.slice(1))?.setAttribute('open', '');
}

async function load() {
  try {
    const r = await fetch('/api/v1/openapi.json');
    if (!r.ok) throw new Error(`the server answered ${r.status}`);
    render(await r.json());
  } catch (e) {
    replace(main, h('p', { class: 'alert', role: 'alert' }, `The OpenAPI document could not be loaded: ${e.message}.`));
  }
}

load();
