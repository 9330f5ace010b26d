// Server-Sent Events over fetch(): an EventSource cannot send the Authorization header.

export function sseParser(onEvent) {
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

export async function readStream(body, onEvent, controller, idleMs) {
  const reader = body.getReader();
  const decoder = new TextDecoder();  // strips a leading BOM, keeps multi-byte characters whole
  const feed = sseParser(onEvent);
  let idle = setTimeout(() => controller.abort(), idleMs);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(), idleMs);
      feed(decoder.decode(value, { stream: true }));
    }
  } finally {
    clearTimeout(idle);
  }
}
