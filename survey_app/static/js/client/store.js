/* The answers kept on this device (IndexedDB) until the server has them: a reload, even offline, loses nothing.
 * One record per session and item: {key, session, questionnaire, version, item, value, rev, sent}.
 * Everything is removed on submit. On lock, answers not yet sent are sealed (AES-GCM, with the session's
 * device key that only an unlocked page of the session carries) into one record {session, iv, data, at},
 * and the readable records are removed; the next unlocked page of that session unseals and sends them.
 * Without IndexedDB (a private window) it keeps them in memory, and a lock forgets them.
 */
(function (global) {
  "use strict";

  var NAME = "client-answers", STORE = "answers", SEALED = "sealed";
  var SEALED_DAYS = 14;  // sealed answers of a session nobody reopened on this device are dropped after this
  var memory = new Map(), opening = null;

  function open() {
    if (!global.indexedDB) { return Promise.resolve(null); }
    if (!opening) {
      opening = new Promise(function (resolve) {
        var request = global.indexedDB.open(NAME, 2);
        request.onupgradeneeded = function () {
          var db = request.result;
          if (!db.objectStoreNames.contains(STORE)) {
            db.createObjectStore(STORE, { keyPath: "key" }).createIndex("session", "session");
          }
          if (!db.objectStoreNames.contains(SEALED)) { db.createObjectStore(SEALED, { keyPath: "session" }); }
        };
        request.onsuccess = function () {
          var db = request.result;
          db.onversionchange = function () { db.close(); opening = null; };  // a newer page upgrades it
          resolve(db);
        };
        request.onerror = function () { resolve(null); };
        request.onblocked = function () { resolve(null); };
      });
    }
    return opening;
  }

  function transact(names, mode, work) {  // work(stores, by name) or work(null) without IndexedDB
    return open().then(function (db) {
      if (!db) { return work(null); }
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(names, mode), stores = {}, result;
        names.forEach(function (name) { stores[name] = tx.objectStore(name); });
        Promise.resolve(work(stores)).then(function (value) { result = value; });
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  function run(mode, work) {
    return transact([STORE], mode, function (stores) { return work(stores && stores[STORE]); });
  }

  function request(req) {
    return new Promise(function (resolve, reject) {
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function keyOf(session, questionnaire, version, item) {
    return [session, questionnaire, version, item].join("|");
  }

  /* Keep an answer until it is sent; `at` is when it was given (now unless it comes back from a seal). */
  function put(session, questionnaire, version, item, value, at) {
    return keep(session, questionnaire, version, item, value, at || Date.now(), false);
  }

  /* The server keeps another device's newer answer: this device holds that one now, as sent. */
  function adopt(session, questionnaire, version, item, value) {
    return keep(session, questionnaire, version, item, value, Date.now(), true);
  }

  function keep(session, questionnaire, version, item, value, at, sent) {
    var record = { key: keyOf(session, questionnaire, version, item), session: session,
      questionnaire: questionnaire, version: version, item: item, value: value, at: at,
      rev: Date.now() + Math.random(), sent: sent };
    return run("readwrite", function (store) {
      if (!store) { memory.set(record.key, record); return record; }
      return request(store.put(record)).then(function () { return record; });
    });
  }

  /* An answer as the API takes it, with how long ago it was given when it waited on this device. */
  function entry(record) {
    var sent = { questionnaire: record.questionnaire, version: record.version, item: record.item, value: record.value };
    if (typeof record.at === "number") { sent.age_ms = Math.max(0, Math.round(Date.now() - record.at)); }
    return sent;
  }

  function all(session) {
    return run("readonly", function (store) {
      if (!store) {
        return Array.from(memory.values()).filter(function (r) { return r.session === session; });
      }
      return request(store.index("session").getAll(session));
    });
  }

  /* Mark records sent, unless they changed again since they were read (their rev differs). */
  function markSent(records) {
    return run("readwrite", function (store) {
      return Promise.all(records.map(function (sent) {
        var current = store ? request(store.get(sent.key)) : Promise.resolve(memory.get(sent.key));
        return current.then(function (record) {
          if (!record || record.rev !== sent.rev) { return null; }
          record.sent = true;
          if (!store) { memory.set(record.key, record); return null; }
          return request(store.put(record));
        });
      }));
    });
  }

  function remove(records) {
    return run("readwrite", function (store) {
      return Promise.all(records.map(function (record) {
        if (!store) { memory.delete(record.key); return null; }
        return request(store.delete(record.key));
      }));
    });
  }

  function clear() {
    memory.clear();
    return run("readwrite", function (store) { return store ? request(store.clear()) : null; })
      .catch(function () { return null; });
  }

  /* ---------------------------------------------------------------- sealing on lock */
  var subtle = global.crypto && global.crypto.subtle;  // only on https (or this machine's own address)

  function cryptoKey(key, use) {
    var raw = Uint8Array.from(atob(key.replace(/-/g, "+").replace(/_/g, "/")), function (c) { return c.charCodeAt(0); });
    return subtle.importKey("raw", raw, "AES-GCM", false, [use]);
  }

  /* Seal the session's unsent answers with `key`, then remove every readable answer from the device. */
  function seal(session, key) {
    if (!subtle || !key) { return clear(); }
    return all(session).then(function (records) {
      var unsent = records.filter(function (r) { return !r.sent; }).map(function (r) {
        return { questionnaire: r.questionnaire, version: r.version, item: r.item, value: r.value, at: r.at };
      });
      if (!unsent.length) { return clear(); }
      var iv = global.crypto.getRandomValues(new Uint8Array(12));
      var plain = new TextEncoder().encode(JSON.stringify(unsent));
      return cryptoKey(key, "encrypt").then(function (k) {
        return subtle.encrypt({ name: "AES-GCM", iv: iv }, k, plain);
      }).then(function (data) {
        memory.clear();
        return transact([STORE, SEALED], "readwrite", function (stores) {
          if (!stores) { return null; }
          stores[STORE].clear();
          return request(stores[SEALED].put({ session: session, iv: iv, data: data, at: Date.now() }));
        });
      });
    }).catch(clear);  // nothing readable may stay behind a locked screen
  }

  /* Put the session's sealed answers back as unsent (a newer answer on the device wins); how many came back. */
  function unseal(session, key) {
    if (!subtle || !key) { return Promise.resolve(0); }
    var oldest = Date.now() - SEALED_DAYS * 86400000;
    return transact([SEALED], "readwrite", function (stores) {
      if (!stores) { return null; }
      stores[SEALED].openCursor().onsuccess = function (event) {
        var cursor = event.target.result;
        if (!cursor) { return; }
        if (cursor.value.at < oldest) { cursor.delete(); }
        cursor.continue();
      };
      return request(stores[SEALED].get(session));
    }).then(function (sealed) {
      if (!sealed || sealed.at < oldest) { return 0; }
      return cryptoKey(key, "decrypt").then(function (k) {
        return subtle.decrypt({ name: "AES-GCM", iv: sealed.iv }, k, sealed.data);
      }).then(function (plain) {
        var answers = JSON.parse(new TextDecoder().decode(plain));
        return all(session).then(function (records) {
          var given = new Set(records.map(function (r) { return r.key; }));
          return answers.filter(function (a) {
            return !given.has(keyOf(session, a.questionnaire, a.version, a.item));
          }).reduce(function (done, a) {
            return done.then(function () { return put(session, a.questionnaire, a.version, a.item, a.value, a.at); });
          }, Promise.resolve());
        }).then(function () { return forgetSealed(session); }).then(function () { return answers.length; });
      }, function () { return forgetSealed(session).then(function () { return 0; }); });  // another key: unreadable
    });
  }

  function forgetSealed(session) {
    return transact([SEALED], "readwrite", function (stores) {
      return stores ? request(stores[SEALED].delete(session)) : null;
    }).catch(function () { return null; });
  }

  /* The client's pages kept for offline use (app.js keeps them, the service worker serves them). */
  var PAGES = "client-pages";

  function forgetPages() {
    return global.caches ? global.caches.delete(PAGES).catch(function () { return null; }) : Promise.resolve();
  }

  global.AnswerStore = { put: put, adopt: adopt, entry: entry, all: all, markSent: markSent, remove: remove, clear: clear,
    seal: seal, unseal: unseal, forgetSealed: forgetSealed, PAGES: PAGES, forgetPages: forgetPages };
}(window));
