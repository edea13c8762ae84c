// One image: its layers as a stack, manifest and config as JSON, its
// referrers; a blob and what is inside a layer.
import * as api from './api.js';
import {h, bytes, short, digestLink, names, table, setView, message, plural, when} from './dom.js';

export async function imageView(d) {
  const img = await api.getJSON('/api/images/' + d);
  const repo = img.repositories[0] && img.repositories[0].name;
  const uses = await Promise.all(img.layers.slice(0, 64).map(l =>
    api.getJSON('/api/blobs/' + l.digest + '/images').catch(() => ({images: []}))));
  const stack = h('ol', {class: 'stack', 'aria-label': 'layers, base first', reversed: false});
  img.layers.forEach((l, i) => {
    const also = [];
    for (const u of (uses[i] || {images: []}).images) {
      if (u.digest === img.digest) continue;
      for (const n of names(u.repositories)) also.push(h('a', {href: '#/image/' + u.digest}, n));
    }
    const files = h('div', {class: 'files'});
    const btn = h('button', {type: 'button', 'aria-expanded': 'false', 'aria-label': 'list the files of layer ' + (i + 1)}, 'Files');
    btn.addEventListener('click', () => toggleFiles(btn, files, l.digest));
    stack.appendChild(h('li', {class: 'layer' + (also.length ? ' shared' : ''), 'data-digest': l.digest},
      h('div', {class: 'layer-head'},
        h('span', {class: 'pos'}, '#' + (i + 1)),
        digestLink(l.digest),
        h('span', {class: 'num'}, bytes(l.size)),
        h('span', {class: 'mt'}, l.media_type),
        btn),
      h('code', {class: 'step'}, l.created_by || '(no history)'),
      also.length ? h('p', {class: 'also'}, 'also in: ', also.flatMap((a, j) => j ? [', ', a] : [a])) : null,
      files));
  });
  const parts = [
    h('p', {class: 'crumbs'}, h('a', {href: '#/'}, 'Repositories'), repo ? [' / ', h('a', {href: '#/repo/' + api.enc(repo)}, repo)] : null, ' / ', short(img.digest)),
    h('h1', {}, names(img.repositories).join(', ') || short(img.digest)),
    h('dl', {class: 'facts'},
      h('dt', {}, 'Digest'), h('dd', {}, h('code', {}, img.digest)),
      h('dt', {}, 'Media type'), h('dd', {}, img.media_type),
      h('dt', {}, 'Platform'), h('dd', {}, img.platform || '—'),
      h('dt', {}, 'Created'), h('dd', {}, when(img.created)),
      h('dt', {}, 'Size'), h('dd', {}, bytes(img.size) + ' in ' + plural(img.layers.length, 'layer'))),
    h('p', {}, h('a', {href: '#/compare/' + img.digest, class: 'button'}, 'Compare with…'), ' ',
      h('a', {href: '#/family', class: 'button'}, 'Family')),
    h('h2', {}, 'Layers (base first)'), stack,
  ];
  setView(parts);
  if (!repo) return;
  const main = document.getElementById('view');
  try {
    const man = await api.manifest(api.enc(repo), img.digest);
    main.append(h('h2', {}, 'Manifest'), jsonTree(man));
    if (man.config) {
      const cfg = await api.getJSON('/v2/' + api.enc(repo) + '/blobs/' + man.config.digest);
      showDiffIDs(stack, cfg);
      main.append(h('h2', {}, 'Config'), jsonTree(cfg, diffIDNote(man.layers || [])));
    }
    const refs = await api.getJSON('/v2/' + api.enc(repo) + '/referrers/' + img.digest);
    main.append(h('h2', {}, 'Referrers'), (refs.manifests || []).length === 0 ? message('No referrers (signatures, SBOMs…) point at this image.') :
      table('Referrers', ['Artifact type', 'Digest', ['Size', 'num']], refs.manifests.map(r => h('tr', {},
        h('td', {}, r.artifactType || r.mediaType), h('td', {}, digestLink(r.digest)), h('td', {class: 'num'}, bytes(r.size))))));
  } catch (e) {
    main.append(message('manifest: ' + e.message, 'error'));
  }
}

// A config's rootfs.diff_ids are the digests of the layers uncompressed:
// no blob the registry stores. diff_ids[i] belongs to layers[i], so it is
// shown as text, with a link to the layer it is the uncompressed form of.
function isDiffID(path) { return path.length === 3 && path[0] === 'rootfs' && path[1] === 'diff_ids'; }

