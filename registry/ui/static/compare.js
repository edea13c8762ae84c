// Compare images side by side; the family tree of every image.
import * as api from './api.js';
import {h, bytes, short, digestLink, names, table, setView, message} from './dom.js';

function label(img) { return names(img.repositories)[0] || short(img.digest); }

export async function compareView(digests) {
  const imgs = await Promise.all(digests.map(d => api.getJSON('/api/images/' + d)));
  if (imgs.length < 2) return comparePicker(imgs[0]);
  const holders = new Map(); // layer digest → how many compared images hold it
  for (const img of imgs) for (const d of new Set(img.layers.map(l => l.digest))) holders.set(d, (holders.get(d) || 0) + 1);
  const depth = Math.max(...imgs.map(i => i.layers.length));
  const rows = [];
  for (let p = 0; p < depth; p++) {
    const cells = imgs.map(img => img.layers[p]);
    const same = cells.every(c => c && c.digest === cells[0].digest);
    if (same) {
      rows.push(h('tr', {class: 'connected'}, h('th', {scope: 'row'}, '#' + (p + 1)),
        h('td', {colspan: imgs.length, class: 'layer shared', 'data-digest': cells[0].digest, 'data-shared': 'true'},
          h('span', {class: 'badge'}, 'shared by all'), ' ', digestLink(cells[0].digest), ' ', bytes(cells[0].size),
          h('code', {class: 'step'}, cells[0].created_by || ''))));
      continue;
    }
    rows.push(h('tr', {}, h('th', {scope: 'row'}, '#' + (p + 1)), cells.map(c => {
      if (!c) return h('td', {class: 'empty'});
      const shared = holders.get(c.digest) > 1;
      return h('td', {class: 'layer ' + (shared ? 'shared' : 'unique'), 'data-digest': c.digest, 'data-shared': String(shared)},
        h('span', {class: 'badge'}, shared ? 'shared' : 'unique'), ' ', digestLink(c.digest), ' ', bytes(c.size),
        h('code', {class: 'step'}, c.created_by || ''));
    })));
  }
  const layerBytes = new Map();
  for (const img of imgs) for (const l of img.layers) layerBytes.set(l.digest, l.size);
  let sharedBytes = 0, total = 0;
  for (const [d, size] of layerBytes) { total += size; if (holders.get(d) > 1) sharedBytes += size; }
  const summary = imgs.map(img => {
    const unique = img.layers.filter(l => holders.get(l.digest) === 1).reduce((s, l) => s + l.size, 0);
    return h('li', {}, label(img), ': ', bytes(unique), ' only in this image');
  });
  const [a, b] = imgs;
  const inA = new Set(a.layers.map(l => l.digest));
  const sends = b.layers.filter(l => !inA.has(l.digest));
  const sendBytes = sends.reduce((s, l) => s + l.size, 0);
  setView(
    h('h1', {}, 'Compare'),
    table('Layers side by side, base first', ['', ...imgs.map(img => h('a', {href: '#/image/' + img.digest}, label(img)))], rows, {class: 'compare', id: 'compare-table'}),
    h('section', {class: 'summary', 'aria-label': 'summary'},
      h('p', {}, 'Shared layers: ', h('strong', {id: 'shared-bytes'}, bytes(sharedBytes)), ' of ', bytes(total), ' stored once for all of them.'),
      h('ul', {}, summary),
      h('p', {id: 'pull-after'}, 'A pull of ', h('strong', {}, label(b)), ' after ', h('strong', {}, label(a)), ' sends ',
        h('strong', {}, bytes(sendBytes)), ' in ', sends.length, ' layer' + (sends.length === 1 ? '' : 's'),
        ' (plus the manifest and config): the client already holds the rest.')));
}

async function comparePicker(img) {
  const fam = img ? await api.getJSON('/api/images/' + img.digest + '/family') : {bases: [], derived: []};
  const rel = [...fam.bases, ...fam.derived];
  setView(h('h1', {}, 'Compare'),
    img ? h('p', {}, 'Compare ', label(img), ' with:') : message('Pick images in a repository view.'),
    h('ul', {}, rel.map(r => h('li', {}, h('a', {href: '#/compare/' + img.digest + ',' + r.digest}, names(r.repositories)[0] || short(r.digest)),
      ' — ', r.shared_layers, ' shared layers'))));
}

export async function familyView() {
  const {images} = await api.getJSON('/api/tree');
  const byDigest = new Map(images.map(i => [i.digest, i]));
  const children = new Map();
  const roots = [];
  for (const img of images) {
    if (img.parent && byDigest.has(img.parent)) {
      if (!children.has(img.parent)) children.set(img.parent, []);
      children.get(img.parent).push(img);
    } else roots.push(img);
  }
  const node = (img, parentLayers) => {
    const kids = children.get(img.digest) || [];
    return h('li', {role: 'treeitem', 'aria-expanded': kids.length ? 'true' : null, 'data-digest': img.digest},
      h('a', {href: '#/image/' + img.digest}, label(img)),
      h('span', {class: 'note'}, ' ', img.layers, ' layers', parentLayers ? ', +' + (img.layers - parentLayers) + ' on its base' : '',
        ', ', bytes(img.size)),
      kids.length ? h('ul', {role: 'group'}, kids.map(k => node(k, img.layers))) : null);
  };
  setView(h('h1', {}, 'Family'),
    h('p', {class: 'note'}, 'Every image under the image it is built on: its layers start with all of its base\'s layers.'),
    images.length === 0 ? message('No image yet.') : h('ul', {class: 'tree', role: 'tree', 'aria-label': 'images by base'}, roots.map(r => node(r, 0))));
}
