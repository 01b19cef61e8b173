// The only module that talks to the server: every call goes to the public API under /api/v1.
// It keeps the tokens, refreshes the access token when the server says it expired (access
// tokens live 15 minutes, an exam may last hours), and turns failures into two kinds of
// error: ApiError (the server answered with an error body) and NetworkError (it did not).
// A 503 `overloaded` (the server refused the request before doing anything: admission
// control, web/serving.py) is sent again after Retry-After with jitter, up to twice, before
// it reaches the caller; retryDelay() is the same back-off for callers that retry themselves.
//
// Tokens are kept in sessionStorage: they go away with the tab, so a shared school computer
// never hands the next person a signed-in session. A student who closes the tab signs in
// again and resumes; unsaved answers survive in localStorage (see savequeue.js).

const BASE = '/api/v1';
const SESSION_KEY = 'exam.session';
const DEFAULT_TIMEOUT_MS = 20000;
const BUSY_RETRIES = 2;
const MAX_RETRY_MS = 30000;

export class ApiError extends Error {
  constructor(status, body, headers) {
    super(body?.message || `The server answered ${status}.`);
    this.name = 'ApiError';
    this.status = status;
    this.code = body?.error || null;
    this.body = body || {};
    this.fieldErrors = body?.errors || null;
    const retryAfter = Number(headers?.get('Retry-After'));
    this.retryAfter = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null;
  }

  /** The server is busy (503 overloaded, or 429): nothing is wrong, try again later. */
  get busy() {
    return (this.status === 503 && this.code === 'overloaded') || this.status === 429;
  }
}

/**
 * How long to wait before try number `failures` + 1: Retry-After (seconds) times a random
 * 1 to 2, so a class refused at once does not come back at once, and never less than the
 * exponential back-off (0.5-1 s, 1-2 s, 2-4 s, ...) so a long overload is asked less and
 * less often; at most 30 s, unless Retry-After itself asks for longer.
 */
export function retryDelay(failures, retryAfterSeconds = null) {
  const ceiling = Math.min(MAX_RETRY_MS, 1000 * 2 ** (Math.max(1, failures) - 1));
  const exponential = ceiling / 2 + Math.random() * (ceiling / 2);
  const asked = (retryAfterSeconds || 0) * 1000;
  return Math.max(asked, Math.min(MAX_RETRY_MS, Math.max(asked * (1 + Math.random()), exponential)));
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

export class NetworkError extends Error {
  constructor(message) {
    super(message);
    this.name = 'NetworkError';
  }
}

let current = readSession();
const signOutListeners = new Set();

function readSession() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY)) || null;
  } catch {
    return null;
  }
}

function writeSession(value) {
  current = value;
  if (value) sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(SESSION_KEY);
}

/** The signed-in user ({id, email, full_name, role}) or null. */
export function currentUser() {
  return current?.user || null;
}

/** Called with a reason when the session ends without the user asking (refresh refused). */
export function onSignedOut(listener) {
  signOutListeners.add(listener);
}

function sessionEnded(reason) {
  if (!current) return;
  writeSession(null);
  for (const listener of signOutListeners) listener(reason);
}

export async function signIn(email, password) {
  const data = await api('POST', '/auth/login', { body: { email, password }, auth: false });
  writeSession({ access: data.access_token, refresh: data.refresh_token, user: data.user });
  return data.user;
}

/** A launch from the school's course site: its one-time code for a token pair (lti.js). */
export async function signInWithLtiCode(code) {
  const data = await api('POST', '/lti/session', { body: { code }, auth: false });
  writeSession({ access: data.access_token, refresh: data.refresh_token, user: data.user });
  return data;
}

export async function register(fullName, email, password) {
  await api('POST', '/auth/register', {
    body: { full_name: fullName, email, password }, auth: false,
  });
  return signIn(email, password);
}

export async function signOut() {
  try {
    await api('POST', '/auth/logout', { body: {} });
  } catch {
    // Signed out locally either way; the tokens expire on their own.
  } finally {
    writeSession(null);
  }
}

let refreshing = null;

/** One refresh at a time: a burst of 401s (saves, polls) shares the same new token. */
function refreshAccessToken() {
  refreshing ||= (async () => {
    const response = await send('POST', '/auth/refresh', { body: {} }, current?.refresh);
    if (!response.ok) {
      sessionEnded('Your session has ended. Sign in again to continue.');
      throw new ApiError(response.status, await readBody(response), response.headers);
    }
    const data = await response.json();
    // Refresh tokens are single use: keep the new one, or the next refresh ends the session.
    writeSession({ ...current, access: data.access_token, refresh: data.refresh_token });
  })().finally(() => { refreshing = null; });
  return refreshing;
}

