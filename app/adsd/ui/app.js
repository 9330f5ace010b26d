// adsd web UI: plain JavaScript modules, no build step, no external asset. This one signs in,
// shows a retailer's ads by status and keeps them current (the live stream, else polling), and
// fetches the daily CSV; common.js, sse.js, history.js, webhooks.js and ops.js hold the rest.
//
// Every value that comes from the API is hostile input: it reaches the page only as text. The
// server's Content-Security-Policy allows no inline script or style, so nothing here uses them.
import {
  $, HttpError, adPath, announce, api, apiJson, el, jitter, problemText, query, session, setText, sleep,
} from './common.js';
import { initHistory, openHistory } from './history.js';
import { loadWebhooks } from './webhooks.js';
import { initOps, startOps, stopOps } from './ops.js';
import { initPast } from './past.js';
import { readStream } from './sse.js';

const TOKEN_KEY = 'adsd.token';
// Failed ads first: they are what a retailer has to act on.
const STATUSES = [
  { key: 'rejected', label: 'Failed (rejected)' },
  { key: 'pending', label: 'Pending' },
  { key: 'approved', label: 'Approved' },
  { key: 'withdrawn', label: 'Withdrawn' },
];
const PAGE = 20;
const POLL_MS = 3000;          // list refresh while no live stream is available
const LIVE_REFRESH_MS = 30000; // and while there is one: new ads submitted elsewhere show up
const STREAM_IDLE_MS = 60000;  // no byte (not even a heartbeat) for this long: reconnect
const MAX_BACKOFF_MS = 30000;

const state = {
  groups: new Map(),     // status -> {ul, more, empty, count, cursor}
  known: new Map(),      // ad_id -> status, to tell what changed between two looks
  mode: 'offline',       // live | polling | offline
  lastEventId: null,
  streamAbort: null,
  pollTimer: null,
  refreshing: null,
  refreshAgain: false,
  csvUrl: null,
};

// ---- sign in / out -----------------------------------------------------------------------

// Which kind of token this is: an admin-only route answers 403 to a retailer's token.
async function classify() {
  const res = await api('/v1/admin/parked');
  if (res.status === 401) return 'unknown';
  if (res.status === 403) return 'retailer';
  if (res.ok || res.status === 503) return 'admin';
  // No read model in this process (a write or worker process): ask a route every token reaches.
  const list = await api('/v1/ads?limit=1');
  if (list.status === 401) return 'unknown';
  if (list.ok) return 'retailer';
  if (list.status === 400) return 'admin';  // admins must name a retailer
  throw new HttpError(list.status, await problemText(list));
}

