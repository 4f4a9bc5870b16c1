"""The browser's skip-rule interpreter (static/js/client/logic.js) agrees with the server's on a table of
cases and on the hidden items of the bundled questionnaires for many answer sets."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from survey_app.domain.logic import ExpressionError, evaluate, parse, to_json
from survey_app.domain.questionnaire import ItemType, Questionnaire
from survey_app.domain.scoring import hidden_items
from survey_app.questionnaires.loader import load_questionnaire_text
from survey_app.services.client_forms import skip_rules
from tests.browser.harness import TABLET
from tests.builders import build
from tests.client.support import BANK, every_type_document

LOGIC_JS = Path(__file__).resolve().parents[2] / "survey_app" / "static" / "js" / "client" / "logic.js"

ANSWERS: list[dict[str, Any]] = [
    {},
    {"a": 1, "b": 2, "m": [1, 3], "s": "abc", "t": "", "e": [], "n": None, "f": 2.5},
    {"a": 0, "b": 0, "m": [2], "s": "ABC", "t": "x"},
    {"a": 3, "b": 1.0, "m": [], "s": "\U0001f600", "t": "\uffff"},
    {"a": True, "b": "1", "m": [True, 1], "s": "b", "t": "a"},
]

RULES = [
    "a == 1", "a != 1", "a < b", "a <= b", "a > b", "a >= b", "a == b", "a != b",
    "a == 1.0", "b == 2", "a in [1, 3]", "a not in [1, 3]", "a in []", "a not in []",
    "answered(a)", "not answered(a)", "answered(t)", "answered(e)", "answered(n)", "answered(zz)",
    "contains(m, 1)", "contains(m, 3) and a == 1", "contains(s, 1)", "contains(m, true)",
    "s == \"abc\"", "s != \"abc\"", "s < t", "s > t", "s <= \"b\"", "t > s", "s == 1",
    "a == true", "a == \"1\"", "b == \"1\"", "m == 1", "m != 1", "m < 2",
    "zz == 1", "zz != 1", "not zz == 1", "zz not in [1]", "zz in [1]",
    "a == 1 or b == 0", "a == 1 and b == 0", "not (a == 1 or b == 2)", "not not answered(a)",
    "(a > 0 and (b > 0 or contains(m, 2))) or s == \"b\"",
    "f > 2", "f < 2.6", "f == 2.5", "-1 < a", "a >= -1",
    "true", "false", "a", "1", "\"x\"", "zz", "true and a == 1", "not a",
]  # fmt: skip


def _python(rule: str, answers: dict[str, Any]) -> object:
    try:
        return evaluate(parse(rule), answers)
    except ExpressionError:
        return "error"


def _page(open_page: Callable[..., Page]) -> Page:
    page = open_page(TABLET)
    page.goto("/client/start")
    page.evaluate(LOGIC_JS.read_text(encoding="utf-8"))
    return page


def test_the_browser_evaluates_rules_as_the_server_does(open_page: Callable[..., Page]) -> None:
    page = _page(open_page)
    cases = [(rule, answers) for rule in RULES for answers in ANSWERS]
    expected = [_python(rule, answers) for rule, answers in cases]
    assert {True, False, "error"} <= set(expected)  # the table exercises every outcome
    actual = page.evaluate(
        """cases => cases.map(([rule, answers]) => {
            try { return SkipLogic.evaluate(rule, answers); } catch (error) { return "error"; }
        })""",
        [[to_json(parse(rule)), answers] for rule, answers in cases],
    )
    differences = [
        (rule, answers, want, got)
        for (rule, answers), want, got in zip(cases, expected, actual, strict=True)
        if want != got
    ]
    assert differences == []


def _random_answers(questionnaire: Questionnaire, rng: random.Random) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for item in questionnaire.items:
        if rng.random() < 0.25:
            continue
        if item.type is ItemType.MULTIPLE_CHOICE:
            answers[item.id] = sorted(rng.sample(sorted(item.codes), rng.randint(1, min(2, len(item.codes)))))
        elif item.type.is_number:
            assert item.minimum is not None and item.maximum is not None
            choices = [
                item.minimum,
                item.maximum,
                rng.randint(item.minimum, item.maximum),
                *item.missing_codes,
            ]
            answers[item.id] = rng.choice(choices)
        elif item.codes:
            answers[item.id] = rng.choice(sorted(item.codes))
        else:
            answers[item.id] = rng.choice(["2025-01-02", "some text"])
    return answers


def test_the_browser_hides_the_same_items_as_the_server(open_page: Callable[..., Page]) -> None:
    page = _page(open_page)
    forms = [build(every_type_document())] + [
        load_questionnaire_text((BANK / key / "v1.yaml").read_text(encoding="utf-8"), f"{key}/v1.yaml")
        for key in ("functioning", "top", "phq9")
    ]
    rng = random.Random(20260101)
    cases, expected = [], []
    for form in forms:
        rules = skip_rules(form)
        for _ in range(60):
            answers = _random_answers(form, rng)
            cases.append([rules, answers])
            expected.append(sorted(hidden_items(form, answers)))
    assert any(expected) and not all(expected)
    actual = page.evaluate(
        "cases => cases.map(([skip, answers]) => [...SkipLogic.effective(skip, answers).hidden].sort())",
        cases,
    )
    assert actual == expected


def test_the_browser_sees_a_declined_multiple_choice_as_unanswered(open_page: Callable[..., Page]) -> None:
    data = every_type_document()
    data["sections"][2]["items"][1]["show_if"] = "answered(income)"
    form = build(data)
    page = _page(open_page)
    cases = [{"income": [9]}, {"income": [1, 3]}, {}]
    expected = [sorted(hidden_items(form, answers)) for answers in cases]
    assert expected[0] == expected[2] != expected[1]
    actual = page.evaluate(
        "cases => cases.map(([skip, answers]) => [...SkipLogic.effective(skip, answers).hidden].sort())",
        [[skip_rules(form), answers] for answers in cases],
    )
    assert actual == expected