function diffIDNote(layers) {
  return (path, value) => {
    if (!isDiffID(path)) return null;
    const layer = layers[path[2]];
    return [h('span', {class: 's diffid', title: 'the digest of a layer uncompressed, not a stored blob'}, JSON.stringify(value)),
      h('span', {class: 'note'}, ' ← uncompressed layer #' + (path[2] + 1), layer ? [' ', digestLink(layer.digest)] : ' (no such layer in the manifest)')];
  };
}

function showDiffIDs(stack, cfg) {
  const ids = (cfg.rootfs && cfg.rootfs.diff_ids) || [];
  stack.querySelectorAll(':scope > li.layer').forEach((li, i) => {
    if (typeof ids[i] !== 'string') return;
    li.querySelector('.layer-head').after(h('p', {class: 'diffid'}, 'uncompressed: ', h('code', {title: ids[i]}, ids[i])));
  });
}

async function toggleFiles(btn, box, d) {
  if (btn.getAttribute('aria-expanded') === 'true') {
    btn.setAttribute('aria-expanded', 'false');
    box.replaceChildren();
    return;
  }
  btn.setAttribute('aria-expanded', 'true');
  box.replaceChildren(message('Reading the layer…'));
  try {
    box.replaceChildren(filesTable(await api.getJSON('/api/blobs/' + d + '/files')));
  } catch (e) {
    box.replaceChildren(message(e.message, 'error'));
  }
}

export function filesTable(l) {
  const rows = l.files.map(f => h('tr', {class: f.whiteout ? 'whiteout' : ''},
    h('td', {class: 'mode'}, f.type === 'dir' ? 'd' : f.type === 'symlink' ? 'l' : '-', f.mode),
    h('td', {class: 'num'}, f.type === 'file' ? bytes(f.size) : ''),
    h('td', {class: 'path'}, f.path, f.linkname ? ' → ' + f.linkname : '', f.whiteout ? ' (deleted)' : '')));
  return h('div', {},
    table(plural(l.files.length, 'entry').replace('ys', 'ies') + ' (' + l.compression + ')', ['Mode', ['Size', 'num'], 'Path'], rows, {class: 'filelist'}),
    l.truncated ? message('Listing cut short: ' + l.truncated) : null);
}

// digestView shows an image, or else a blob: who uses it, what is inside.
export async function digestView(d) {
  try {
    await api.getJSON('/api/images/' + d);
    location.replace('#/image/' + d);
    return;
  } catch (e) {
    if (e.status === 401) throw e;
  }
  const b = await api.getJSON('/api/blobs/' + d + '/images');
  const rows = b.images.map(u => h('tr', {},
    h('td', {}, h('a', {href: '#/image/' + u.digest}, names(u.repositories).join(', ') || short(u.digest))),
    h('td', {}, u.role + (u.role === 'layer' ? ' #' + (u.position + 1) : ''))));
  const files = h('div', {});
  setView(h('h1', {}, 'Blob ' + short(d)), h('p', {}, h('code', {}, d), ' — ', bytes(b.size)),
    table('Used by', ['Image', 'As'], rows), files);
  if (b.images.some(u => u.role === 'layer')) {
    try { files.append(h('h2', {}, 'Files'), filesTable(await api.getJSON('/api/blobs/' + d + '/files'))); } catch (e) { /* not a tar */ }
  }
}

const digestRe = /^sha(256|512):[0-9a-f]{64,128}$/;

// jsonTree renders JSON as indented text with every digest a link;
// special(path, value), when given, may render a value its own way.
export function jsonTree(v, special) {
  const pre = h('pre', {class: 'json'});
  const w = (...xs) => pre.append(...xs);
  const walk = (x, ind, path) => {
    const own = special && special(path, x);
    if (own) {
      w(...own);
    } else if (Array.isArray(x)) {
      if (x.length === 0) return w('[]');
      w('[\n');
      x.forEach((e, i) => { w(ind + '  '); walk(e, ind + '  ', [...path, i]); w(i < x.length - 1 ? ',\n' : '\n'); });
      w(ind + ']');
    } else if (x && typeof x === 'object') {
      const keys = Object.keys(x);
      if (keys.length === 0) return w('{}');
      w('{\n');
      keys.forEach((k, i) => {
        w(ind + '  ', h('span', {class: 'k'}, JSON.stringify(k)), ': ');
        walk(x[k], ind + '  ', [...path, k]);
        w(i < keys.length - 1 ? ',\n' : '\n');
      });
      w(ind + '}');
    } else if (typeof x === 'string' && digestRe.test(x)) {
      w('"', digestLink(x, x), '"');
    } else {
      w(h('span', {class: typeof x === 'string' ? 's' : 'n'}, JSON.stringify(x)));
    }
  };
  walk(v, '', []);
  return pre;
}
