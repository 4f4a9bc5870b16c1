// The report batch's page: what its progress message says (job_progress.js polls the batch and shows it).
JobProgress.watch("batch", function (state, texts) {
  "use strict";
  function fill(text) {
    return text.replace("{done}", state.done + (state.status === "running" ? state.failed : 0))
      .replace("{total}", state.total).replace("{failed}", state.failed);
  }
  var failures = state.failed ? " " + fill(texts.textFailures) : "";
  if (state.status === "done") { return fill(texts.textDone) + failures; }
  if (state.status === "running") { return fill(texts.textRunning) + failures; }
  return JobProgress.textFor(texts, state.status, texts.textFailed) + failures;
});
