// The registry's API, called with the user's credentials: a Basic header
// kept in sessionStorage after the login form, and — when the registry
// uses bearer tokens — tokens fetched from the realm its challenge names.

const KEY = 'layerlab.auth';
const tokens = new Map(); // scope → bearer token

export class HTTPError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export function basicHeader() { return sessionStorage.getItem(KEY); }

export function login(user, pass) {
  const bytes = new TextEncoder().encode(user + ':' + pass);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  sessionStorage.setItem(KEY, 'Basic ' + btoa(bin));
  sessionStorage.setItem(KEY + '.user', user);
  tokens.clear();
}

export function logout() {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(KEY + '.user');
  tokens.clear();
}

export function user() { return sessionStorage.getItem(KEY + '.user'); }

function challenge(header) {
  const m = /^Bearer\s+(.*)$/i.exec(header || '');
  if (!m) return null;
  const out = {};
  for (const p of m[1].matchAll(/(\w+)="([^"]*)"/g)) out[p[1]] = p[2];
  return out;
}

async function token(ch) {
  const key = ch.scope || '';
  if (tokens.has(key)) return tokens.get(key);
  const url = new URL(ch.realm, location.href);
  if (url.origin !== location.origin) throw new HTTPError(401, 'the token server is on another origin: ' + url.origin);
  if (ch.service) url.searchParams.set('service', ch.service);
  for (const s of (ch.scope || '').split(' ').filter(Boolean)) url.searchParams.append('scope', s);
  const headers = {};
  if (basicHeader()) headers.Authorization = basicHeader();
  const resp = await fetch(url, {headers, credentials: 'omit'});
  if (!resp.ok) throw new HTTPError(resp.status, 'the token server refused: ' + resp.status);
  const body = await resp.json();
  const t = body.token || body.access_token;
  tokens.set(key, t);
  return t;
}

// call fetches a path with the user's credentials; on a bearer challenge
// it gets a token and tries once more.
export async function call(path, opts = {}) {
  const attempt = async (auth) => {
    const headers = Object.assign({}, opts.headers || {});
    if (auth) headers.Authorization = auth;
    return fetch(path, Object.assign({}, opts, {headers, credentials: 'omit'}));
  };
  let resp = await attempt(basicHeader());
  if (resp.status === 401) {
    const ch = challenge(resp.headers.get('WWW-Authenticate'));
    if (ch && ch.realm) resp = await attempt('Bearer ' + await token(ch));
  }
  if (!resp.ok) {
    let msg = resp.status + ' ' + resp.statusText;
    try {
      const body = await resp.json();
      if (body.errors && body.errors[0]) msg = body.errors[0].code + ': ' + body.errors[0].message;
    } catch (e) { /* not JSON */ }
    throw new HTTPError(resp.status, msg);
  }
  return resp;
}

export async function getJSON(path, opts) {
  const resp = await call(path, opts);
  return resp.json();
}

const manifestTypes = [
  'application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export function manifest(repo, ref) {
  return getJSON('/v2/' + repo + '/manifests/' + ref, {headers: {Accept: manifestTypes}});
}

export function enc(name) { return name.split('/').map(encodeURIComponent).join('/'); }

// info is what /api/info says of the registry (filled in at start).
export const info = {auth: 'off', delete_enabled: false, read_only: true};
