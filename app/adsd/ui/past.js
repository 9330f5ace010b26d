// The operator's look into the past: an ad as it stood at a moment (GET /v1/ads/{id}?as_of=),
// rebuilt by the server from the ad's own events.

import { $, el, api, HttpError, problemText } from './common.js';

async function lookUp(event) {
  event.preventDefault();
  const result = $('past-result');
  const id = $('past-id').value.trim();
  const at = $('past-at').value.trim();
  result.replaceChildren(el('span', { class: 'spinner', 'aria-hidden': 'true' }), el('span', { text: 'Looking up\u2026' }));
  try {
    const res = await api(`/v1/ads/${encodeURIComponent(id)}?as_of=${encodeURIComponent(at)}`);
    if (res.status === 404) {
      result.replaceChildren(`No ad ${id} existed at ${at}.`);
      result.dataset.outcome = 'absent';
      return;
    }
    if (!res.ok) throw new HttpError(res.status, await problemText(res));
    const ad = await res.json();
    const reasons = (ad.reasons || []).map((r) => r.code).join(', ');
    result.replaceChildren(
      el('strong', { text: ad.status }),
      ` at ${at}: version ${ad.version}, \u201c${ad.ad && ad.ad.title}\u201d` +
        (reasons ? ` (${reasons})` : '') + `, updated ${ad.updated_at}.`);
    result.dataset.outcome = ad.status;
  } catch (e) {
    result.replaceChildren(el('span', { class: 'error', text: 'Lookup failed: ' + e.message }));
    result.dataset.outcome = 'failed';
  }
}

export function initPast() {
  $('past-form').addEventListener('submit', lookUp);
}
