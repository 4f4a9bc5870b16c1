/* The lock screen: whatever of the client is still readable on the device goes (answers a page could not
 * seal, pages kept for offline use); answers sealed at the lock stay for the unlocked page to send. */
(function () {
  "use strict";
  if (window.AnswerStore) { AnswerStore.clear(); AnswerStore.forgetPages(); }
}());
