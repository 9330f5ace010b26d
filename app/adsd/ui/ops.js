// The operator's view: readiness and positions, consumer lag, parked streams with replay, failed
// webhook deliveries with retry (webhooks.js), rebuild, the log's verification.
import { $, HttpError, api, apiJson, el, problemText, session, setText } from './common.js';
import { loadWebhooks } from './webhooks.js';

const OPS_MS = 5000;  // refresh
let timer = null;

export function startOps() {
  clearTimeout(timer);
  const generation = session.generation;
  let ticks = 0;
  const tick = async () => {
    if (generation !== session.generation) return;
    // Webhook deliveries of every retailer cost a request per endpoint: every 6th tick.
    const webhooks = ticks++ % 6 === 0 ? [loadWebhooks('ops-webhooks')] : [];
    await Promise.allSettled([loadReadiness(), loadLag(), loadParked(), ...webhooks]);
    if (generation === session.generation) timer = setTimeout(tick, OPS_MS);
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

async function verify() {
  const button = $('verify');
  const result = $('verify-result');
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  result.replaceChildren(el('span', { class: 'spinner', 'aria-hidden': 'true' }), el('span', { text: 'Verifying\u2026' }));
  try {
    const res = await api('/v1/admin/verify');
    if (!res.ok) throw new HttpError(res.status, await problemText(res));
    const r = await res.json();
    if (r.intact) {
      result.replaceChildren(`Intact: ${r.records} records, head hash ${r.head_hash} (${Number(r.seconds).toFixed(2)} s).`);
      result.dataset.outcome = 'intact';
    } else {
      const where = r.problem.segment ? ` (${r.problem.segment} offset ${r.problem.offset})` : '';
      result.replaceChildren(el('span', {
        class: 'error',
        text: `Damaged at position ${r.problem.position}${where}: ${r.problem.reason}. ${r.records} records verified before it.`,
      }));
      result.dataset.outcome = 'damaged';
    }
  } catch (e) {
    result.replaceChildren(el('span', { class: 'error', text: 'Verification failed: ' + e.message }));
    result.dataset.outcome = 'failed';
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

export function stopOps() {
  clearTimeout(timer);
  timer = null;
}

export function initOps() {
  $('rebuild').addEventListener('click', rebuild);
  $('verify').addEventListener('click', verify);
}
