// Repositories, and one repository's tags.
import * as api from './api.js';
import {h, bytes, short, digestLink, table, setView, message, plural, when} from './dom.js';
const info = api.info;

export async function reposView() {
  const {repositories} = await api.getJSON('/api/repositories');
  const filter = h('input', {id: 'repo-filter', type: 'search', placeholder: 'lab/…', 'aria-controls': 'repo-table'});
  const rows = repositories.map(r => h('tr', {'data-name': r.name},
    h('td', {}, h('a', {href: '#/repo/' + api.enc(r.name)}, r.name)),
    h('td', {class: 'num'}, r.tags),
    h('td', {class: 'num'}, r.manifests),
    h('td', {class: 'num'}, bytes(r.logical_bytes)),
    h('td', {class: 'num'}, r.unique_bytes === undefined ? '—' : bytes(r.unique_bytes))));
  filter.addEventListener('input', () => {
    const q = filter.value.toLowerCase();
    for (const tr of rows) tr.hidden = !tr.dataset.name.toLowerCase().includes(q);
  });
  setView(
    h('h1', {}, 'Repositories'),
    h('p', {class: 'filter'}, h('label', {for: 'repo-filter'}, 'Filter by name '), filter),
    repositories.length === 0 ? message('No repository yet: push an image.') :
      table(plural(repositories.length, 'repository').replace('ys', 'ies'), ['Repository', ['Tags', 'num'], ['Manifests', 'num'], ['Size', 'num'], ['Only here', 'num']], rows, {id: 'repo-table'}),
    h('p', {class: 'note'}, 'Size counts every blob the repository links, once; "only here" counts the blobs no other repository links — the rest is shared.'));
}

export async function repoView(name) {
  const {tags, may_delete} = await api.getJSON('/api/repositories/' + api.enc(name) + '/tags');
  const picked = new Set();
  const compare = h('button', {type: 'button', disabled: true}, 'Compare selected');
  compare.addEventListener('click', () => { location.hash = '#/compare/' + [...picked].join(','); });
  // The registry says whether this user may delete here (deletes on and
  // the access rules grant delete); a DELETE is judged again when sent.
  const mayDelete = info.delete_enabled && !info.read_only && may_delete === true;
  const rows = tags.map(t => {
    const box = h('input', {type: 'checkbox', 'aria-label': 'select ' + name + ':' + t.name + ' for comparison'});
    box.addEventListener('change', () => {
      if (box.checked) picked.add(t.digest); else picked.delete(t.digest);
      compare.disabled = picked.size < 2;
    });
    const imageLink = t.kind === 'image' ? h('a', {href: '#/image/' + t.digest, class: 'digest', title: t.digest}, short(t.digest)) : digestLink(t.digest);
    return h('tr', {},
      h('td', {}, t.kind === 'image' ? box : ''),
      h('th', {scope: 'row', class: 'tag'}, t.name),
      h('td', {}, imageLink),
      h('td', {class: 'mt'}, t.media_type),
      h('td', {class: 'num'}, bytes(t.size)),
      h('td', {}, when(t.created)),
      h('td', {}, (t.platforms || []).map(p => h('a', {href: '#/image/' + p.digest, class: 'platform'}, p.platform || short(p.digest)))),
      mayDelete ? h('td', {}, deleteButton(name, t.name)) : null);
  });
  const head = ['', 'Tag', 'Digest', 'Media type', ['Size', 'num'], 'Created', 'Platforms'];
  if (mayDelete) head.push('');
  setView(
    h('p', {class: 'crumbs'}, h('a', {href: '#/'}, 'Repositories'), ' / ', name),
    h('h1', {}, name),
    tags.length === 0 ? message('No tags.') : table(plural(tags.length, 'tag'), head, rows, {id: 'tag-table'}),
    h('p', {}, compare, ' pick two images or more to see which layers they share.'));
}

function deleteButton(repo, tag) {
  const b = h('button', {type: 'button', class: 'danger', 'aria-label': 'delete tag ' + repo + ':' + tag}, 'Delete');
  b.addEventListener('click', async () => {
    if (!confirm('Delete the tag ' + repo + ':' + tag + '? The image stays until nothing else references it and gc runs.')) return;
    try {
      await api.call('/v2/' + api.enc(repo) + '/manifests/' + encodeURIComponent(tag), {method: 'DELETE'});
      await repoView(repo);
    } catch (e) {
      b.replaceWith(message('not deleted: ' + e.message, 'error'));
    }
  });
  return b;
}
