// A background job's page (a report batch, a research export): polls the job's status, fills the progress
// bar and the message, and shows the download link once the job is done. The page's own script says what
// the message reads for each state; the texts come from the progress box's data-text-* attributes.
(function (global) {
  "use strict";
  var OVER = ["done", "failed", "interrupted", "expired"];

  /* The box's text for a state that ends the job (data-text-<status>), or `fallback`. */
  function textFor(texts, status, fallback) {
    return texts["text" + status.charAt(0).toUpperCase() + status.slice(1)] || fallback;
  }

  function watch(prefix, describe) {
    var box = document.getElementById(prefix + "-progress");
    if (!box) { return; }
    var bar = document.getElementById(prefix + "-bar");
    var message = document.getElementById(prefix + "-message");
    var link = document.getElementById(prefix + "-download");
    var refresh = box.querySelector(".js-hide");
    if (refresh) { refresh.hidden = true; }

    function show(state) {  // true once the job is over
      bar.value = state.percent;
      bar.textContent = state.percent + "%";
      message.textContent = describe(state, box.dataset);
      if (state.status === "done" && state.download_url) { link.href = state.download_url; link.hidden = false; }
      return OVER.indexOf(state.status) >= 0;
    }

    function poll() {
      fetch(box.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.json(); })
        .then(function (state) { if (!show(state)) { window.setTimeout(poll, 1000); } })
        .catch(function () { window.setTimeout(poll, 3000); });
    }
    poll();
  }

  global.JobProgress = { watch: watch, textFor: textFor };
}(window));
