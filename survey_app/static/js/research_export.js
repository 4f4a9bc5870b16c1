// Polls an export's status and updates the progress bar; shows the download link when the export is done.
(function () {
  "use strict";
  var box = document.getElementById("export-progress");
  if (!box) { return; }
  var bar = document.getElementById("export-bar");
  var message = document.getElementById("export-message");
  var link = document.getElementById("export-download");
  var refresh = box.querySelector(".js-hide");
  if (refresh) { refresh.hidden = true; }

  function show(state) {
    bar.value = state.percent;
    bar.textContent = state.percent + "%";
    if (state.status === "done") {
      message.textContent = box.dataset.textDone;
      link.href = state.download_url;
      link.hidden = false;
      return true;
    }
    if (state.status === "failed" || state.status === "interrupted") {
      message.textContent = box.dataset["text" + state.status.charAt(0).toUpperCase() + state.status.slice(1)];
      return true;
    }
    message.textContent = box.dataset.textRunning
      .replace("{rows}", state.rows_written)
      .replace("{total}", state.rows_total === null ? "?" : state.rows_total);
    return false;
  }

  function poll() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (state) { if (!show(state)) { window.setTimeout(poll, 1000); } })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  poll();
}());
