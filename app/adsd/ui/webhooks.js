// Webhook deliveries that failed or were parked, with a retry each: a retailer's own endpoints,
// or for an operator every retailer's. Where the server has no webhooks (404) or not on its store
// (501), the panel stays hidden.
import { $, HttpError, api, apiJson, el, problemText, session } from './common.js';

const LIMIT = 100;

// `panelId`: a section holding a `.wh-body` and a `.wh-result` (index.html).
export async function loadWebhooks(panelId) {
  const panel = $(panelId);
  const generation = session.generation;
  let res;
  try {
    res = await api('/v1/webhooks' + (session.admin && session.retailer && panelId === 'webhooks'
      ? '?retailer=' + encodeURIComponent(session.retailer) : ''));
  } catch (_) {
    return;
  }
  if (generation !== session.generation) return;
  if (!res.ok) {
    panel.hidden = true;
    return;
  }
  const endpoints = (await res.json()).webhooks || [];
  const blocks = await Promise.all(endpoints.map((ep) => endpointBlock(ep, panelId)));
  if (generation !== session.generation) return;
  const body = panel.querySelector('.wh-body');
  if (endpoints.length === 0) body.replaceChildren(el('p', { class: 'muted', text: 'No webhook endpoint.' }));
  else if (!body.contains(document.activeElement)) body.replaceChildren(...blocks);  // not under the keyboard
  panel.hidden = false;
}

async function deliveries(ep, state) {
  const path = '/v1/webhooks/' + encodeURIComponent(ep.id) + '/deliveries?status=' + state + '&limit=' + LIMIT;
  try {
    return (await apiJson(path)).deliveries || [];
  } catch (_) {
    return [];
  }
}

async function endpointBlock(ep, panelId) {
  // Parked first: they wait for someone; then those still being retried.
  const [parked, failing] = await Promise.all([deliveries(ep, 'parked'), deliveries(ep, 'failed')]);
  const rows = [...parked, ...failing].map((d) => deliveryRow(ep, d, panelId));
  const heading = el('h4', { class: 'wh-url' }, ep.url);
  const meta = el('p', { class: 'muted' },
    (session.admin ? 'Retailer ' + ep.retailer + ' \u00b7 ' : '') + 'events: ' + (ep.events || []).join(', ') + ' \u00b7 ' + ep.id);
  if (rows.length === 0) {
    return el('div', { class: 'wh-endpoint', 'data-endpoint': ep.id }, heading, meta,
      el('p', { class: 'muted', text: 'No failed delivery.' }));
  }
  const table = el('table', {},
    el('caption', { class: 'sr-only', text: 'Failed and parked deliveries to ' + ep.url }),
    el('thead', {}, el('tr', {}, ...['Delivery', 'Event', 'Ad', 'State', 'Attempts', 'Last answer']
      .map((h) => el('th', { scope: 'col', text: h })), el('th', { scope: 'col' }, el('span', { class: 'sr-only', text: 'Action' })))),
    el('tbody', {}, ...rows));
  return el('div', { class: 'wh-endpoint', 'data-endpoint': ep.id }, heading, meta, table);
}

function deliveryRow(ep, d, panelId) {
  const button = el('button', { type: 'button', 'aria-label': 'Retry delivery ' + d.id }, 'Retry');
  button.addEventListener('click', () => retry(ep, d, button, panelId));
  return el('tr', { 'data-delivery': d.id, 'data-state': d.state },
    el('td', { class: 'mono', text: d.id }),
    el('td', { text: d.type || '' }),
    el('td', { class: 'mono', text: d.ad_id || '' }),
    el('td', { text: d.state || '' }),
    el('td', { class: 'num', text: String(d.attempts ?? '') }),
    el('td', { text: [d.last_status, d.last_error].filter((x) => x !== undefined && x !== null && x !== '').join(' \u00b7 ') }),
    el('td', {}, button));
}

async function retry(ep, d, button, panelId) {
  const result = $(panelId).querySelector('.wh-result');
  button.disabled = true;
  try {
    const res = await api('/v1/webhooks/' + encodeURIComponent(ep.id) + '/deliveries/' + encodeURIComponent(d.id) + '/retry',
      { method: 'POST' });
    if (!res.ok) throw new HttpError(res.status, await problemText(res));
    result.textContent = 'Delivery ' + d.id + ' is due again.';
  } catch (e) {
    result.textContent = 'Retry of ' + d.id + ' failed: ' + e.message;
  }
  button.disabled = false;
  $(panelId).querySelector('h3').focus();
  loadWebhooks(panelId);
}
