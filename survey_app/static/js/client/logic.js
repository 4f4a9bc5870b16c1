/* Skip rules in the browser: evaluates the JSON form of survey_app/domain/logic.py with the same semantics.
 *
 * An answer that is absent, null, "" or [] is unanswered; a comparison, `in`, `not in` or `contains` with an
 * unanswered item is false. `==` holds only for two equal numbers, two equal strings or two equal booleans;
 * `< <= > >=` need two numbers or two strings (strings by code point). A list answer equals nothing.
 * `effective()` mirrors survey_app.domain.scoring: declined codes (or a multiple choice of declined codes only)
 * count as no answer, and the rules run in form order, so an item hidden earlier counts as unanswered in later
 * rules.
 */
(function (global) {
  "use strict";

  var MISSING = { missing: true };

  function present(answer) {
    return !(answer === undefined || answer === null || answer === "" ||
      (Array.isArray(answer) && answer.length === 0));
  }

  function isNumber(v) { return typeof v === "number" && isFinite(v); }

  function comparable(a, b) {
    return (isNumber(a) && isNumber(b)) || (typeof a === "string" && typeof b === "string");
  }

  function codePoints(text) { return Array.from(text, function (ch) { return ch.codePointAt(0); }); }

  function order(a, b) {  // -1, 0 or 1; strings by code point as in Python
    if (isNumber(a)) { return a < b ? -1 : (a > b ? 1 : 0); }
    var x = codePoints(a), y = codePoints(b);
    for (var i = 0; i < Math.min(x.length, y.length); i++) {
      if (x[i] !== y[i]) { return x[i] < y[i] ? -1 : 1; }
    }
    return x.length === y.length ? 0 : (x.length < y.length ? -1 : 1);
  }

  function eq(a, b) {
    if (typeof a === "boolean" || typeof b === "boolean") { return a === b; }
    return comparable(a, b) && a === b;
  }

  var OPS = {
    "==": eq,
    "!=": function (a, b) { return !eq(a, b); },
    "<": function (a, b) { return comparable(a, b) && order(a, b) < 0; },
    "<=": function (a, b) { return comparable(a, b) && order(a, b) <= 0; },
    ">": function (a, b) { return comparable(a, b) && order(a, b) > 0; },
    ">=": function (a, b) { return comparable(a, b) && order(a, b) >= 0; }
  };

  function has(answers, name) { return Object.prototype.hasOwnProperty.call(answers, name); }

  function value(node, answers) {
    if (has(node, "item") && !has(node, "op")) {
      var answer = has(answers, node.item) ? answers[node.item] : undefined;
      return present(answer) ? answer : MISSING;
    }
    if (has(node, "value") && !has(node, "op")) { return node.value; }
    var op = node.op, args = node.args || [];
    if (op === "and") {
      for (var i = 0; i < args.length; i++) { if (!condition(args[i], answers)) { return false; } }
      return true;
    }
    if (op === "or") {
      for (var j = 0; j < args.length; j++) { if (condition(args[j], answers)) { return true; } }
      return false;
    }
    if (op === "not") { return !condition(args[0], answers); }
    if (op === "answered") { return present(has(answers, node.item) ? answers[node.item] : undefined); }
    if (op === "contains") {
      var list = has(answers, node.item) ? answers[node.item] : undefined;
      return Array.isArray(list) && list.some(function (x) { return eq(x, node.value); });
    }
    if (op === "in" || op === "not in") {
      var v = value(args[0], answers);
      if (v === MISSING) { return false; }
      var found = node.values.some(function (x) { return eq(v, x); });
      return found !== (op === "not in");
    }
    if (has(OPS, op)) {
      var a = value(args[0], answers), b = value(args[1], answers);
      return a !== MISSING && b !== MISSING && OPS[op](a, b);
    }
    throw new Error("not a rule node");
  }

  function condition(node, answers) {
    var result = value(node, answers);
    if (result === true || result === false) { return result; }
    throw new Error("a rule must be a condition");
  }

  /* The answers that count and the items hidden, for {rules: [{item, section, rule}], declined: {item: [codes]}}. */
  function effective(skip, answers) {
    var counted = Object.assign({}, answers), hidden = new Set();
    Object.keys(skip.declined || {}).forEach(function (item) {
      var v = counted[item];
      var codes = skip.declined[item];
      var declined = typeof v === "number" && Number.isInteger(v) ? codes.indexOf(v) >= 0 :
        Array.isArray(v) && v.length > 0 && v.every(function (code) { return codes.indexOf(code) >= 0; });
      if (declined) { counted[item] = null; }
    });
    (skip.rules || []).forEach(function (entry) {
      var shown = (entry.section === null || condition(entry.section, counted)) &&
        (entry.rule === null || condition(entry.rule, counted));
      if (!shown) { hidden.add(entry.item); delete counted[entry.item]; }
    });
    return { answers: counted, hidden: hidden };
  }

  global.SkipLogic = { evaluate: condition, effective: effective, present: present };
}(window));
