// Checks what the server says against the OpenAPI document (web/api/v1/openapi.json): every
// answer the harness receives, every body the webhook receivers get and every live-event frame.
// An answer outside the document is a failed test whose message names the route, the status and
// the failing field, and says which part of the document to update.
//
// What is checked: the status is documented for the route (else the route's `default`, which is
// the error shape); a JSON body matches the schema (required fields and types; extra fields are
// allowed so the document can grow); an error's `code` is one the answer lists in
// `x-error-codes`, or one any route may give (components.responses.AnyError). Paths the document
// does not know (the static pages) are not checked, except that an error must have the error shape.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const here = path.dirname(fileURLToPath(import.meta.url));
export const OPENAPI_FILE = path.resolve(here, '../../web/api/v1/openapi.json');
const RELATIVE = 'web/api/v1/openapi.json';
const DOC = JSON.parse(fs.readFileSync(OPENAPI_FILE, 'utf8'));
const ID = 'openapi.json';

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
ajv.addSchema(DOC, ID);

const compiled = new Map();
function validatorAt(pointer) {
  let v = compiled.get(pointer);
  if (!v) {
    v = ajv.compile({ $ref: `${ID}#${pointer}` });
    compiled.set(pointer, v);
  }
  return v;
}

const esc = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');

function resolve(node, pointer) {
  while (node && node.$ref) {
    pointer = node.$ref.slice(1);
    node = pointer
      .split('/')
      .slice(1)
      .reduce((n, k) => n?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], DOC);
  }
  return { node, pointer };
}

const ANY_ERROR_CODES = new Set(DOC.components.responses.AnyError['x-error-codes']);

