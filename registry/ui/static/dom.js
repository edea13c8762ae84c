// DOM helpers: every value becomes a text node, never markup.

// h builds an element: h('a', {href: '#/x', class: 'c'}, 'text', child…).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// svg builds an SVG element.
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

export function bytes(n) {
  if (n === undefined || n === null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)) + ' ' + units[i];
}

export function short(d) {
  if (!d) return '';
  const i = d.indexOf(':');
  return d.slice(0, i + 13);
}

export function digestLink(d, label) {
  return h('a', {href: '#/digest/' + d, class: 'digest', title: d}, label || short(d));
}

// names lists an image's repositories and tags: lab/base:1.0, lab/base@…
export function names(repos) {
  const out = [];
  for (const r of repos || []) {
    if (r.tags.length === 0) out.push(r.name + ' (untagged)');
    for (const t of r.tags) out.push(r.name + ':' + t);
  }
  return out;
}

// table: head cells are labels, or [label, class] ('num' aligns right).
export function table(caption, head, rows, attrs) {
  return h('table', attrs || {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, head.map(c => Array.isArray(c) ? h('th', {scope: 'col', class: c[1]}, c[0]) : h('th', {scope: 'col'}, c)))),
    h('tbody', {}, rows));
}

export function setView(...children) {
  const main = document.getElementById('view');
  main.replaceChildren(...children.flat().filter(Boolean));
}

export function message(text, cls) {
  return h('p', {class: cls || 'note', role: cls === 'error' ? 'alert' : null}, text);
}

// plural: "1 tag", "2 tags".
export function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }

// when shows an RFC 3339 time as "2026-11-02 09:00:00 UTC"; "—" when absent
// or zero (reproducible builds set 0001-01-01 or 1970-01-01).
export function when(t) {
  if (!t || t.startsWith('0001-') || t.startsWith('1970-01-01T00:00:00')) return '—';
  return t.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');
}
