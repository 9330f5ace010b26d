// What every part of the page shares: the session, text-only DOM helpers, and the API client.
//
// Every value that comes from the API (titles, reasons, ids...) is hostile input: it only ever
// reaches the page as text (textContent, createTextNode), never as markup.

export const $ = (id) => document.getElementById(id);

// Who is signed in. `generation` is bumped whenever what is shown changes owner (sign-out, an
// operator choosing another retailer): late answers of the old one are dropped.
export const session = {
  token: null,
  admin: false,
  retailer: null,  // the retailer an operator looks at (admins must name one)
  generation: 0,
};

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

export function setText(id, text) { $(id).textContent = text; }

export function announce(message) {
  // Replaced, not appended: screen readers read the new text of the polite region.
  setText('announce', message);
}

export function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }
export function jitter(ms) { return Math.round(ms / 2 + Math.random() * ms / 2); }

// ---- API ---------------------------------------------------------------------------------

export class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  headers.set('Authorization', 'Bearer ' + session.token);
  return fetch(path, { ...options, headers, cache: 'no-store', credentials: 'omit' });
}

// A problem+json answer as one line: title, detail and the fields it names.
export async function problemText(res) {
  try {
    const p = await res.json();
    let text = [p.title, p.detail].filter(Boolean).join(': ');
    if (Array.isArray(p.errors)) text += p.errors.map((e) => ` [${e.field}: ${e.message}]`).join('');
    return text || 'HTTP ' + res.status;
  } catch (_) {
    return 'HTTP ' + res.status;
  }
}

export async function apiJson(path, options) {
  const res = await api(path, options);
  if (!res.ok) throw new HttpError(res.status, await problemText(res));
  return res.json();
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  if (session.admin && session.retailer) q.set('retailer', session.retailer);
  const s = q.toString();
  return s ? '?' + s : '';
}

export function adPath(id) { return '/v1/ads/' + encodeURIComponent(id); }
