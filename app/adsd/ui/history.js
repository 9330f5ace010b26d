// An ad's history: its events in log order, with positions and hash-chain links, in a dialog.
import { $, apiJson, adPath, el, session, setText } from './common.js';

const current = { adId: null, cursor: null, opener: null };

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
  const generation = session.generation;
  const adId = current.adId;
  setText('history-error', '');
  try {
    const q = append && current.cursor ? '?limit=200&cursor=' + encodeURIComponent(current.cursor) : '?limit=200';
    const page = await apiJson(adPath(adId) + '/events' + q);
    if (generation !== session.generation || adId !== current.adId) return;
    const rows = page.events.map(eventRow);
    const body = $('history-table').tBodies[0];
    if (append) body.append(...rows);
    else body.replaceChildren(...rows);
    current.cursor = page.next_cursor || null;
    $('history-more').hidden = !current.cursor;
  } catch (e) {
    setText('history-error', 'Could not load the history: ' + e.message);
  }
}

export function openHistory(adId, title, opener) {
  current.adId = adId;
  current.cursor = null;
  current.opener = opener;
  setText('history-h', 'History of "' + title + '"');
  setText('history-ad', 'Ad ' + adId + ': every event in log order, with its position and its link in the log\u2019s SHA-256 hash chain.');
  $('history-table').tBodies[0].replaceChildren();
  $('history-more').hidden = true;
  $('history').showModal();
  $('history-close').focus();
  loadHistory(false);
}

export function initHistory() {
  $('history-close').addEventListener('click', () => $('history').close());
  $('history').addEventListener('close', () => {
    // Back to the button that opened it, or to the same ad's button if a refresh redrew the list.
    let opener = current.opener;
    if (opener && !opener.isConnected && current.adId) {
      opener = document.querySelector(`#by-status li[data-ad-id="${CSS.escape(current.adId)}"] .history-button`);
    }
    current.adId = null;
    if (opener && opener.isConnected) opener.focus();
  });
  $('history-more').addEventListener('click', () => loadHistory(true));
}
