/* The fields of one question on the client's tablet: read and write its answer, check a number, show a
 * message, the slider beside a number box, "rather not say" that goes alone, and the read-aloud buttons.
 */
(function (global) {
  "use strict";

  /* ------------------------------------------------------------ reading aloud */
  function readAloudButton(getText, labels) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "cq-read-aloud";
    button.textContent = labels.read_aloud;
    button.addEventListener("click", function () {
      if (speechSynthesis.speaking) {
        speechSynthesis.cancel();
        button.textContent = labels.read_aloud;
        return;
      }
      var utterance = new SpeechSynthesisUtterance(getText());
      utterance.lang = document.documentElement.lang || "en";
      utterance.onend = utterance.onerror = function () { button.textContent = labels.read_aloud; };
      button.textContent = labels.stop_reading;
      speechSynthesis.speak(utterance);
    });
    return button;
  }

  function textOf(element, selector) {
    return Array.from(element.querySelectorAll(selector)).map(function (node) { return node.textContent.trim(); })
      .filter(Boolean).join(". ");
  }

  function addReadAloud(root, labels) {
    if (!("speechSynthesis" in window) || typeof SpeechSynthesisUtterance !== "function") { return; }
    root.querySelectorAll(".cq-item").forEach(function (item) {
      var own = item.querySelector(".cq-read-text");
      item.appendChild(readAloudButton(function () {
        return own ? own.textContent : textOf(item, ".cq-question, .cq-help, .cq-option span, .cq-unit");
      }, labels));
    });
    root.querySelectorAll(".cq-screen").forEach(function (screen) {
      if (!screen.querySelector(".cq-item")) {
        screen.insertBefore(readAloudButton(function () { return textOf(screen, "h2, p"); }, labels),
          screen.querySelector(".cq-nav"));
      }
    });
  }

  function readItem(item) {
    var type = item.dataset.type, inputs = Array.from(item.querySelectorAll("input"));
    if (type === "multiple_choice") {
      var codes = inputs.filter(function (i) { return i.checked; }).map(function (i) { return Number(i.value); })
        .sort(function (a, b) { return a - b; });
      return codes.length ? codes : null;
    }
    if (type === "single_choice" || type === "yes_no") {
      var picked = inputs.find(function (i) { return i.checked; });
      return picked ? Number(picked.value) : null;
    }
    var declined = item.querySelector("input[data-declined]:checked");
    if (declined) { return Number(declined.value); }
    var field = item.querySelector(".cq-number, .cq-date, .cq-text");
    var raw = field ? field.value.replace(/\r\n/g, "\n").trim() : "";
    if (!raw) { return null; }
    if (type === "integer" || type === "slider") {
      raw = raw.replace(/\s/g, "");
      return /^-?\d{1,9}$/.test(raw) ? Number(raw) : NaN;  // NaN: not a whole number
    }
    return raw;
  }

  function writeItem(item, value) {
    item.querySelectorAll("input[type=radio], input[type=checkbox]").forEach(function (input) {
      var code = Number(input.value);
      input.checked = Array.isArray(value) ? value.indexOf(code) >= 0 : value === code;
    });
    var field = item.querySelector(".cq-number, .cq-date, .cq-text");
    if (!field) { return; }
    var declined = field.matches(".cq-number") && item.querySelector("input[data-declined]:checked");
    field.value = value === null || value === undefined || declined ? "" : String(value);
    field.dispatchEvent(new Event("client:set"));
  }

  function numberProblem(item, value, message) {
    var field = item.querySelector(".cq-number");
    if (!field || value === null || item.querySelector("input[data-declined]:checked")) { return null; }
    var low = Number(field.dataset.min), high = Number(field.dataset.max), step = Number(field.dataset.step || 1);
    if (isNaN(value) || value < low || value > high || (value - low) % step !== 0) {
      return message.replace("{low}", low).replace("{high}", high);
    }
    return null;
  }

  function dateProblem(item, value) {  // ISO dates compare as text; the page says which dates are taken
    var field = item.querySelector(".cq-date");
    if (!field || typeof value !== "string") { return null; }
    var outside = (field.min && value < field.min) || (field.max && value > field.max);
    return outside ? field.dataset.rangeError || null : null;
  }

  function choicesProblem(item, value) {  // more answers ticked than the question takes
    var most = Number(item.dataset.maxChoices);
    return most && Array.isArray(value) && value.length > most ? item.dataset.choicesError || null : null;
  }

  function showError(item, message) {
    var error = item.querySelector(".cq-error");
    if (!message) { if (error) { error.remove(); } return; }
    if (!error) {
      error = document.createElement("p");
      error.className = "cq-error";
      error.id = "err-" + item.dataset.item;
      item.appendChild(error);
    }
    error.textContent = message;
    var field = item.querySelector(".cq-number, .cq-date, .cq-text, fieldset");
    var ids = ((field && field.getAttribute("aria-describedby")) || "").split(" ").filter(Boolean);
    if (field && ids.indexOf(error.id) < 0) { field.setAttribute("aria-describedby", ids.concat(error.id).join(" ")); }
  }

  function enhanceSlider(field) {  // a range beside the number box (which stays the control for keyboards)
    var range = document.createElement("input"), item = field.closest(".cq-item");
    range.type = "range";
    range.className = "cq-slider";
    range.min = field.dataset.min;
    range.max = field.dataset.max;
    range.step = field.dataset.step || "1";
    range.tabIndex = -1;
    range.setAttribute("aria-hidden", "true");
    function fromField() {
      range.value = field.value || String((Number(range.min) + Number(range.max)) / 2);
      range.classList.toggle("cq-slider-unset", !field.value);
    }
    range.addEventListener("input", function () {
      field.value = range.value;
      range.classList.remove("cq-slider-unset");
      field.dispatchEvent(new Event("change", { bubbles: true }));
    });
    field.addEventListener("input", fromField);
    field.addEventListener("client:set", fromField);
    fromField();
    item.querySelector(".cq-number-row").before(range);
    var ends = item.querySelector(".cq-scale-ends");
    if (ends) { range.after(ends); }
  }

  function exclusive(item, target) {  // "rather not say" goes alone; any other answer unticks it
    if (target.matches("[data-declined]") && target.checked) {
      item.querySelectorAll("input[type=checkbox]").forEach(function (i) { if (i !== target) { i.checked = false; } });
      var field = item.querySelector(".cq-number");
      if (field) { field.value = ""; field.dispatchEvent(new Event("client:set")); }
    } else if ((target.type === "checkbox" && target.checked) || (target.matches(".cq-number") && target.value.trim())) {
      item.querySelectorAll("input[data-declined]").forEach(function (i) { i.checked = false; });
    }
  }

  global.ClientFields = {
    readItem: readItem, writeItem: writeItem, numberProblem: numberProblem, dateProblem: dateProblem,
    choicesProblem: choicesProblem, showError: showError,
    enhanceSlider: enhanceSlider, exclusive: exclusive, addReadAloud: addReadAloud
  };
}(window));
