/* The answers kept on this device (IndexedDB) until the server has them: a reload, even offline, loses nothing.
 * One record per session and item: {key, session, questionnaire, version, item, value, rev, sent}.
 * Everything is removed on submit and on lock. Without IndexedDB (a private window) it keeps them in memory.
 */
(function (global) {
  "use strict";

  var NAME = "client-answers", STORE = "answers";
  var memory = new Map(), opening = null;

  function open() {
    if (!global.indexedDB) { return Promise.resolve(null); }
    if (!opening) {
      opening = new Promise(function (resolve) {
        var request = global.indexedDB.open(NAME, 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore(STORE, { keyPath: "key" }).createIndex("session", "session");
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { resolve(null); };
        request.onblocked = function () { resolve(null); };
      });
    }
    return opening;
  }

  function run(mode, work) {
    return open().then(function (db) {
      if (!db) { return work(null); }
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode), result;
        Promise.resolve(work(tx.objectStore(STORE))).then(function (value) { result = value; });
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
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

  function put(session, questionnaire, version, item, value) {
    var key = keyOf(session, questionnaire, version, item);
    var record = { key: key, session: session, questionnaire: questionnaire, version: version, item: item,
      value: value, rev: Date.now() + Math.random(), sent: false };
    return run("readwrite", function (store) {
      if (!store) { memory.set(key, record); return record; }
      return request(store.put(record)).then(function () { return record; });
    });
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

  global.AnswerStore = { put: put, all: all, markSent: markSent, remove: remove, clear: clear };
}(window));
