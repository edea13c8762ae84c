// Storage: what the disk holds and what deduplication saves. Live: the
// registry's requests as they happen.
import * as api from './api.js';
import {h, svg, bytes, short, table, setView, message} from './dom.js';

function bars(title, items) {
  const max = Math.max(1, ...items.map(i => i.value));
  const rowH = 26, labelW = 220, barW = 420;
  const s = svg('svg', {viewBox: `0 0 ${labelW + barW + 110} ${items.length * rowH + 4}`, role: 'img', 'aria-label': title, class: 'bars'});
  items.forEach((it, i) => {
    const y = i * rowH + 2;
    s.append(
      svg('text', {x: labelW - 8, y: y + 17, 'text-anchor': 'end'}, it.label),
      svg('rect', {x: labelW, y, width: Math.max(1, barW * it.value / max), height: rowH - 6, class: it.cls || 'bar'}),
      svg('text', {x: labelW + barW * it.value / max + 6, y: y + 17}, bytes(it.value)));
  });
  return h('figure', {}, h('figcaption', {}, title), s);
}

export async function storageView() {
  const [du, largest] = await Promise.all([api.getJSON('/api/storage'), api.getJSON('/api/blobs/largest?n=10')]);
  const parts = [h('h1', {}, 'Storage')];
  if (du.restricted) {
    parts.push(message(du.restricted));
  } else {
    parts.push(bars('The store', [
      {label: 'logical (sum over repositories)', value: du.logical_bytes, cls: 'bar logical'},
      {label: 'physical (on disk)', value: du.physical_bytes, cls: 'bar physical'},
      {label: 'saved by deduplication', value: du.dedup_saved_bytes, cls: 'bar saved'},
      {label: 'gc would free', value: du.unreferenced_bytes, cls: 'bar free'},
    ]), h('p', {class: 'note'}, du.blobs + ' blobs on disk, ' + (du.shared_blobs || 0) + ' shared by two repositories or more. ' +
      'What gc would free: blobs no manifest references (run "registry gc --dry-run" to see them).'));
  }
  parts.push(bars('Per repository: everything it references, and what only it holds', du.repositories.flatMap(r => [
    {label: r.name, value: r.logical_bytes, cls: 'bar logical'},
    r.exclusive_bytes === undefined ? null : {label: r.name + ' (only here)', value: r.exclusive_bytes, cls: 'bar physical'},
  ].filter(Boolean))));
  parts.push(table('Largest blobs', ['Blob', ['Size', 'num'], 'Linked in'], largest.blobs.map(b => h('tr', {},
    h('td', {}, h('a', {href: '#/digest/' + b.digest, class: 'digest'}, short(b.digest))),
    h('td', {class: 'num'}, bytes(b.size)), h('td', {}, b.repositories.join(', '))))));
  setView(parts);
}

let stream = null; // the live view's reader, stopped on leaving the view

export function stopLive() {
  if (stream) { stream.abort(); stream = null; }
}

export async function liveView() {
  const own = h('input', {id: 'live-own', type: 'checkbox', checked: true});
  const list = h('ol', {class: 'live', id: 'live-list', 'aria-label': 'requests, newest first'});
  const state = h('p', {class: 'note', role: 'status'}, 'Connecting…');
  setView(h('h1', {}, 'Live'),
    h('p', {}, 'Push an image in a terminal and watch its requests arrive, each with what the registry did in plain words.'),
    h('p', {}, own, h('label', {for: 'live-own'}, ' hide the explorer\'s own /api requests')), state, list);
  const ctrl = new AbortController();
  stream = ctrl;
  const resp = await api.call('/api/events', {signal: ctrl.signal});
  state.textContent = 'Connected: waiting for requests.';
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  const events = new Map(); // request id → its learner events, until the request ends
  (async () => {
    try {
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const kind = (/^event: (.*)$/m.exec(block) || [])[1];
          const data = (/^data: (.*)$/m.exec(block) || [])[1];
          if (!kind || !data) continue;
          if (kind === 'dropped') { state.textContent = data + ' items dropped: the view read too slowly.'; continue; }
          const it = JSON.parse(data);
          if (kind === 'event') {
            if (!events.has(it.request_id)) events.set(it.request_id, []);
            events.get(it.request_id).push(it);
            if (events.size > 1000) events.clear();
            continue;
          }
          const evs = events.get(it.request_id) || [];
          events.delete(it.request_id);
          if (own.checked && it.path.startsWith('/api/')) continue;
          list.prepend(h('li', {class: 'req s' + Math.floor(it.status / 100)},
            h('span', {class: 'time'}, it.time.slice(11, 23)), ' ',
            h('span', {class: 'method'}, it.method), ' ',
            h('span', {class: 'path'}, it.path), ' ',
            h('span', {class: 'status'}, it.status), ' ',
            h('span', {class: 'note'}, it.route || '', it.error_code ? ' ' + it.error_code : '', ' ', it.duration_ms.toFixed(1), ' ms'),
            evs.length ? h('ul', {}, evs.map(e => h('li', {class: 'event'}, e.message))) : null));
          while (list.children.length > 500) list.lastChild.remove();
        }
      }
    } catch (e) {
      if (!ctrl.signal.aborted) state.textContent = 'Disconnected: ' + e.message;
    }
  })();
}