function url(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, value);
  }
  const qs = params.toString();
  return BASE + path + (qs ? `?${qs}` : '');
}

async function send(method, path, opts, token) {
  const headers = new Headers(opts.headers || {});
  if (!headers.has('Accept')) headers.set('Accept', 'application/json');
  if (token) headers.set('Authorization', `Bearer ${token}`);
  let body;
  if (opts.form) body = opts.form;
  else if (opts.body !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(opts.body);
  }
  const controller = new AbortController();
  // The caller's signal also aborts (a stream's body, after the timeout below is cleared).
  opts.signal?.addEventListener('abort', () => controller.abort());
  const timer = setTimeout(() => controller.abort(), opts.timeout || DEFAULT_TIMEOUT_MS);
  try {
    return await fetch(url(path, opts.query), {
      method, headers, body, signal: controller.signal, cache: 'no-store', credentials: 'omit',
    });
  } catch (err) {
    throw new NetworkError(err.name === 'AbortError' ? 'The server did not answer in time.' : 'The server cannot be reached.');
  } finally {
    clearTimeout(timer);
  }
}

async function readBody(response) {
  if (response.status === 204 || response.status === 304) return null;
  const type = response.headers.get('Content-Type') || '';
  if (!type.includes('json')) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/** Send a request with the access token; on 401 token_expired, refresh once and resend. */
async function authorized(method, path, opts) {
  const useAuth = opts.auth !== false;
  let response = await send(method, path, opts, useAuth ? current?.access : null);
  if (response.status === 401 && useAuth && current) {
    const body = await readBody(response.clone());
    if (body?.error === 'token_expired') {
      await refreshAccessToken();
      response = await send(method, path, opts, current?.access);
    }
    if (response.status === 401) sessionEnded('Your session has ended. Sign in again to continue.');
  }
  return response;
}

/**
 * Call the API. Returns the parsed JSON body (null for 204/304), or with `full: true`
 * {data, status, headers, sentAt, receivedAt} (performance.now() times, for clock sync).
 * Options: body (JSON), form (FormData), query, headers, auth (default true), timeout,
 * busyRetries (how often a 503 `overloaded` is sent again first; default 2, 0 for callers
 * that retry on their own and show it).
 */
export async function api(method, path, opts = {}) {
  const retries = opts.busyRetries ?? BUSY_RETRIES;
  let sentAt;
  let receivedAt;
  let response;
  let data;
  for (let failures = 0; ; failures += 1) {
    sentAt = performance.now();
    response = await authorized(method, path, opts);
    receivedAt = performance.now();
    data = await readBody(response);
    // Refused before the server did anything, so any method is safe to send again.
    if (response.status !== 503 || data?.error !== 'overloaded' || failures >= retries) break;
    if (opts.signal?.aborted) break;
    await sleep(retryDelay(failures + 1, Number(response.headers.get('Retry-After')) || 1));
  }
  if (!response.ok && response.status !== 304) {
    throw new ApiError(response.status, data, response.headers);
  }
  if (!opts.full) return data;
  return { data, status: response.status, headers: response.headers, sentAt, receivedAt };
}

/**
 * Open a streamed GET (server-sent events) with the access token in its Authorization
 * header, which EventSource cannot send; an expired token is refreshed first, as in api().
 * Resolves to the Response, whose body is read as it arrives until `signal` aborts;
 * rejects with ApiError or NetworkError.
 */
export async function openStream(path, { signal } = {}) {
  const response = await authorized('GET', path, { signal, headers: { Accept: 'text/event-stream' } });
  if (!response.ok) throw new ApiError(response.status, await readBody(response), response.headers);
  return response;
}

/** The X-Pagination header of a list response, or null. */
export function pagination(headers) {
  try {
    return JSON.parse(headers.get('X-Pagination'));
  } catch {
    return null;
  }
}

/** Download a file that needs the Authorization header: fetch, blob, object URL, click. */
export async function download(path, fallbackName, query) {
  const response = await authorized('GET', path, { query, timeout: 120000 });
  if (!response.ok) throw new ApiError(response.status, await readBody(response), response.headers);
  const blob = await response.blob();
  const disposition = response.headers.get('Content-Disposition') || '';
  const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] || fallbackName;
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);
  return name;
}

/** Every item of a paginated list, page by page (the API serves at most 100 per page). */
export async function fetchAll(path, query = {}) {
  const items = [];
  for (let page = 1; ; page += 1) {
    const reply = await api('GET', path, { query: { ...query, page, page_size: 100 }, full: true });
    items.push(...reply.data);
    const pages = pagination(reply.headers);
    if (!pages?.next_page || !reply.data.length) return items;
  }
}
