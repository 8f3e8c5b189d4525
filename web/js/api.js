// The JSON API from the browser: one fetch wrapper that sends JSON, adds the CSRF token to
// every change once a staff session has one, and turns error answers ({"error","message"})
// into thrown ApiError values the pages show through the catalogue.
import { t } from './i18n.js';

let csrf = null;
export function setCsrf(token) { csrf = token; }

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

export async function api(path, { method = 'GET', body, query } = {}) {
  let url = path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const s = q.toString();
    if (s) url += '?' + s;
  }
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', t('err.network'));
  }
  let data = null;
  const text = await res.text();
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!res.ok) throw new ApiError(res.status, data?.error ?? 'HTTP', data?.message ?? res.statusText);
  return data;
}

// The message to show a person for an error.
export function errorText(e) {
  if (e instanceof ApiError) {
    if (e.code === 'NETWORK') return t('err.network');
    if (e.code === 'RATELIMIT') return t('err.ratelimit');
    return t('err.server', { message: e.message });
  }
  return t('err.server', { message: String(e) });
}
