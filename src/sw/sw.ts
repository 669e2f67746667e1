/// <reference lib="webworker" />
/**
 * stacklab's service worker: after the first visit the whole lab (app, v86's wasm, BIOS, host kernel
 * and initramfs, the VM disk's chunk files) is served from one cache per build, so it runs offline.
 *
 * The build (tools/site/plugin.ts) prepends `BUILD`: every file of dist/ with the first hex digits
 * of its sha256. A file is stored under its path plus that revision, so a new build downloads only
 * what changed, and each download is checked against the revision before it is kept.
 * A new build waits until the page asks for it (the "reload to update" banner): never mid-race.
 */
// A module for the type checker only (its own `self`); the build strips this and ships a classic script.
export {};
declare const self: ServiceWorkerGlobalScope;
declare const BUILD: { version: string; files: [path: string, rev: string][] };

const CACHE_PREFIX = 'stacklab-';
const CACHE = `${CACHE_PREFIX}${BUILD.version}`;
const PARALLEL_DOWNLOADS = 6;
const scope = new URL(self.registration.scope);
const revisions = new Map(BUILD.files);
/** Headers that describe the transfer, not the bytes we keep. */
const TRANSFER_HEADERS = ['content-encoding', 'content-length', 'transfer-encoding', 'connection', 'keep-alive'];

const cacheKey = (path: string, rev: string) => new URL(`${path}?sw-rev=${rev}`, scope).href;

async function hexSha256(bytes: ArrayBuffer): Promise<string> {
  return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function precacheOne(cache: Cache, path: string, rev: string): Promise<void> {
  const key = cacheKey(path, rev);
  if (await cache.match(key)) return;
  // An earlier build's cache may hold the same bytes already.
  const previous = await caches.match(key);
  if (previous) return cache.put(key, previous);
  const res = await fetch(new URL(path, scope), { cache: 'no-cache' });
  if (!res.ok) throw new Error(`offline copy: HTTP ${res.status} for ${path}`);
  const body = await res.arrayBuffer();
  const sha = await hexSha256(body);
  if (!sha.startsWith(rev)) throw new Error(`offline copy: ${path} does not match this build (sha256 ${sha.slice(0, rev.length)}, expected ${rev})`);
  const headers = new Headers(res.headers);
  for (const h of TRANSFER_HEADERS) headers.delete(h);
  await cache.put(key, new Response(body, { status: 200, statusText: 'OK', headers }));
}

async function precache(): Promise<void> {
  const cache = await caches.open(CACHE);
  const queue = [...BUILD.files];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) await precacheOne(cache, ...next);
  };
  await Promise.all(Array.from({ length: PARALLEL_DOWNLOADS }, worker));
}

self.addEventListener('install', (event) => {
  // No skipWaiting here: a new build waits for the page's "reload to update".
  event.waitUntil(precache());
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys().then((names) => Promise.all(names.filter((n) => n.startsWith(CACHE_PREFIX) && n !== CACHE).map((n) => caches.delete(n)))));
});

self.addEventListener('message', (event) => {
  if (event.data?.type === 'skip-waiting') void self.skipWaiting();
  if (event.data?.type === 'version') event.ports[0]?.postMessage({ version: BUILD.version, files: BUILD.files.length });
});

async function fromCache(request: Request, path: string, rev: string): Promise<Response> {
  const hit = await caches.match(cacheKey(path, rev), { cacheName: CACHE });
  return hit ?? fetch(request);
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || request.headers.has('range')) return;
  const url = new URL(request.url);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  let path = decodeURIComponent(url.pathname.slice(scope.pathname.length));
  // The page itself, with any setup in its query string (?vms=2&containers=3).
  if (request.mode === 'navigate' && (path === '' || path.endsWith('/'))) path += 'index.html';
  const rev = revisions.get(path);
  if (rev) event.respondWith(fromCache(request, path, rev));
});