// Route templates, literal ones first so /api/v1/agents/me wins over a {name} of the same length.
const ROUTES = Object.keys(DOC.paths)
  .map((template) => ({
    template,
    params: (template.match(/\{/g) || []).length,
    re: new RegExp(`^${template.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }))
  .sort((a, b) => a.params - b.params);

function normalise(pathname) {
  let p = pathname.replace(/\/{2,}/g, '/');
  if (p.length > 1) p = p.replace(/\/+$/, '');
  return p;
}

// Ajv's errors as "field: problem", without repeats. For a oneOf (webhook and live-event types)
// it lists the problems of every branch; the one of the body's `type` is among them.
function describe(errors) {
  const lines = errors.map((e) => {
    const where = e.instancePath || '(body)';
    if (e.keyword === 'required') return `${where}: field '${e.params.missingProperty}' is missing`;
    if (e.keyword === 'enum') return `${where}: ${e.message} (${JSON.stringify(e.params.allowedValues)})`;
    if (e.keyword === 'const') return `${where}: must be ${JSON.stringify(e.params.allowedValue)}`;
    return `${where}: ${e.message}`;
  });
  return [...new Set(lines)].slice(0, 8).join('; ');
}

export class ContractError extends Error {}

function fail(what, pointer, detail) {
  throw new ContractError(
    `OpenAPI: ${what} is outside ${RELATIVE} (${pointer}): ${detail}. ` +
      'If the server is right, update the document (and docs/api.md).',
  );
}

// Throws a ContractError when an answer of the server does not match the document.
export function checkAnswer({ method, url, status, contentType, json, text }) {
  const u = new URL(url);
  const pathname = normalise(u.pathname);
  const route = ROUTES.find((r) => r.re.test(pathname));
  const what = `${method} ${pathname} answered ${status}`;
  const isJson = /json/.test(contentType || '');
  if (!route) {
    if (status >= 400 && isJson) {
      const v = validatorAt('/components/schemas/Error');
      if (!v(json)) fail(what, '#/components/schemas/Error', describe(v.errors));
    }
    return;
  }
  const item = DOC.paths[route.template];
  const opKey = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
  const operation = item[opKey];
  const base = `/paths/${esc(route.template)}`;
  let response;
  let pointer;
  if (!operation) {
    ({ node: response, pointer } = resolve(DOC.components.responses.AnyError, '/components/responses/AnyError'));
    if (![405, 413, 431].includes(status) && status < 500) fail(what, `#${base}`, `the route has no ${method} and the answer is not 405`);
  } else {
    const responses = operation.responses;
    const key = [String(status), `${String(status)[0]}XX`, 'default'].find((k) => responses[k]);
    if (!key) fail(what, `#${base}/${opKey}/responses`, `status ${status} is not documented`);
    ({ node: response, pointer } = resolve(responses[key], `${base}/${opKey}/responses/${key}`));
    if (key === 'default' && status < 400) fail(what, `#${base}/${opKey}/responses`, `status ${status} is not documented`);
  }
  if (method.toLowerCase() === 'head' || status === 304 || status === 101) return;
  const content = response.content;
  if (!content) return;
  const mediaKey = Object.keys(content).find((k) => (contentType || '').startsWith(k));
  if (!mediaKey) {
    fail(what, `#${pointer}/content`, `Content-Type '${contentType}' is not one of ${Object.keys(content).join(', ')}`);
  }
  if (!/json/.test(mediaKey)) return;
  if (json === null && text) fail(what, `#${pointer}`, 'the body is not JSON');
  const schemaPointer = `${pointer}/content/${esc(mediaKey)}/schema`;
  const v = validatorAt(schemaPointer);
  if (!v(json)) fail(what, `#${schemaPointer}`, describe(v.errors));
  if (status >= 400 && json?.error?.code) {
    const codes = new Set([...(response['x-error-codes'] || []), ...ANY_ERROR_CODES]);
    if (!codes.has(json.error.code)) {
      fail(what, `#${pointer}/x-error-codes`, `error code '${json.error.code}' is not listed (listed: ${[...codes].join(', ')})`);
    }
  }
}

// The `type` const a schema (or one of its allOf parts) pins, if any.
function typeConst(node) {
  const { node: n } = resolve(node, '');
  if (n?.properties?.type?.const !== undefined) return n.properties.type.const;
  for (const part of n?.allOf || []) {
    const t = typeConst(part);
    if (t !== undefined) return t;
  }
  return undefined;
}

// For a body refused by a oneOf over `type` (`branches`: pointer to the oneOf array, `common`:
// pointers every body must also match), the errors of the branch of the body's own type: the
// message then names the field that is wrong instead of every other type's requirements.
function branchErrors(value, common, branches, fallback) {
  const list = branches
    .split('/')
    .slice(1)
    .reduce((n, k) => n?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], DOC);
  const i = (list || []).findIndex((b) => typeConst(b) === value?.type);
  if (i < 0) return { pointer: branches, errors: fallback };
  const pointer = `${branches}/${i}`;
  for (const p of [...common, pointer]) {
    const v = validatorAt(p);
    if (!v(value)) return { pointer: p, errors: v.errors };
  }
  return { pointer, errors: fallback };
}

const WEBHOOK = '/webhooks/clientWebhook/post/requestBody/content/application~1json/schema';

// Returns null, or a message when a webhook body does not match the document.
export function webhookViolation(body) {
  const v = validatorAt(WEBHOOK);
  if (v(body)) return null;
  const { pointer, errors } = branchErrors(
    body,
    ['/components/schemas/OutboundCommon'],
    '/components/schemas/WebhookEvent/allOf/1/oneOf',
    v.errors,
  );
  return (
    `OpenAPI: the webhook body ${JSON.stringify(body).slice(0, 200)} is outside ${RELATIVE} ` +
    `(#${pointer}): ${describe(errors)}. If the server is right, update the document.`
  );
}

// Returns null, or a message when a live-event frame does not match the document.
export function liveEventViolation(frame) {
  const v = validatorAt('/components/schemas/LiveEvent');
  if (v(frame)) return null;
  const { pointer, errors } = branchErrors(
    frame,
    ['/components/schemas/LiveEvent/oneOf/1/allOf/0'],
    '/components/schemas/LiveEvent/oneOf/1/allOf/1/oneOf',
    v.errors,
  );
  return (
    `OpenAPI: the live event ${JSON.stringify(frame).slice(0, 200)} is outside ${RELATIVE} ` +
    `(#${pointer}): ${describe(errors)}. If the server is right, update the document.`
  );
}

// Violations seen where no test awaits (webhook receivers, WebSocket frames): reported and made a
// failure of the test file at exit, since node:test fails a file that exits non-zero.
const pending = [];
export function reportViolation(message) {
  if (pending.length < 50) pending.push(message);
  process.stderr.write(`${message}\n`);
}
process.on('exit', () => {
  if (pending.length) {
    process.stderr.write(`${pending.length} OpenAPI violation(s) in webhook bodies or live events (see above)\n`);
    process.exitCode = 1;
  }
});
