"""The form builder: screens from the stored questionnaire, skip rules for the browser, form values."""

from __future__ import annotations

import pytest

from survey_app.domain.logic import from_json
from survey_app.domain.scoring import hidden_items
from survey_app.services.client_forms import (
    FormValueError,
    answer_label,
    build_pages,
    build_screens,
    first_visible_screen,
    next_visible_screen,
    page_of,
    parse_form_value,
    previous_visible_screen,
    read_aloud_text,
    section_starts_on,
    skip_rules,
    unanswered_required,
)
from tests.builders import build
from tests.client.support import every_type_document

FORM = build(every_type_document())


def test_screens_follow_the_sections_one_item_or_one_together_section_each() -> None:
    screens = build_screens(FORM)
    assert [s.kind for s in screens] == ["intro"] + ["items"] * 8
    assert [[i.id for i in s.items] for s in screens[1:]] == [
        ["mood"], ["mood_why"], ["days_used", "days_ok"], ["income"], ["income_other"], ["rating"],
        ["first_day"], ["days_where"],
    ]  # fmt: skip
    assert [s.index for s in screens] == list(range(9))


def test_navigation_skips_screens_whose_items_are_all_hidden() -> None:
    screens = build_screens(FORM)
    hidden = hidden_items(FORM, {"mood": 1})  # mood_why, income_other and the follow section are hidden
    assert {"mood_why", "income_other", "days_where"} <= hidden
    assert first_visible_screen(screens, hidden) == 0
    assert next_visible_screen(screens, 1, hidden) == 3
    assert previous_visible_screen(screens, 3, hidden) == 1
    assert next_visible_screen(screens, 7, hidden) is None
    shown = hidden_items(FORM, {"mood": 4, "days_used": 3})
    assert next_visible_screen(screens, 1, shown) == 2 and next_visible_screen(screens, 7, shown) == 8


def test_a_section_title_goes_on_its_first_shown_screen() -> None:
    screens = build_screens(FORM)
    assert section_starts_on(screens, 1, frozenset()) and not section_starts_on(screens, 2, frozenset())
    assert not section_starts_on(screens, 0, frozenset())


def test_skip_rules_travel_as_json_that_reads_back_to_the_same_rules() -> None:
    rules = skip_rules(FORM)
    by_item = {entry["item"]: entry for entry in rules["rules"]}
    assert set(by_item) == {"mood_why", "days_ok", "income_other", "days_where"}
    assert by_item["days_where"]["rule"] is None
    assert from_json(by_item["days_where"]["section"]) == FORM.sections[3].show_if
    assert from_json(by_item["mood_why"]["rule"]) == FORM.item("mood_why").show_if
    assert rules["declined"] == {"days_used": [99], "income": [9]}


@pytest.mark.parametrize(
    ("item_id", "values", "declined", "expected"),
    [
        ("mood", ["3"], [], 3),
        ("mood", [""], [], None),
        ("days_ok", ["0"], [], 0),
        ("income", ["3", "1", "3"], [], [1, 3]),
        ("income", [], [], None),
        ("days_used", [" 12 "], [], 12),
        ("days_used", ["12"], ["99"], 99),
        ("days_used", [""], [], None),
        ("rating", ["7"], [], 7),
        ("first_day", ["2024-02-29"], [], "2024-02-29"),
        ("mood_why", ["  fine\r\nreally  "], [], "fine\nreally"),
    ],
)
def test_form_fields_become_stored_values(
    item_id: str, values: list[str], declined: list[str], expected: object
) -> None:
    assert parse_form_value(FORM.item(item_id), values, declined) == expected


@pytest.mark.parametrize(
    ("item_id", "values", "reason"),
    [("mood", ["7"], "invalid_code"), ("mood", ["x"], "invalid_code"), ("days_used", ["1.5"], "not_a_number"),
     ("days_used", ["seven"], "not_a_number"), ("income", ["4"], "invalid_code")],
)  # fmt: skip
def test_fields_that_cannot_be_answers_are_refused(item_id: str, values: list[str], reason: str) -> None:
    with pytest.raises(FormValueError, match=reason):
        parse_form_value(FORM.item(item_id), values)


def test_answers_are_shown_as_the_client_gave_them() -> None:
    assert answer_label(FORM.item("mood"), 2, "nl") == "option 2 (nl)"
    assert answer_label(FORM.item("income"), [1, 3], "en") == "Work, Other"
    assert answer_label(FORM.item("days_used"), 4, "en") == "4 days"
    assert answer_label(FORM.item("days_used"), 99, "fr") == "Rather not say (fr)"
    assert answer_label(FORM.item("days_used"), None, "en") is None


def test_read_aloud_says_the_question_and_its_options() -> None:
    assert read_aloud_text(FORM.item("days_ok"), "en").startswith("Was that fine. Yes. No")
    assert "option 4 (fr)" in read_aloud_text(FORM.item("mood"), "fr")


def test_required_items_that_are_shown_and_empty() -> None:
    assert unanswered_required(FORM, {}, frozenset()) == ["mood"]
    assert unanswered_required(FORM, {"mood": 1}, frozenset()) == []
    assert unanswered_required(FORM, {}, frozenset({"mood"})) == []


def test_long_questionnaires_are_sent_in_pages_of_whole_screens() -> None:
    screens = build_screens(FORM)  # item counts: intro 1, then 1, 1, 2, 1, 1, 1, 1, 1
    pages = build_pages(screens, max_items=4)
    assert pages == (range(0, 3), range(3, 6), range(6, 9))
    assert page_of(pages, 4) == range(3, 6) and page_of(pages, 8) == range(6, 9)
    assert build_pages(screens) == (range(0, 9),)
    assert build_pages(screens, max_items=1)[3] == range(3, 4)  # a screen bigger than a page gets its own
