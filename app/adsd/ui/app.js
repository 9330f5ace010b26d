// adsd web UI: plain JavaScript, no build step, no external asset.
//
// Every value that comes from the API (titles, reasons, ids...) is hostile input: it only ever
// reaches the page as text (textContent, createTextNode), never as markup. The server's
// Content-Security-Policy allows no inline script or style, so nothing here uses them either.
'use strict';

(() => {
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
  const OPS_MS = 5000;           // operator view refresh
  const STREAM_IDLE_MS = 60000;  // no byte (not even a heartbeat) for this long: reconnect
  const MAX_BACKOFF_MS = 30000;

  const $ = (id) => document.getElementById(id);

  const state = {
    token: null,
    admin: false,
    retailer: null,        // the retailer an operator looks at (admins must name one)
    groups: new Map(),     // status -> {ul, more, empty, count, cursor}
    known: new Map(),      // ad_id -> status, to tell what changed between two looks
    mode: 'offline',       // live | polling | offline
    lastEventId: null,
    streamAbort: null,
    pollTimer: null,
    opsTimer: null,
    refreshing: null,
    refreshAgain: false,
    csvUrl: null,
    generation: 0,         // bumped on sign-out: late answers of an old session are dropped
  };

  // ---- small DOM helpers (text only) -------------------------------------------------------

  function el(tag, attrs, ...children) {
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

  function setText(id, text) { $(id).textContent = text; }

  function announce(message) {
    // Replaced, not appended: screen readers read the new text of the polite region.
    setText('announce', message);
  }

  function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }
  function jitter(ms) { return Math.round(ms / 2 + Math.random() * ms / 2); }

  // ---- API ---------------------------------------------------------------------------------

  class HttpError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  function api(path, options = {}) {
    const headers = new Headers(options.headers || {});
    headers.set('Authorization', 'Bearer ' + state.token);
    return fetch(path, { ...options, headers, cache: 'no-store', credentials: 'omit' });
  }

  // A problem+json answer as one line: title, detail and the fields it names.
  async function problemText(res) {
    try {
      const p = await res.json();
      let text = [p.title, p.detail].filter(Boolean).join(': ');
      if (Array.isArray(p.errors)) text += p.errors.map((e) => ` [${e.field}: ${e.message}]`).join('');
      return text || 'HTTP ' + res.status;
    } catch (_) {
      return 'HTTP ' + res.status;
    }
  }

  async function apiJson(path, options) {
    const res = await api(path, options);
    if (!res.ok) throw new HttpError(res.status, await problemText(res));
    return res.json();
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    if (state.admin && state.retailer) q.set('retailer', state.retailer);
    const s = q.toString();
    return s ? '?' + s : '';
  }

  function adPath(id) { return '/v1/ads/' + encodeURIComponent(id); }

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
    state.token = token;
    setText('signin-error', '');
    let kind;
    try {
      kind = await classify();
    } catch (e) {
      state.token = null;
      setText('signin-error', e instanceof HttpError ? e.message : 'adsd cannot be reached: ' + e.message);
      return;
    }
    if (kind === 'unknown') {
      state.token = null;
      setText('signin-error', 'This token is not known to adsd.');
      $('token').focus();
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    state.admin = kind === 'admin';
    $('signin').hidden = true;
    $('signout').hidden = false;
    $('who').hidden = false;
    $('live').hidden = state.admin;
    setText('who', state.admin ? 'Operator' : 'Retailer');
    document.body.dataset.role = kind;
    if (state.admin) {
      $('operator').hidden = false;
      startOps();
      $('operator-h').focus();
    } else {
      showAds();
    }
  }

  function signOut() {
    state.generation++;
    sessionStorage.removeItem(TOKEN_KEY);
    if (state.streamAbort) state.streamAbort.abort();
    clearTimeout(state.pollTimer);
    clearTimeout(state.opsTimer);
    Object.assign(state, {
      token: null, admin: false, retailer: null, lastEventId: null, streamAbort: null, pollTimer: null, opsTimer: null,
    });
    state.groups.clear();
    state.known.clear();
    setMode('offline');
    for (const id of ['operator', 'ads', 'signout', 'who', 'live']) $(id).hidden = true;
    $('by-status').replaceChildren();
    $('signin').hidden = false;
    delete document.body.dataset.role;
    $('token').value = '';
    $('token').focus();
  }

  // ---- ads by status -----------------------------------------------------------------------

  function showAds() {
    $('ads').hidden = false;
    setText('ads-h', state.admin ? 'Ads of ' + state.retailer : 'Your ads');
    buildGroups();
    $('ads-h').focus();  // where the keyboard and a screen reader go on from the sign-in form
    refreshAll().then(() => {
      if (!state.admin) startLive();
      else setMode('polling');
    });
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
    if (generation !== state.generation || state.groups.get(key) !== g) return [];
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
    const generation = state.generation;
    state.refreshing = (async () => {
      try {
        const pages = await Promise.all(STATUSES.map(({ key }) => loadGroup(key, generation)));
        if (generation !== state.generation) return;
        setText('ads-error', '');
        const changes = [];
        for (const ad of pages.flat()) {
          const before = state.known.get(ad.ad_id);
          if (before !== undefined && before !== ad.status) changes.push(ad);
          state.known.set(ad.ad_id, ad.status);
        }
        if (!state.admin) {
          const retailer = pages.flat().map((a) => a.retailer).find(Boolean);
          if (retailer) setText('who', 'Retailer: ' + retailer);
        }
        for (const ad of changes) markChanged(ad.ad_id);
        if (changes.length) announce(changes.map(describeChange).join('. '));
      } catch (e) {
        if (generation !== state.generation) return;
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
    const generation = state.generation;
    const q = position ? '?min_position=' + encodeURIComponent(position) + '&wait_ms=5000' : '';
    let ad;
    try {
      ad = await apiJson(adPath(adId) + q);
    } catch (e) {
      if (e instanceof HttpError && e.status === 404) return;
      return refreshAll();  // the list is right after a full look, whatever happened here
    }
    if (generation !== state.generation) return;
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
    const generation = state.generation;
    const mode = state.mode;
    state.pollTimer = setTimeout(async () => {
      if (generation !== state.generation || state.mode !== mode) return;
      await refreshAll();
      if (generation === state.generation && state.mode === mode) schedulePoll();
    }, mode === 'live' ? LIVE_REFRESH_MS : POLL_MS);
  }

  // A Server-Sent Events parser (the WHATWG "event stream interpretation"), fed text as it
  // arrives. Lines end in CRLF, LF or CR; a CR at the end of a chunk may be the first half of a
  // CRLF, so it waits for the next chunk. Comment lines (heartbeats) are ignored.
  function sseParser(onEvent) {
    let buffer = '';
    let data = [];
    let type = '';
    let lastId = null;

    function dispatch() {
      if (data.length === 0) { type = ''; return; }
      const event = { type: type || 'message', data: data.join('\n'), id: lastId };
      data = [];
      type = '';
      onEvent(event);
    }

    function line(text) {
      if (text === '') return dispatch();
      if (text[0] === ':') return;  // a comment: heartbeat
      const colon = text.indexOf(':');
      const field = colon === -1 ? text : text.slice(0, colon);
      let value = colon === -1 ? '' : text.slice(colon + 1);
      if (value[0] === ' ') value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'event') type = value;
      else if (field === 'id' && !value.includes('\0')) lastId = value;
      // `retry` is ignored: reconnection uses its own backoff.
    }

    return (chunk) => {
      buffer += chunk;
      let start = 0;
      for (;;) {
        const cr = buffer.indexOf('\r', start);
        const lf = buffer.indexOf('\n', start);
        if (cr === -1 && lf === -1) break;
        let end, next;
        if (cr !== -1 && (lf === -1 || cr < lf)) {
          if (cr === buffer.length - 1) break;  // maybe CRLF split across chunks
          end = cr;
          next = buffer[cr + 1] === '\n' ? cr + 2 : cr + 1;
        } else {
          end = lf;
          next = lf + 1;
        }
        line(buffer.slice(start, end));
        start = next;
      }
      buffer = buffer.slice(start);
    };
  }

  async function readStream(body, onEvent, controller) {
    const reader = body.getReader();
    const decoder = new TextDecoder();  // strips a leading BOM, keeps multi-byte characters whole
    const feed = sseParser(onEvent);
    let idle = setTimeout(() => controller.abort(), STREAM_IDLE_MS);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        clearTimeout(idle);
        idle = setTimeout(() => controller.abort(), STREAM_IDLE_MS);
        feed(decoder.decode(value, { stream: true }));
      }
    } finally {
      clearTimeout(idle);
    }
  }

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
    const generation = state.generation;
    let backoff = 1000;
    while (generation === state.generation) {
      const controller = new AbortController();
      state.streamAbort = controller;
      let res = null;
      try {
        const headers = { Accept: 'text/event-stream' };
        if (state.lastEventId !== null) headers['Last-Event-ID'] = state.lastEventId;
        res = await api('/v1/ads/stream', { headers, signal: controller.signal });
      } catch (_) {
        res = null;  // network error: retry below
      }
      if (generation !== state.generation) return;
      if (res && res.status === 401) return signOut();
      if (res && res.status >= 400 && res.status < 500 && res.status !== 429 && res.status !== 408) {
        setMode('polling');  // no stream on this server: polling for the rest of the session
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
          await readStream(res.body, onStreamEvent, controller);
        } catch (_) {
          // aborted (idle, sign-out) or the connection broke: reconnect below
        }
        if (generation !== state.generation) return;
      } else if (res && res.body) {
        res.body.cancel().catch(() => {});
      }
      setMode('polling');  // until the stream is back
      const retryAfter = res ? Number(res.headers.get('Retry-After')) : NaN;
      await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : jitter(backoff));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  // ---- history -----------------------------------------------------------------------------

  const history = { adId: null, cursor: null, opener: null };

  function hashCell(hash) {
    return el('td', { class: 'hash', text: hash || '' });
  }

  function eventRow(e) {
    return el('tr', { 'data-position': String(e.position) },
      el('td', { class: 'num', text: String(e.position) }),
      el('td', { class: 'num', text: String(e.version) }),
      el('td', { text: e.type }),
      el('td', { text: e.recorded_at }),
      hashCell(e.hash),
      el('td', {}, el('pre', { text: JSON.stringify(e.data, null, 1) })));
  }

  async function loadHistory(append) {
    const generation = state.generation;
    const adId = history.adId;
    setText('history-error', '');
    try {
      const q = append && history.cursor ? '?limit=200&cursor=' + encodeURIComponent(history.cursor) : '?limit=200';
      const page = await apiJson(adPath(adId) + '/events' + q);
      if (generation !== state.generation || adId !== history.adId) return;
      const rows = page.events.map(eventRow);
      const body = $('history-table').tBodies[0];
      if (append) body.append(...rows);
      else body.replaceChildren(...rows);
      history.cursor = page.next_cursor || null;
      $('history-more').hidden = !history.cursor;
    } catch (e) {
      setText('history-error', 'Could not load the history: ' + e.message);
    }
  }

  function openHistory(adId, title, opener) {
    history.adId = adId;
    history.cursor = null;
    history.opener = opener;
    setText('history-h', 'History of "' + title + '"');
    setText('history-ad', 'Ad ' + adId + ': every event in log order, with its position and its link in the log\u2019s SHA-256 hash chain.');
    $('history-table').tBodies[0].replaceChildren();
    $('history-more').hidden = true;
    $('history').showModal();
    $('history-close').focus();
    loadHistory(false);
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

  // ---- operator view -----------------------------------------------------------------------

  function startOps() {
    clearTimeout(state.opsTimer);
    const generation = state.generation;
    const tick = async () => {
      if (generation !== state.generation) return;
      await Promise.allSettled([loadReadiness(), loadLag(), loadParked()]);
      if (generation === state.generation) state.opsTimer = setTimeout(tick, OPS_MS);
    };
    tick();
  }

  async function loadReadiness() {
    const body = $('ready-table').tBodies[0];
    let report, ok;
    try {
      const res = await fetch('/readyz', { cache: 'no-store' });
      ok = res.ok;
      report = await res.json();
    } catch (e) {
      setText('ready-summary', 'Readiness unknown: ' + e.message);
      $('ready-summary').className = 'summary bad';
      return;
    }
    const head = Number(report.log_head);
    setText('ready-summary', ok ? 'Ready' : 'Not ready');
    $('ready-summary').className = 'summary ' + (ok ? 'good' : 'bad');
    const rows = Object.entries(report).map(([key, value]) => {
      const shown = value !== null && typeof value === 'object' ? JSON.stringify(value) : String(value);
      const behind = key.endsWith('_position') && Number.isFinite(head) ? String(head - Number(value)) : '';
      return el('tr', { 'data-key': key }, el('th', { scope: 'row', text: key }), el('td', { text: shown }),
        el('td', { class: 'num', text: behind }));
    });
    body.replaceChildren(...rows);
  }

  // adsd_consumer_position / adsd_consumer_lag_events, by consumer, from the Prometheus text.
  async function loadLag() {
    const res = await fetch('/metrics', { cache: 'no-store' });
    if (!res.ok) return;
    const text = await res.text();
    const consumers = new Map();
    const sample = /^adsd_consumer_(position|lag_events)\{consumer="((?:[^"\\]|\\.)*)"\}\s+(\S+)/;
    for (const l of text.split('\n')) {
      const m = sample.exec(l);
      if (!m) continue;
      const c = consumers.get(m[2]) || {};
      c[m[1]] = m[3];
      consumers.set(m[2], c);
    }
    const rows = [...consumers].map(([name, c]) => el('tr', { 'data-consumer': name },
      el('th', { scope: 'row', text: name }), el('td', { class: 'num', text: c.position || '' }),
      el('td', { class: 'num', text: c.lag_events || '' })));
    $('lag-table').tBodies[0].replaceChildren(...rows);
    $('lag-empty').hidden = rows.length > 0;
    $('lag-table').hidden = rows.length === 0;
  }

  async function loadParked() {
    let parked;
    try {
      parked = (await apiJson('/v1/admin/parked')).parked || [];
    } catch (e) {
      setText('parked-empty', 'Parked streams unavailable here: ' + e.message);
      $('parked-empty').hidden = false;
      $('parked-table').hidden = true;
      return;
    }
    setText('parked-empty', 'No parked stream.');
    $('parked-empty').hidden = parked.length > 0;
    $('parked-table').hidden = parked.length === 0;
    const rows = parked.map((p) => {
      const button = el('button', { type: 'button', 'aria-label': 'Replay ' + p.stream }, 'Replay');
      button.addEventListener('click', () => replay(p.stream, button));
      return el('tr', { 'data-stream': p.stream }, el('td', { class: 'mono', text: p.stream }),
        el('td', { class: 'num', text: String(p.first_position) }), el('td', { class: 'num', text: String(p.events) }),
        el('td', { text: p.error }), el('td', {}, button));
    });
    // Not while the keyboard is on a Replay button: a refresh would take the focus away.
    if (!$('parked-table').contains(document.activeElement)) $('parked-table').tBodies[0].replaceChildren(...rows);
  }

  async function replay(stream, button) {
    button.disabled = true;
    setText('parked-result', 'Replaying ' + stream + '\u2026');
    try {
      const res = await api('/v1/admin/parked/' + encodeURIComponent(stream) + '/replay', { method: 'POST' });
      setText('parked-result', res.ok ? 'Replayed ' + stream + '.' : 'Replay of ' + stream + ' failed: ' + await problemText(res));
    } catch (e) {
      setText('parked-result', 'Replay failed: ' + e.message);
    }
    button.disabled = false;
    $('parked-h').focus();
    loadParked();
  }

  async function rebuild() {
    const button = $('rebuild');
    const result = $('rebuild-result');
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    const began = performance.now();
    const progress = el('span');
    result.replaceChildren(el('span', { class: 'spinner', 'aria-hidden': 'true' }), progress);
    const tick = () => { progress.textContent = 'Rebuilding\u2026 ' + ((performance.now() - began) / 1000).toFixed(0) + ' s'; };
    tick();
    const timer = setInterval(tick, 1000);
    try {
      const res = await api('/v1/admin/rebuild', { method: 'POST' });
      if (!res.ok) throw new HttpError(res.status, await problemText(res));
      const r = await res.json();
      result.replaceChildren(`Rebuilt the ${r.rebuilt} read model: ${r.events} events in ${Number(r.seconds).toFixed(2)} s.`);
      result.dataset.outcome = 'ok';
    } catch (e) {
      result.replaceChildren(el('span', { class: 'error', text: 'Rebuild failed: ' + e.message }));
      result.dataset.outcome = 'failed';
    } finally {
      clearInterval(timer);
      button.disabled = false;
      button.removeAttribute('aria-busy');
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
    $('refresh').addEventListener('click', () => refreshAll());
    $('csv-date').value = new Date().toISOString().slice(0, 10);
    $('csv-form').addEventListener('submit', (e) => {
      e.preventDefault();
      if ($('csv-date').value) downloadCsv($('csv-date').value);
    });
    $('history-close').addEventListener('click', () => $('history').close());
    $('history').addEventListener('close', () => {
      history.adId = null;
      if (history.opener && history.opener.isConnected) history.opener.focus();
    });
    $('history-more').addEventListener('click', () => loadHistory(true));
    $('rebuild').addEventListener('click', rebuild);
    $('as-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const retailer = $('as-retailer').value.trim();
      if (!retailer) return;
      state.generation++;  // answers for the previous retailer are dropped
      clearTimeout(state.pollTimer);
      state.pollTimer = null;
      startOps();
      state.retailer = retailer;
      showAds();
    });
    for (const id of ['operator-h', 'ads-h', 'parked-h']) $(id).tabIndex = -1;
    setMode('offline');
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) signIn(saved);
    else $('token').focus();
  }

  init();
})();
