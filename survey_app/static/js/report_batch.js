// Polls a report batch's status and updates the progress bar; shows the download link when the ZIP is ready.
(function () {
  "use strict";
  var box = document.getElementById("batch-progress");
  if (!box) { return; }
  var bar = document.getElementById("batch-bar");
  var message = document.getElementById("batch-message");
  var link = document.getElementById("batch-download");
  var refresh = box.querySelector(".js-hide");
  if (refresh) { refresh.hidden = true; }

  function fill(text, state) {
    return text.replace("{done}", state.done + (state.status === "running" ? state.failed : 0))
      .replace("{total}", state.total).replace("{failed}", state.failed);
  }

  function show(state) {
    bar.value = state.percent;
    bar.textContent = state.percent + "%";
    var failures = state.failed ? " " + fill(box.dataset.textFailures, state) : "";
    if (state.status === "done") {
      message.textContent = fill(box.dataset.textDone, state) + failures;
      if (state.download_url) { link.href = state.download_url; link.hidden = false; }
      return true;
    }
    if (state.status === "running") {
      message.textContent = fill(box.dataset.textRunning, state) + failures;
      return false;
    }
    var key = "text" + state.status.charAt(0).toUpperCase() + state.status.slice(1);
    message.textContent = (box.dataset[key] || box.dataset.textFailed) + failures;
    return true;
  }

  function poll() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (state) { if (!show(state)) { window.setTimeout(poll, 1000); } })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  poll();
}());
