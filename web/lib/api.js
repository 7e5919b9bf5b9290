// Parley's REST API from a page: same-origin fetch with the session cookie, the CSRF header on
// every request, JSON in and out, and one way of showing an error.
//
// The session token lives only in the HttpOnly cookie; the CSRF value only in this module's
// memory (a reload gets it again from GET /api/v1/auth/me).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const session = { csrf: null, onUnauthorized: null };

// fn() is called whenever a request answers 401: the page shows its sign-in form.
export function onUnauthorized(fn) {
  session.onUnauthorized = fn;
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (session.csrf) headers['X-Parley-CSRF'] = session.csrf;
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network_error', 'Parley cannot be reached; check the connection and try again.');
  }
  const text = await response.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!response.ok) {
    const code = json?.error?.code || `http_${response.status}`;
    let message = json?.error?.message || `The server answered ${response.status}.`;
    if (response.status === 429) {
      const after = response.headers.get('Retry-After');
      if (after) message = `${message} Try again in ${after} s.`;
    }
    const err = new ApiError(response.status, code, message);
    if (response.status === 401 && !path.startsWith('/api/v1/auth/login') && session.onUnauthorized) {
      session.csrf = null;
      session.onUnauthorized(err);
    }
    throw err;
  }
  return json;
}

export const get = (path) => api('GET', path);

// A GET whose answer is not JSON (a CSV report): the text, with the same credentials, CSRF header
// and errors as api().
export async function getText(path) {
  const headers = { Accept: 'text/csv, application/json' };
  if (session.csrf) headers['X-Parley-CSRF'] = session.csrf;
  let response;
  try {
    response = await fetch(path, { method: 'GET', headers, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'network_error', 'Parley cannot be reached; check the connection and try again.');
  }
  const text = await response.text();
  if (response.ok) return text;
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  const err = new ApiError(response.status, json?.error?.code || `http_${response.status}`, json?.error?.message || `The server answered ${response.status}.`);
  if (response.status === 401 && session.onUnauthorized) {
    session.csrf = null;
    session.onUnauthorized(err);
  }
  throw err;
}
export const post = (path, body) => api('POST', path, body ?? {});
export const patch = (path, body) => api('PATCH', path, body);
export const put = (path, body) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);

// Signs in; resolves with the user. The cookie is set by the answer.
export async function login(username, password) {
  const r = await api('POST', '/api/v1/auth/login', { username, password });
  session.csrf = r.csrf;
  return r.user;
}

// The signed-in user after a reload, or null when there is no session.
export async function currentUser() {
  try {
    const r = await api('GET', '/api/v1/auth/me');
    session.csrf = r.csrf;
    return r.user;
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}

export async function logout() {
  try {
    await api('POST', '/api/v1/auth/logout', {});
  } finally {
    session.csrf = null;
  }
}

// Path segment escaping for IDs and names taken from data.
export const seg = (s) => encodeURIComponent(String(s));

// The one way errors are shown: a dismissable alert in the page's #error region.
export function showError(err, context) {
  const region = document.getElementById('error');
  const message = err instanceof ApiError || err instanceof Error ? err.message : String(err);
  const text = context ? `${context}: ${message}` : message;
  if (!region) return;
  region.replaceChildren();
  const p = document.createElement('p');
  p.textContent = text;
  const dismiss = document.createElement('button');
  dismiss.type = 'button';
  dismiss.textContent = 'Dismiss';
  dismiss.addEventListener('click', () => clearError());
  region.append(p, dismiss);
  region.hidden = false;
}

export function clearError() {
  const region = document.getElementById('error');
  if (!region) return;
  region.replaceChildren();
  region.hidden = true;
}
