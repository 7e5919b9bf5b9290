// Shared support of the browser tests of the manager and agent pages: a real `parley serve`
// (the black-box harness's Server), the pages in Debian's chromium driven by playwright-core,
// users made through the API with the admin token, customers driven through POST /messages
// signed with the connection's secret, and screenshots into docs/screenshots/.
//
// Where the pages come from: when `parley serve` itself serves /manager (the pages compiled
// into the binary), the browser talks to it directly. Otherwise a small Node server here
// serves web/ with the same headers (strict CSP, nosniff) and passes /api (WebSocket
// included) and everything else through to parley, rewriting Host and Origin to parley's own.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { REPO, Receiver, Server, sign, textEvent, uid, waitFor } from '../integration/harness.mjs';

export { REPO, Receiver, Server, sign, textEvent, uid, waitFor };

export const WEB = path.join(REPO, 'web');
export const SHOTS = path.join(REPO, 'docs/screenshots');
export const CHROMIUM = process.env.PARLEY_CHROMIUM || '/usr/bin/chromium';

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};
const PAGE_ROUTES = { '/manager': 'manager/index.html', '/agent': 'agent/index.html', '/chat': 'chat/index.html' };
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// Resolves a request path to a file under web/, or null.
function staticFile(pathname) {
  const clean = pathname.replace(/\/+$/, '') || '/';
  const rel = PAGE_ROUTES[clean] ?? clean.replace(/^\/+/, '');
  if (!/^(manager|agent|chat|lib)\//.test(rel)) return null;
  const file = path.resolve(WEB, rel);
  if (!file.startsWith(WEB + path.sep)) return null;
  return fs.existsSync(file) && fs.statSync(file).isFile() ? file : null;
}

// The dev server in front of parley. Resolves {url, close}.
// parley's address is read at each request, so a restarted server (a new port) is followed.
export async function startWebServer(server) {
  const sockets = new Set();
  const web = http.createServer((req, res) => {
    const target = new URL(server.url);
    const url = new URL(req.url, 'http://x');
    const file = req.method === 'GET' || req.method === 'HEAD' ? staticFile(url.pathname) : null;
    if (file) {
      const body = fs.readFileSync(file);
      res.writeHead(200, {
        'Content-Type': CONTENT_TYPES[path.extname(file)] || 'application/octet-stream',
        'Content-Length': body.length,
        'Cache-Control': 'no-cache',
        'Content-Security-Policy': CSP,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const headers = { ...req.headers, host: target.host };
    if (headers.origin) headers.origin = target.origin;
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
      (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"bad_gateway","message":"parley is not reachable."}}');
    });
    req.pipe(up);
  });
  web.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // WebSocket: replay the upgrade request to parley (Host and Origin rewritten), then splice.
  web.on('upgrade', (req, socket, head) => {
    const target = new URL(server.url);
    const up = net.connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i];
        let value = req.rawHeaders[i + 1];
        if (/^host$/i.test(name)) value = target.host;
        if (/^origin$/i.test(name)) value = target.origin;
        lines.push(`${name}: ${value}`);
      }
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head?.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    sockets.add(up);
    up.on('close', () => {
      sockets.delete(up);
      socket.destroy();
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
    socket.on('close', () => up.destroy());
  });
  await new Promise((resolve) => web.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${web.address().port}`;
  return {
    url,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        web.close(() => resolve());
      }),
  };
}

// Whether parley serves the pages itself.
export async function parleyServesPages(server) {
  try {
    const r = await fetch(`${server.url}/manager`, { signal: AbortSignal.timeout(5000) });
    return r.status === 200 && /text\/html/.test(r.headers.get('content-type') || '');
  } catch {
    return false;
  }
}

export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/install-deps (Debian package chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

// A started stack: parley, the page origin, a browser. close() removes everything.
// proxy: always put the dev server in front (a test that restarts parley, which then listens
// on another port, keeps one page origin that way).
export async function startStack({ serverArgs = [], env = {}, proxy = false } = {}) {
  const server = await Server.start({ args: serverArgs, env });
  let web = null;
  let browser = null;
  try {
    const own = !proxy && (await parleyServesPages(server));
    if (!own) web = await startWebServer(server);
    browser = await launchBrowser();
    return {
      server,
      browser,
      pagesFromParley: own,
      origin: () => (own ? server.url : web.url),
      async close() {
        await browser?.close().catch(() => {});
        await web?.close();
        try {
          await server.stop();
        } finally {
          await server.cleanup();
        }
      },
    };
  } catch (e) {
    await browser?.close().catch(() => {});
    await web?.close();
    await server.cleanup();
    throw e;
  }
}

// A browser page that records script errors and CSP violations (as `errors`).
export async function newPage(stack, { width = 1280, height = 860 } = {}) {
  const context = await stack.browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) page.errors.push(`console: ${m.text()}`);
  });
  page.setDefaultTimeout(10000);
  return page;
}

// Creates a user with the admin token; password is generated unless given.
export async function createUser(server, { username, role = 'agent', queues = [], max_chats = 3, display_name, password } = {}) {
  const user = {
    username: username || `u${uid().slice(0, 8)}`,
    password: password || `pw-${uid()}`,
    display_name: display_name || username || 'Test User',
    role,
    queues,
    max_chats,
  };
  const r = await server.admin('POST', '/api/v1/users', user);
  if (r.status !== 201 && r.status !== 200) throw new Error(`create user: ${r.status} ${r.text}`);
  return user;
}

export async function createQueue(server, { name, display_name, ...rest }) {
  const body = { display_name: display_name || name, ...rest };
  let r = await server.admin('POST', '/api/v1/queues', { name, ...body });
  // A queue a loaded bot names may exist already: then it gets these settings.
  if (r.status === 409 && r.json?.error?.code === 'queue_exists') r = await server.admin('PATCH', `/api/v1/queues/${name}`, body);
  if (r.status !== 201 && r.status !== 200) throw new Error(`create queue: ${r.status} ${r.text}`);
  return r.json;
}

export async function signIn(page, origin, pathName, user) {
  await page.goto(`${origin}${pathName}`);
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

// Screenshots of the page as it is now at 1280 and 360 px wide, into docs/screenshots/.
// At each width it also checks what a person needs there: the page does not scroll sideways
// (wide tables scroll inside their own box), and every visible control has a label.
export async function screenshots(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const before = page.viewportSize();
  for (const width of [1280, 360]) {
    await page.setViewportSize({ width, height: width === 360 ? 760 : 860 });
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    await page.screenshot({ path: path.join(SHOTS, `${name}-${width}.png`), fullPage: width === 360 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (overflow > 0) throw new Error(`${name} at ${width} px: the page scrolls sideways by ${overflow} px`);
    const unlabelled = await unlabelledControls(page);
    if (unlabelled.length) throw new Error(`${name} at ${width} px: controls without a label: ${unlabelled.join(', ')}`);
  }
  await page.setViewportSize(before);
}

// Visible inputs, selects, textareas and buttons that have no accessible name.
export function unlabelledControls(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea, button')]
      .filter((c) => c.offsetParent !== null || c.closest('dialog[open]'))
      .filter((c) => {
        if (c.getAttribute('aria-label') || c.getAttribute('aria-labelledby')) return false;
        if (c.tagName === 'BUTTON') return !c.textContent.trim();
        return !(c.labels && c.labels.length);
      })
      .map((c) => c.outerHTML.slice(0, 80)),
  );
}

