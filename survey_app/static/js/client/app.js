/* The client's tablet: moves between screens in the page, saves every answer at once through the JSON API,
 * keeps answers on the device while the connection is down, locks when idle (sealing the answers not yet
 * sent, for the next unlocked page to send), reads questions aloud.
 * Without this file every page still works as plain forms. No framework, no build step.
 * An admin's preview of a questionnaire (config.preview) runs the same page and skip logic, keeping the
 * answers in the page only: nothing is stored, sent, cached or locked.
 */
(function () {
  "use strict";

  var pristine = "<!doctype html>\n" + document.documentElement.outerHTML;  // before anything is enhanced
  var configEl = document.getElementById("client-config");
  var config = configEl ? JSON.parse(configEl.textContent) : null;
  var texts = (config && config.texts) || {};
  var csrfInput = document.querySelector('input[name="csrf_token"]');
  var csrf = csrfInput ? csrfInput.value : "";
  var statusEl = document.querySelector("[data-save-status]");
  var session = config && config.session;
  var preview = Boolean(config && config.preview);
  var deviceKey = config && config.device_key;
  // answers sealed when this session's screen locked without a connection come back before anything is sent
  var unsealed = session && !preview ? AnswerStore.unseal(session, deviceKey).catch(function () { return 0; })
    : Promise.resolve(0);

  function format(text, values) {
    return String(text || "").replace(/\{(\w+)\}/g, function (_, name) { return values[name]; });
  }

  function setStatus(state, text) {
    if (!statusEl) { return; }
    statusEl.setAttribute("data-state", state);
    statusEl.textContent = text === undefined ? (texts[state] || "") : text;
  }

  function send(method, url, body) {
    var headers = { "X-CSRFToken": csrf, "Accept": "application/json" };
    if (body !== undefined) { headers["Content-Type"] = "application/json"; }
    return fetch(url, { method: method, credentials: "same-origin", headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body) });
  }

  function within(promise, ms) {
    return Promise.race([promise, new Promise(function (resolve) { setTimeout(resolve, ms); })]);
  }

  /* ------------------------------------------------------------ pages kept on the device for offline use */
  function keepPage(html, url) {  // stored under /client/q/<n>/p<first screen>, with the screens it holds
    var data = new DOMParser().parseFromString(html, "text/html").getElementById("client-config");
    var range = data ? JSON.parse(data.textContent).screens || [] : [];
    var match = new URL(url, location.href).pathname.match(/^(.*\/q\/\d+)\//);
    if (!window.caches || range.length !== 2 || !match) { return Promise.resolve(); }
    var response = new Response(html, { headers: { "Content-Type": "text/html", "X-Client-Screens": range.join("-") } });
    return caches.open(AnswerStore.PAGES).then(function (cache) { return cache.put(match[1] + "/p" + range[0], response); })
      .catch(function () { return null; });
  }

  function clearDevice() {  // the session is sent or closed: nothing of it stays
    return Promise.all([AnswerStore.clear(), AnswerStore.forgetSealed(session), AnswerStore.forgetPages()]);
  }

  function sealDevice() {  // the screen locks: what is not sent yet is sealed, nothing readable stays
    return unsealed.then(function () {
      return Promise.all([AnswerStore.seal(session, deviceKey), AnswerStore.forgetPages()]);
    });
  }

  /* ------------------------------------------------------------ answers kept on this device, then sent */
  var syncing = null, syncAgain = false, retryTimer = null, retryDelay = 2000;

  function scheduleRetry() {
    if (retryTimer) { return; }
    retryTimer = setTimeout(function () { retryTimer = null; sync(); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 60000);
  }

  /* Another device gave a newer answer to some of these: this device and its page take that one. */
  function adoptNewer(pending, notStored) {
    var newer = (notStored || []).filter(function (n) { return n.reason === "superseded"; });
    return newer.reduce(function (done, n) {
      var mine = pending.find(function (r) { return r.questionnaire === n.questionnaire && r.item === n.item; });
      if (!mine) { return done; }
      return done.then(function () {
        document.dispatchEvent(new CustomEvent("cq-newer-answer", { detail: { questionnaire: n.questionnaire,
          version: mine.version, item: n.item, value: n.value } }));
        return AnswerStore.adopt(session, n.questionnaire, mine.version, n.item, n.value);
      });
    }, Promise.resolve()).then(function () { return newer.length; });
  }

  function sendPending(pending) {
    var body = { answers: pending.map(AnswerStore.entry) };
    setStatus("saving");
    return send("PUT", config.urls.answers, body).then(function (response) {
      if (response.ok) {
        retryDelay = 2000;
        return AnswerStore.markSent(pending).then(function () {
          return response.json().catch(function () { return {}; });
        }).then(function (data) { return adoptNewer(pending, data.not_stored); }).then(function (adopted) {
          setStatus("saved", adopted ? texts.newer_kept : undefined);
          return true;
        });
      }
      if (response.status === 401 || response.status === 409) {  // locked, or closed or already sent
        var leave = response.status === 401 ? sealDevice() : clearDevice();
        return leave.then(function () { location.assign(config.urls.done); return false; });
      }
      if (response.status === 422) {  // refused answers are dropped; the rest is sent again
        return response.json().then(function (data) {
          var bad = (data.problems || []).map(function (p) { return pending[p.index]; }).filter(Boolean);
          return AnswerStore.remove(bad).then(function () {
            setStatus("refused", data.message || texts.refused);
            return false;
          });
        });
      }
      setStatus("pending");
      scheduleRetry();
      return false;
    }, function () { setStatus("pending"); scheduleRetry(); return false; });
  }

  function sync() {
    if (!session) { return Promise.resolve(true); }
    if (syncing) { syncAgain = true; return syncing; }
    syncing = unsealed.then(function () { return AnswerStore.all(session); }).then(function (records) {
      var pending = records.filter(function (r) { return !r.sent; });
      if (!pending.length) { return true; }
      if (navigator.onLine === false) { setStatus("pending"); scheduleRetry(); return false; }
      return sendPending(pending);
    }).catch(function () { setStatus("pending"); scheduleRetry(); return false; })
      .then(function (done) {
        syncing = null;
        if (syncAgain) { syncAgain = false; return sync(); }
        return done;
      });
    return syncing;
  }

  function pendingCount() {
    if (!session) { return Promise.resolve(0); }
    return unsealed.then(function () { return AnswerStore.all(session); }).then(function (records) {
      return records.filter(function (r) { return !r.sent; }).length;
    });
  }

  window.addEventListener("online", function () { retryDelay = 2000; sync(); });
  window.addEventListener("offline", function () {
    pendingCount().then(function (count) { if (count) { setStatus("pending"); } });
  });

  /* ------------------------------------------------------------ display choices, language, lock */
  var displayForm = document.querySelector("[data-display-form]");
  if (displayForm) {
    displayForm.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || !button.dataset.pref) { return; }
      event.preventDefault();
      var on = button.value === "on", name = button.dataset.pref;
      var sheet = document.querySelector('link[data-pref-css="' + name + '"]');
      if (on && !sheet) {
        sheet = document.createElement("link");
        sheet.rel = "stylesheet";
        sheet.href = button.dataset.href;
        sheet.setAttribute("data-pref-css", name);
        document.head.appendChild(sheet);
      } else if (!on && sheet) { sheet.remove(); }
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.value = on ? "off" : "on";
      var data = new FormData();
      data.append("csrf_token", csrf);
      data.append(name, on ? "on" : "off");
      fetch(displayForm.action, { method: "POST", body: data, credentials: "same-origin", keepalive: true,
        headers: { "Accept": "application/json" } }).catch(function () { return null; });
    });
  }

  function submitPlainly(form, submitter) {  // without our handlers, keeping the pressed button's value
    if (submitter && submitter.name) {
      var hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = submitter.name;
      hidden.value = submitter.value;
      form.appendChild(hidden);
    }
    HTMLFormElement.prototype.submit.call(form);
  }

  document.querySelectorAll("[data-needs-network]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (navigator.onLine === false) { setStatus("offline", texts.needs_network); return; }
      var submitter = event.submitter;
      within(sync(), 3000).then(function () { submitPlainly(form, submitter); });
    });
  });

  function lockNow(why) {  // send what can be sent, seal the rest, then lock ("idle": nobody used the page)
    if (preview) { setStatus("preview", texts.preview_only); return; }
    var form = document.querySelector("[data-lock-form]");
    var main = document.getElementById("main");
    within(sync(), 3000).then(sealDevice).then(function () {
      if (main) { main.hidden = true; }
      if (form) { rememberLock(form, why); submitPlainly(form, why ? { name: "why", value: why } : null); }
    });
  }

  /* A lock sent without a connection ends on the offline page, which sends it again once the connection is
   * back (this tab only, for as long as a client mode can last); any page of an open session forgets it. */
  var LOCK_KEY = "client-lock-pending", LOCK_MAX_MS = 12 * 3600 * 1000;

  function rememberLock(form, why) {
    try {
      sessionStorage.setItem(LOCK_KEY, JSON.stringify({ action: form.action, csrf: csrf, why: why, at: Date.now() }));
    } catch (error) { return; }  // storage refused: the server locks the idle mode on its own
  }

  function takePendingLock() {
    var pending = null;
    try {
      pending = JSON.parse(sessionStorage.getItem(LOCK_KEY) || "null");
      sessionStorage.removeItem(LOCK_KEY);
    } catch (error) { return null; }
    return pending && Date.now() - pending.at < LOCK_MAX_MS ? pending : null;
  }

  function sendPendingLock() {  // true when a lock is on its way
    var pending = takePendingLock();
    if (!pending) { return false; }
    var form = document.createElement("form");
    form.method = "post";
    form.action = pending.action;
    if (pending.why) {
      var why = document.createElement("input");
      why.type = "hidden";
      why.name = "why";
      why.value = pending.why;
      form.appendChild(why);
    }
    document.body.appendChild(form);
    submitPlainly(form, { name: "csrf_token", value: pending.csrf });
    return true;
  }

  document.querySelectorAll("[data-lock-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) { event.preventDefault(); lockNow(); });
  });

  function watchIdle(seconds) {
    var last = Date.now(), lastPing = Date.now(), warned = null, locked = false;
    var warnAt = Math.max(seconds * 0.75, seconds - 60) * 1000, lockAt = seconds * 1000;
    function activity() {
      last = Date.now();
      if (warned) { warned.remove(); warned = null; }
      if (Date.now() - lastPing > lockAt / 3 && navigator.onLine !== false) {
        lastPing = Date.now();
        send("POST", config.urls.keepalive).catch(function () { return null; });
      }
    }
    ["pointerdown", "keydown", "touchstart", "input", "scroll"].forEach(function (name) {
      document.addEventListener(name, activity, { passive: true, capture: true });
    });
    function check() {
      if (locked) { return; }
      var idle = Date.now() - last;
      if (idle >= lockAt) { locked = true; lockNow("idle"); return; }
      if (idle >= warnAt && !warned) {
        warned = document.createElement("p");
        warned.className = "cq-idle";
        warned.setAttribute("role", "alert");
        warned.textContent = texts.idle_warning;
        document.body.appendChild(warned);
      }
      setTimeout(check, Math.min(1000, Math.max(100, lockAt / 20)));
    }
    document.addEventListener("visibilitychange", check);
    check();
  }

  /* ------------------------------------------------------------ one page of a questionnaire */
  var F = window.ClientFields;

  function Questionnaire(form) {
    var q = config.questionnaire, first = config.screens[0];
    var screens = Array.from(form.querySelectorAll(".cq-screen"));
    var items = {}, answers = Object.assign({}, config.answers), hidden = new Set();
    var declined = {};
    form.querySelectorAll(".cq-item").forEach(function (item) {
      items[item.dataset.item] = item;
      var value = F.readItem(item);
      answers[item.dataset.item] = value !== value ? null : value;  // NaN: an unfinished number
    });
    form.querySelectorAll("input[data-declined]").forEach(function (input) {
      var id = input.closest(".cq-item").dataset.item;
      (declined[id] = declined[id] || []).push(Number(input.value));
    });
    var skip = { rules: config.skip.rules, declined: declined };
    var current = Number(screens.find(function (s) { return !s.hidden; }).dataset.screen);
    var progressText = document.getElementById("progress-text");
    var progressBar = document.querySelector(".cq-progress progress");
    var shownField = form.querySelector('input[name="shown"]');

    function screen(number) { return screens[number - first]; }
    function itemsOf(el) { return Array.from(el.querySelectorAll(".cq-item")); }
    function visible(number) {
      var its = itemsOf(screen(number));
      return its.length === 0 || its.some(function (item) { return !hidden.has(item.dataset.item); });
    }
    function shownNumbers() {
      return screens.map(function (s) { return Number(s.dataset.screen); }).filter(visible);
    }

    function refresh() {
      var given = {};
      Object.keys(answers).forEach(function (id) { if (answers[id] !== null) { given[id] = answers[id]; } });
      hidden = SkipLogic.effective(skip, given).hidden;
      Object.keys(items).forEach(function (id) { items[id].hidden = hidden.has(id); });
      var headed = new Set(config.sections_before);
      shownNumbers().forEach(function (number) {
        var el = screen(number), head = el.querySelector(".cq-section-head");
        if (head) { head.hidden = headed.has(el.dataset.section); }
        headed.add(el.dataset.section);
      });
      updateProgress();
    }

    function updateProgress() {
      var shown = shownNumbers(), p = config.progress;
      var steps = shown.filter(function (number) { return itemsOf(screen(number)).length > 0; });
      var step = steps.indexOf(current);
      var values = { part: q.n + 1, parts: q.parts, step: p.steps_before + step + 1,
        steps: p.steps_before + steps.length + p.steps_after };
      progressText.textContent = format(step < 0 ? texts.progress_part : texts.progress, values);
      progressBar.max = Math.max(1, p.before + shown.length + p.after);
      progressBar.value = p.before + Math.max(0, shown.indexOf(current));
    }

    function record(id, value) {
      if (JSON.stringify(answers[id]) === JSON.stringify(value)) { return; }
      answers[id] = value;
      refresh();
      if (preview) { return; }
      prefetchNext();
      AnswerStore.put(session, q.key, q.version, id, value).then(sync);
    }

    function onChange(event) {
      var item = event.target.closest(".cq-item");
      if (!item) { return; }
      F.exclusive(item, event.target);
      var value = F.readItem(item);
      var problem = F.numberProblem(item, value, texts.number) || F.dateProblem(item, value) ||
        F.choicesProblem(item, value);
      F.showError(item, problem);
      if (!problem) { record(item.dataset.item, value); }
    }

    function validate(number) {
      var firstProblem = null;
      itemsOf(screen(number)).forEach(function (item) {
        if (item.hidden) { return; }
        var value = F.readItem(item);
        var problem = F.numberProblem(item, value, texts.number) || F.dateProblem(item, value) ||
          F.choicesProblem(item, value) ||
          (item.hasAttribute("data-required") && value === null ? texts.required : null);
        F.showError(item, problem);
        if (problem && !firstProblem) { firstProblem = item; }
        if (!problem) { record(item.dataset.item, value); }
      });
      return firstProblem;
    }

    function show(number) {
      screens.forEach(function (el) { el.hidden = Number(el.dataset.screen) !== number; });
      current = number;
      shownField.value = itemsOf(screen(number)).filter(function (item) { return !item.hidden; })
        .map(function (item) { return item.dataset.item; }).join(" ");
      form.action = config.urls.screen + number;
      history.replaceState(null, "", config.urls.screen + number);
      document.querySelectorAll('input[name="next"]').forEach(function (input) { input.value = location.pathname; });
      updateProgress();
      window.scrollTo(0, 0);
      screen(number).focus();
    }

    function leave(url) { within(sync(), 3000).then(function () { location.assign(url); }); }

    function move(forward, from) {
      var shown = shownNumbers();
      var target = forward ? shown.find(function (n) { return n > from; })
        : shown.filter(function (n) { return n < from; }).pop();
      if (target === undefined) { leave(forward ? config.urls.next : config.urls.previous); } else { show(target); }
    }

    var prefetched = false;
    function prefetchNext() {  // keep the next page on the device, for a connection that drops
      if (prefetched || navigator.onLine === false || !/\/q\//.test(config.urls.next)) { return; }
      prefetched = true;
      fetch(config.urls.next, { credentials: "same-origin" }).then(function (response) {
        return response.ok ? response.text().then(function (html) { return keepPage(html, response.url); }) : null;
      }).catch(function () { return null; });
    }

    form.addEventListener("change", onChange);
    document.addEventListener("cq-newer-answer", function (event) {  // kept from another device
      var newer = event.detail;
      if (newer.questionnaire !== q.key || newer.version !== q.version || !(newer.item in answers)) { return; }
      answers[newer.item] = newer.value;
      if (items[newer.item]) { F.writeItem(items[newer.item], newer.value); }
      refresh();
    });
    form.querySelectorAll(".cq-nav button").forEach(function (button) {
      // keep the focus in a field while Next or Back is pressed: a message that goes away on blur would
      // otherwise move the button away under the finger
      button.addEventListener("mousedown", function (event) { event.preventDefault(); });
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (event.submitter && event.submitter.value === "back") { move(false, current); return; }
      var problem = validate(current);
      if (problem) {
        var field = problem.querySelector("input, textarea");
        if (field) { field.focus(); }
        return;
      }
      move(true, current);
    });
    form.querySelectorAll("input[data-slider]").forEach(F.enhanceSlider);
    if (!preview) { keepPage(pristine, location.href); }
    F.addReadAloud(form, texts);

    (preview ? Promise.resolve([]) : unsealed.then(function () { return AnswerStore.all(session); })).then(function (records) {  // what this device has that the page may not
      records.forEach(function (r) {
        if (r.questionnaire !== q.key || r.version !== q.version) { return; }
        answers[r.item] = r.value;
        if (items[r.item]) { F.writeItem(items[r.item], r.value); }
      });
      refresh();
      // a page kept on the device may stand for another screen of it; a preview is always the server's answer
      var wanted = preview ? current : Number((location.pathname.match(/\/(\d+)$/) || [])[1]);
      var back = new URLSearchParams(location.search).get("dir") === "back";
      var from = wanted >= first && wanted < first + screens.length ? wanted : current;
      if (visible(from)) { if (from !== current) { show(from); } } else { move(!back, from); }
      return sync();
    }).then(pendingCount).then(function (count) { if (!count) { setStatus("", ""); } });
  }

  /* ------------------------------------------------------------ review and send */
  function Review(form) {
    var button = form.querySelector("button[type=submit]");
    function refreshWhenSent() {
      pendingCount().then(function (count) {
        if (!count) { return; }
        if (navigator.onLine === false) { setStatus("pending"); return; }
        sync().then(function (sent) { if (sent) { location.reload(); } });
      });
    }
    refreshWhenSent();
    window.addEventListener("online", refreshWhenSent);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (navigator.onLine === false) { setStatus("offline", texts.submit_offline); return; }
      button.disabled = true;
      setStatus("saving", texts.sending);
      AnswerStore.all(session).then(function (records) {
        var pending = records.filter(function (r) { return !r.sent; }).map(AnswerStore.entry);
        return send("POST", config.urls.submit, { idempotency_key: form.elements.idempotency_key.value, answers: pending });
      }).then(function (response) {
        if (response.ok || response.status === 409) {
          return clearDevice().then(function () { location.replace(config.urls.done); });
        }
        return response.json().then(function (data) {
          button.disabled = false;
          setStatus("refused", data.message || texts.submit_failed);
          if (data.code === "required_unanswered") { location.reload(); }
        });
      }).catch(function () {
        button.disabled = false;
        setStatus("offline", texts.submit_offline);
      });
    });
  }

  /* ------------------------------------------------------------ the counsellor ends client mode */
  function Leaving(form) {  // send what the device keeps (sealed answers too), then end: that clears it
    var warned = false, ended = false;
    function end() {
      if (!ended) { ended = true; submitPlainly(form); }
    }
    function endWhenSent() {  // the answers are sent again and again (sync retries) until none is left
      return unsealed.then(function () { return within(sync(), 15000); }).then(pendingCount).then(function (count) {
        if (!count) { end(); return; }
        warned = true;
        setStatus("pending", texts.leaving_unsent);
        setTimeout(endWhenSent, 3000);
      });
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (warned) { end(); }  // told what is not sent yet, the counsellor ends all the same
    });
    endWhenSent();
  }

  /* ------------------------------------------------------------ start */
  function registerWorker() {  // at the first touch: a first look at a page costs no more than the page
    ["pointerdown", "keydown"].forEach(function (name) { document.removeEventListener(name, registerWorker, true); });
    navigator.serviceWorker.register(config.urls.sw).catch(function () { return null; });
  }

  if (config) {
    var questionnaireForm = document.querySelector(".cq-form");
    var submitForm = document.querySelector("[data-submit-form]");
    var leavingForm = document.querySelector("[data-leaving-form]");
    if (questionnaireForm) { Questionnaire(questionnaireForm); }
    if (submitForm) { Review(submitForm); }
    if (leavingForm) { Leaving(leavingForm); }
    if (config.idle_seconds) { watchIdle(config.idle_seconds); }
    unsealed.then(function (count) {  // a page of questions, the review or the leaving page sends them itself
      if (!count || questionnaireForm || submitForm || leavingForm) { return; }
      sync().then(function (sent) { if (sent) { location.reload(); } });  // "Continue" then leads on from them
    });
    if ("serviceWorker" in navigator && !preview) {
      ["pointerdown", "keydown"].forEach(function (name) { document.addEventListener(name, registerWorker, true); });
    }
  }
  var offlinePage = document.querySelector("[data-offline-page]");
  if (offlinePage) {
    var carriedOn = false;
    var carryOn = function () {
      if (carriedOn) { return; }
      carriedOn = true;
      if (!sendPendingLock()) { location.reload(); }
    };
    // the connection may come back before this page listens, or the server be out of reach on a working
    // network (no "online" event then): ask the server for this page now and then, less often with time
    var askServer = function (delay) {
      setTimeout(function () {
        fetch(offlinePage.dataset.probe, { cache: "no-store" }).then(function (response) {  // app and database
          if (response.ok) { carryOn(); } else { askServer(Math.min(delay * 2, 60000)); }
        }, function () { askServer(Math.min(delay * 2, 60000)); });
      }, delay);
    };
    window.addEventListener("online", carryOn);
    if (location.pathname !== offlinePage.dataset.probe) { askServer(3000); }  // not when opened itself
    document.querySelectorAll("[data-retry]").forEach(function (link) {
      link.addEventListener("click", function (event) { if (sendPendingLock()) { event.preventDefault(); } });
    });
  } else if (config && session && !preview) {
    takePendingLock();  // this page was served by an open session: no lock is waiting any more
  }
}());
