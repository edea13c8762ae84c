// The explorer: hash routes, the login form, and the views.
import * as api from './api.js';
import {setView, message} from './dom.js';
import {reposView, repoView} from './repos.js';
import {imageView, digestView} from './image.js';
import {compareView, familyView} from './compare.js';
import {storageView, liveView, stopLive} from './storage.js';

const routes = [
  [/^#?\/?$/, 'repos', () => reposView()],
  [/^#\/repo\/(.+)$/, 'repos', m => repoView(decodeURIComponent(m[1]))],
  [/^#\/image\/([^/]+)$/, 'repos', m => imageView(m[1])],
  [/^#\/digest\/([^/]+)$/, 'repos', m => digestView(m[1])],
  [/^#\/compare\/([^/]+)$/, 'repos', m => compareView(m[1].split(',').filter(Boolean))],
  [/^#\/family$/, 'family', () => familyView()],
  [/^#\/storage$/, 'storage', () => storageView()],
  [/^#\/live$/, 'live', () => liveView()],
];

export const info = api.info;

async function route() {
  stopLive();
  const hash = location.hash || '#/';
  document.getElementById('login').hidden = true;
  for (const [re, nav, view] of routes) {
    const m = re.exec(hash);
    if (!m) continue;
    for (const a of document.querySelectorAll('nav a')) {
      if (a.dataset.view === nav) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    setView(message('Loading…'));
    try {
      await view(m);
    } catch (e) {
      if (e.status === 401) return showLogin('Log in to see this registry.');
      setView(message(e.message, 'error'));
    }
    return;
  }
  setView(message('No such view: ' + hash, 'error'));
}

function showLogin(why) {
  setView();
  const form = document.getElementById('login');
  form.hidden = false;
  document.getElementById('login-error').textContent = why || '';
  document.getElementById('login-user').focus();
}

function showUser() {
  const u = api.user();
  document.getElementById('who').textContent = u ? 'signed in as ' + u : '';
  document.getElementById('logout').hidden = !u;
}

document.getElementById('login').addEventListener('submit', async ev => {
  ev.preventDefault();
  const f = ev.target;
  api.login(f.user.value, f.pass.value);
  f.pass.value = '';
  try {
    await api.getJSON('/api/repositories');
  } catch (e) {
    api.logout();
    return showLogin(e.status === 401 ? 'Wrong user name or password.' : e.message);
  }
  showUser();
  route();
});

document.getElementById('logout').addEventListener('click', () => {
  api.logout();
  showUser();
  route();
});

window.addEventListener('hashchange', () => {
  route().then(() => document.getElementById('view').focus({preventScroll: true}));
});

(async () => {
  try {
    Object.assign(info, await (await fetch('/api/info', {credentials: 'omit'})).json());
  } catch (e) { /* an older registry: defaults */ }
  showUser();
  route();
})();
