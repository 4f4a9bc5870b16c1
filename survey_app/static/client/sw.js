/* The client pages' service worker (served at /client/sw.js, so its scope is /client/).
 * Keeps the shell (styles, scripts, the offline page) so a page loads without a connection. Questionnaire pages
 * are kept by the page itself in the "client-pages" cache (and removed on submit and on lock); when the network
 * fails, a questionnaire is served from there, and anything else gets the offline page. Answers never pass
 * through here: the page keeps them in IndexedDB and sends them to the API.
 * self.CLIENT_SHELL = {version, offline, assets} is prepended by the server.
 */
"use strict";

var SHELL = self.CLIENT_SHELL;
var SHELL_CACHE = "client-shell-" + SHELL.version;
var PAGES_CACHE = "client-pages";

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL_CACHE).then(function (cache) {
    return cache.addAll(SHELL.assets.concat([SHELL.offline]));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("client-shell-") === 0 && name !== SHELL_CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function keptPage(url) {  // pages are kept as /client/q/<n>/p<first screen> with X-Client-Screens: first-stop
  var match = new URL(url).pathname.match(/^(.*\/q\/\d+)\/(\d+)$/);
  if (!match) { return Promise.resolve(undefined); }
  var wanted = Number(match[2]);
  return caches.open(PAGES_CACHE).then(function (cache) {
    return cache.keys().then(function (requests) {
      var same = requests.filter(function (request) {
        return new URL(request.url).pathname.indexOf(match[1] + "/p") === 0;
      });
      return Promise.all(same.map(function (request) { return cache.match(request); }));
    });
  }).then(function (responses) {
    return responses.find(function (response) {
      var range = (response.headers.get("X-Client-Screens") || "").split("-").map(Number);
      return range.length === 2 && range[0] <= wanted && wanted < range[1];
    });
  });
}

function offlinePage() {
  return caches.match(SHELL.offline, { cacheName: SHELL_CACHE });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(function () {
      if (request.method !== "GET") { return offlinePage(); }
      return keptPage(request.url).then(function (page) { return page || offlinePage(); });
    }));
    return;
  }
  if (request.method === "GET" && SHELL.assets.indexOf(url.pathname + url.search) >= 0) {
    event.respondWith(caches.match(request, { cacheName: SHELL_CACHE }).then(function (hit) {
      return hit || fetch(request);
    }));
  }
});