async function signIn(token) {
  session.token = token;
  setText('signin-error', '');
  let kind;
  try {
    kind = await classify();
  } catch (e) {
    session.token = null;
    setText('signin-error', e instanceof HttpError ? e.message : 'adsd cannot be reached: ' + e.message);
    return;
  }
  if (kind === 'unknown') {
    session.token = null;
    setText('signin-error', 'This token is not known to adsd.');
    $('token').focus();
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  session.admin = kind === 'admin';
  $('signin').hidden = true;
  $('signout').hidden = false;
  $('who').hidden = false;
  $('live').hidden = session.admin;
  setText('who', session.admin ? 'Operator' : 'Retailer');
  document.body.dataset.role = kind;
  if (session.admin) {
    $('operator').hidden = false;
    startOps();
    $('operator-h').focus();
  } else {
    showAds();
  }
}

function signOut() {
  session.generation++;
  sessionStorage.removeItem(TOKEN_KEY);
  if (state.streamAbort) state.streamAbort.abort();
  clearTimeout(state.pollTimer);
  stopOps();
  Object.assign(session, { token: null, admin: false, retailer: null });
  Object.assign(state, { lastEventId: null, streamAbort: null, pollTimer: null });
  state.groups.clear();
  state.known.clear();
  setMode('offline');
  for (const id of ['operator', 'ads', 'signout', 'who', 'live', 'webhooks', 'ops-webhooks']) $(id).hidden = true;
  $('by-status').replaceChildren();
  $('signin').hidden = false;
  delete document.body.dataset.role;
  $('token').value = '';
  $('token').focus();
}

// ---- ads by status -----------------------------------------------------------------------

function showAds() {
  $('ads').hidden = false;
  setText('ads-h', session.admin ? 'Ads of ' + session.retailer : 'Your ads');
  buildGroups();
  $('ads-h').focus();  // where the keyboard and a screen reader go on from the sign-in form
  $('live').hidden = false;
  refreshAll().then(() => startLive());  // an operator's stream names the retailer
  loadWebhooks('webhooks');
}

function buildGroups() {
  state.groups.clear();
  state.known.clear();
  const sections = STATUSES.map(({ key, label }) => {
    const headingId = 'group-' + key;
    const count = el('span', { class: 'count' });
    const ul = el('ul', { class: 'ads', 'aria-labelledby': headingId });
    const empty = el('p', { class: 'muted', text: 'None.' });
    const more = el('button', { type: 'button', class: 'secondary more', hidden: '' }, 'Load more ' + key + ' ads');
    more.addEventListener('click', () => loadMore(key));
    state.groups.set(key, { ul, more, empty, count, cursor: null });
    return el('section', { class: 'status-group', 'data-status': key },
      el('h3', { id: headingId }, label, ' ', count), empty, ul, more);
  });
  $('by-status').replaceChildren(...sections);
}

function reasonItem(r) {
  const li = el('li');
  li.append(el('code', { text: r.code || 'rejected' }));
  if (r.field) li.append(' (' + r.field + ')');
  if (r.message) li.append(': ' + r.message);
  return li;
}

function adItem(ad) {
  const li = $('ad-template').content.firstElementChild.cloneNode(true);
  const status = String(ad.status || 'pending');
  const content = ad.ad || {};
  const title = typeof content.title === 'string' && content.title !== '' ? content.title : '(no title)';
  li.classList.add(status);
  li.dataset.adId = ad.ad_id;
  li.dataset.status = status;
  li.querySelector('.ad-title').textContent = title;
  const badge = li.querySelector('.badge');
  badge.textContent = status;
  badge.classList.add(status);
  li.querySelector('.ad-id').textContent = ad.ad_id;
  li.querySelector('.ad-version').textContent = String(ad.version);
  li.querySelector('.ad-updated').textContent = ad.updated_at || ad.created_at || '';
  li.querySelector('.ad-url').textContent = content.landing_url || '';
  const reasons = li.querySelector('.reasons');
  reasons.setAttribute('aria-label', 'Reasons');
  for (const r of Array.isArray(ad.reasons) ? ad.reasons : []) reasons.append(reasonItem(r));
  const button = li.querySelector('.history-button');
  button.setAttribute('aria-label', 'History of ' + title);
  button.addEventListener('click', () => openHistory(ad.ad_id, title, button));
  return li;
}

function updateGroupChrome(key) {
  const g = state.groups.get(key);
  const n = g.ul.children.length;
  g.empty.hidden = n > 0;
  g.count.textContent = '(' + n + (g.cursor ? '+' : '') + ')';
  g.more.hidden = !g.cursor;
}

// Reloads one status group from its first page, as many ads as it shows now (at most 500).
async function loadGroup(key, generation) {
  const g = state.groups.get(key);
  const limit = Math.min(500, Math.max(PAGE, g.ul.children.length));
  const page = await apiJson('/v1/ads' + query({ status: key, limit }));
  if (generation !== session.generation || state.groups.get(key) !== g) return [];
  g.cursor = page.next_cursor || null;
  const focused = document.activeElement;
  const focusedAd = focused && g.ul.contains(focused) ? focused.closest('li').dataset.adId : null;
  g.ul.replaceChildren(...page.items.map(adItem));
  if (focusedAd) {  // keep the keyboard where it was across a refresh
    const again = g.ul.querySelector(`li[data-ad-id="${CSS.escape(focusedAd)}"] .history-button`);
    if (again) again.focus();
  }
  updateGroupChrome(key);
  return page.items;
}

async function loadMore(key) {
  const g = state.groups.get(key);
  if (!g.cursor) return;
  g.more.disabled = true;
  try {
    const page = await apiJson('/v1/ads' + query({ status: key, limit: PAGE, cursor: g.cursor }));
    const items = page.items.map(adItem);
    g.ul.append(...items);
    const first = items[0];
    for (const ad of page.items) state.known.set(ad.ad_id, ad.status);
    g.cursor = page.next_cursor || null;
    updateGroupChrome(key);
    if (first) first.querySelector('.history-button').focus();
  } catch (e) {
    setText('ads-error', e.message);
  } finally {
    g.more.disabled = false;
  }
}

// Reloads every group; says which ads changed status since the last look. One at a time.
function refreshAll() {
  if (state.refreshing) {
    state.refreshAgain = true;
    return state.refreshing;
  }
  const generation = session.generation;
  state.refreshing = (async () => {
    try {
      const pages = await Promise.all(STATUSES.map(({ key }) => loadGroup(key, generation)));
      if (generation !== session.generation) return;
      setText('ads-error', '');
      const changes = [];
      for (const ad of pages.flat()) {
        const before = state.known.get(ad.ad_id);
        if (before !== undefined && before !== ad.status) changes.push(ad);
        state.known.set(ad.ad_id, ad.status);
      }
      if (!session.admin) {
        const retailer = pages.flat().map((a) => a.retailer).find(Boolean);
        if (retailer) setText('who', 'Retailer: ' + retailer);
      }
      for (const ad of changes) markChanged(ad.ad_id);
      if (changes.length) announce(changes.map(describeChange).join('. '));
    } catch (e) {
      if (generation !== session.generation) return;
      if (e instanceof HttpError && e.status === 401) return signOut();
      setText('ads-error', 'Could not load the ads: ' + e.message);
    } finally {
      state.refreshing = null;
    }
    if (state.refreshAgain) {
      state.refreshAgain = false;
      await refreshAll();
    }
  })();
  return state.refreshing;
}

function describeChange(ad) {
  const title = ad.ad && typeof ad.ad.title === 'string' ? ad.ad.title : ad.ad_id;
  return `"${title}" is now ${ad.status}`;
}

function markChanged(adId) {
  const li = document.querySelector(`#by-status li[data-ad-id="${CSS.escape(adId)}"]`);
  if (!li) return;
  li.classList.add('changed');
  setTimeout(() => li.classList.remove('changed'), 4000);
}

// One ad changed (a stream event): read it at least at that position and move it to its group.
async function refreshAd(adId, position) {
  const generation = session.generation;
  const q = position ? '?min_position=' + encodeURIComponent(position) + '&wait_ms=5000' : '';
  let ad;
  try {
    ad = await apiJson(adPath(adId) + q);
  } catch (e) {
    if (e instanceof HttpError && e.status === 404) return;
    return refreshAll();  // the list is right after a full look, whatever happened here
  }
  if (generation !== session.generation) return;
  const old = document.querySelector(`#by-status li[data-ad-id="${CSS.escape(adId)}"]`);
  const hadFocus = old && old.contains(document.activeElement);
  const before = state.known.get(adId);
  if (old) {
    const oldKey = old.dataset.status;
    old.remove();
    if (state.groups.has(oldKey)) updateGroupChrome(oldKey);
  }
  const g = state.groups.get(ad.status);
  if (g) {
    const li = adItem(ad);
    g.ul.prepend(li);
    updateGroupChrome(ad.status);
    if (hadFocus) li.querySelector('.history-button').focus();
  }
  state.known.set(adId, ad.status);
  if (before !== ad.status) {
    markChanged(adId);
    announce(describeChange(ad));
  }
}

// ---- live updates: SSE over fetch, else polling -------------------------------------------

function setMode(mode) {
  const changed = state.mode !== mode;
  state.mode = mode;
  document.body.dataset.live = mode;
  const live = $('live');
  live.classList.toggle('is-live', mode === 'live');
  live.classList.toggle('is-polling', mode === 'polling');
  setText('live-text', mode === 'live' ? 'live' : mode === 'polling' ? 'polling' : 'offline');
  live.title = mode === 'live' ? 'Status changes arrive as they happen'
    : mode === 'polling' ? 'The list is refreshed every few seconds' : '';
  if (mode === 'offline') {
    clearTimeout(state.pollTimer);
    state.pollTimer = null;
  } else if (changed || !state.pollTimer) schedulePoll();  // not again at every reconnect attempt
}

// The next full look: soon while polling, now and then while the stream brings the changes.
function schedulePoll() {
  clearTimeout(state.pollTimer);
  const generation = session.generation;
  const mode = state.mode;
  state.pollTimer = setTimeout(async () => {
    if (generation !== session.generation || state.mode !== mode) return;
    await refreshAll();
    if (generation === session.generation && state.mode === mode) schedulePoll();
  }, mode === 'live' ? LIVE_REFRESH_MS : POLL_MS);
}

// A Server-Sent Events parser (the WHATWG "event stream interpretation"), fed text as it
// arrives. Lines end in CRLF, LF or CR; a CR at the end of a chunk may be the first half of a

function onStreamEvent(event) {
  let change;
  try {
    change = JSON.parse(event.data);
  } catch (_) {
    return;
  }
  if (event.id !== null) state.lastEventId = event.id;
  if (change && typeof change.ad_id === 'string') refreshAd(change.ad_id, change.position);
}

async function startLive() {
  const generation = session.generation;
  let backoff = 1000;
  while (generation === session.generation) {
    const controller = new AbortController();
    state.streamAbort = controller;
    let res = null;
    try {
      const headers = { Accept: 'text/event-stream' };
      if (state.lastEventId !== null) headers['Last-Event-ID'] = state.lastEventId;
      res = await api('/v1/ads/stream' + query({}), { headers, signal: controller.signal });
    } catch (_) {
      res = null;  // network error: retry below
    }
    if (generation !== session.generation) return;
    if (res && res.status === 401) return signOut();
    if (res && res.status === 400 && state.lastEventId !== null) {
      state.lastEventId = null;  // a position the server does not take: start afresh (and look again)
      continue;
    }
    if (res && ((res.status >= 400 && res.status < 500 && res.status !== 429 && res.status !== 408) ||
                res.status === 501)) {
      // No stream here (404: not this version or role; 501: not on this store): poll instead,
      // for the rest of the session.
      setMode('polling');
      return;
    }
    const type = res ? res.headers.get('Content-Type') || '' : '';
    if (res && res.ok && res.body && type.startsWith('text/event-stream')) {
      setMode('live');
      backoff = 1000;
      // What changed while no stream was open (first connection, or a reconnect after a
      // Last-Event-ID the server could no longer resume from) is caught by one full look.
      refreshAll();
      try {
        await readStream(res.body, onStreamEvent, controller, STREAM_IDLE_MS);
      } catch (_) {
        // aborted (idle, sign-out) or the connection broke: reconnect below
      }
      if (generation !== session.generation) return;
    } else if (res && res.body) {
      res.body.cancel().catch(() => {});
    }
    setMode('polling');  // until the stream is back
    const retryAfter = res ? Number(res.headers.get('Retry-After')) : NaN;
    await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : jitter(backoff));
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }
}

