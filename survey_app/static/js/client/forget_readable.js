/* A page without the client's session (the lock screen, a phone that stopped or was closed for privacy):
 * whatever of the client is still readable on the device goes (answers a page could not seal, pages kept
 * for offline use); answers sealed there stay for the next page of that session to send. */
(function () {
  "use strict";
  if (window.AnswerStore) { AnswerStore.clear(); AnswerStore.forgetPages(); }
}());
