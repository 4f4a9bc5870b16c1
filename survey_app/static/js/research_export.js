// The export's page: what its progress message says (job_progress.js polls the export and shows it).
JobProgress.watch("export", function (state, texts) {
  "use strict";
  if (state.status === "done") { return texts.textDone; }
  if (state.status === "expired") { return state.error; }
  if (state.status === "failed" || state.status === "interrupted") {
    return JobProgress.textFor(texts, state.status, texts.textFailed);
  }
  return texts.textRunning.replace("{rows}", state.rows_written)
    .replace("{total}", state.rows_total === null ? "?" : state.rows_total);
});