// ---- daily CSV ---------------------------------------------------------------------------

async function downloadCsv(date) {
  const result = $('csv-result');
  result.replaceChildren(el('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Preparing\u2026');
  try {
    const res = await api('/v1/reports/daily' + query({ date }));
    if (!res.ok) throw new HttpError(res.status, await problemText(res));
    const blob = await res.blob();
    const disposition = res.headers.get('Content-Disposition') || '';
    const match = /filename="([^"]*)"/.exec(disposition);
    const name = match ? match[1] : 'ads-' + date + '.csv';
    if (state.csvUrl) URL.revokeObjectURL(state.csvUrl);
    state.csvUrl = URL.createObjectURL(blob);
    const rows = Math.max(0, (await blob.text()).split('\r\n').filter((l) => l !== '').length - 1);
    const link = el('a', { id: 'csv-link', href: state.csvUrl, download: name }, 'Save ' + name);
    result.replaceChildren(link, ` (${blob.size} bytes, ${rows} line${rows === 1 ? '' : 's'})`);
    link.click();
  } catch (e) {
    result.replaceChildren(el('span', { class: 'error', text: 'The report could not be made: ' + e.message }));
  }
}

// ---- wiring ------------------------------------------------------------------------------

function init() {
  $('signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const token = $('token').value.trim();
    if (!token) {
      setText('signin-error', 'Enter your API token.');
      $('token').focus();
      return;
    }
    signIn(token);
  });
  $('signout').addEventListener('click', signOut);
  $('refresh').addEventListener('click', () => {
    refreshAll();
    loadWebhooks('webhooks');
  });
  $('csv-date').value = new Date().toISOString().slice(0, 10);
  $('csv-form').addEventListener('submit', (e) => {
    e.preventDefault();
    if ($('csv-date').value) downloadCsv($('csv-date').value);
  });
  initHistory();
  initOps();
  initPast();
  $('as-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const retailer = $('as-retailer').value.trim();
    if (!retailer) return;
    session.generation++;  // answers for the previous retailer are dropped
    if (state.streamAbort) state.streamAbort.abort();
    state.lastEventId = null;
    clearTimeout(state.pollTimer);
    state.pollTimer = null;
    startOps();
    session.retailer = retailer;
    showAds();
  });
  for (const id of ['operator-h', 'ads-h', 'parked-h']) $(id).tabIndex = -1;
  setMode('offline');
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved);
  else $('token').focus();
}


init();
