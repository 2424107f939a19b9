// yunling player-web service worker: lessons kept for offline viewing
// (js/offline.js; docs/architecture.md "Offline lessons"). Registered only
// on a device that keeps a lesson, at the page's directory ("/").
//
// - /hls/<id>/...: from the lesson's cache (yl-lesson-<id>) when it has the
//   file, else the network. A kept lesson thus plays from the phone's
//   storage, online or not; a lesson not kept is untouched.
// - The app shell (the page, its modules, styles, fonts, hls.js): the
//   network first, as without a worker; the copy in "yl-shell" when the
//   network fails, and refreshed from each good answer for a file the
//   shell cache already holds.
// - Everything else (the API, viewing events, websockets, live, the wall
//   and the console): not touched.
const SHELL = 'yl-shell';
const PASS = /^(api|live|ws|wall|admin|metrics|healthz)(\/|$)/;

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  const scope = new URL(self.registration.scope);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  const rel = url.pathname.slice(scope.pathname.length);
  const m = /^hls\/(\d+)\//.exec(rel);
  if (m) {
    e.respondWith(fromLesson(req, m[1]));
    return;
  }
  if (PASS.test(rel)) return;
  e.respondWith(fromShell(req, url, scope));
});

async function fromLesson(req, id) {
  const hit = await caches.match(req.url, { cacheName: `yl-lesson-${id}`, ignoreVary: true });
  return hit || fetch(req);
}

async function fromShell(req, url, scope) {
  // Every page of the app is the one index.html: "/", "/?tv=1", "/index.html".
  const nav = req.mode === 'navigate';
  const key = nav ? scope.href : `${url.origin}${url.pathname}`;
  try {
    const res = await fetch(req);
    if (res.ok && res.type === 'basic' && (!nav || url.pathname === scope.pathname || url.pathname.endsWith('/index.html'))) {
      const cache = await caches.open(SHELL);
      if (await cache.match(key)) await cache.put(key, res.clone());
    }
    return res;
  } catch (err) {
    const hit = await caches.match(key, { cacheName: SHELL, ignoreVary: true });
    if (hit) return hit;
    throw err;
  }
}
