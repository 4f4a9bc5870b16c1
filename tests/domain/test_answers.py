"""Answer validation: every value is checked against the item it answers."""

from __future__ import annotations

import pytest

from survey_app.domain.answers import parse_answer_text, validate_answer, validate_answers
from survey_app.domain.questionnaire import Item, ItemType, Option

EN = {"en": "x", "nl": "x", "fr": "x"}
CHOICE = Item(
    "c", ItemType.SINGLE_CHOICE, EN, "s", options=(Option(0, EN), Option(1, EN), Option(9, EN, missing=True))
)
MULTI = Item(
    "m",
    ItemType.MULTIPLE_CHOICE,
    EN,
    "s",
    options=(Option(1, EN), Option(2, EN), Option(9, EN, True)),
    max_choices=2,
)
DAYS = Item("d", ItemType.INTEGER, EN, "s", minimum=0, maximum=28, options=(Option(99, EN, missing=True),))
SLIDER = Item("s", ItemType.SLIDER, EN, "s", minimum=0, maximum=100, step=5)
DATE = Item("t", ItemType.DATE, EN, "s", min_date="2020-01-01", max_date="2030-12-31")
TEXT = Item("x", ItemType.TEXT, EN, "s", max_length=10)


@pytest.mark.parametrize(
    ("item", "value"),
    [
        (CHOICE, 0),
        (CHOICE, 9),
        (MULTI, [1, 2]),
        (MULTI, [9]),
        (DAYS, 0),
        (DAYS, 28),
        (DAYS, 99),
        (SLIDER, 35),
        (DATE, "2024-02-29"),
        (TEXT, "ça va"),
        (CHOICE, None),
    ],
)
def test_valid_answers_pass(item: Item, value: object) -> None:
    assert validate_answer(item, value) is None


@pytest.mark.parametrize(
    ("item", "value", "message"),
    [
        (CHOICE, 2, "not an answer code"),
        (CHOICE, True, "not an answer code"),
        (CHOICE, "1", "not an answer code"),
        (MULTI, [1, 1], "chosen twice"),
        (MULTI, [1, 2, 3], "not answer codes"),
        (MULTI, [9, 1], "cannot be combined"),
        (MULTI, 1, "list of answer codes"),
        (DAYS, 29, "from 0 to 28"),
        (DAYS, -1, "from 0 to 28"),
        (DAYS, 2.5, "from 0 to 28"),
        (SLIDER, 33, "step of 5"),
        (DATE, "2024-02-30", "not a date"),
        (DATE, "2019-12-31", "before"),
        (DATE, "24-1-1", "not a date"),
        (TEXT, "x" * 11, "at most 10"),
        (TEXT, "bell\x07", "control characters"),
        (TEXT, 5, "takes text"),
    ],
)
def test_invalid_answers_say_what_is_wrong(item: Item, value: object, message: str) -> None:
    problem = validate_answer(item, value)
    assert problem is not None and message in problem


def test_cli_answer_text_parsing() -> None:
    assert parse_answer_text(CHOICE, " 1 ") == 1
    assert parse_answer_text(CHOICE, "") is None
    assert parse_answer_text(MULTI, "2|1") == [1, 2]
    assert parse_answer_text(DATE, "2024-01-01") == "2024-01-01"
    with pytest.raises(ValueError, match="not a whole number"):
        parse_answer_text(DAYS, "three")


def test_unknown_items_are_reported() -> None:
    from tests.builders import build

    problems = validate_answers(build(), {"q1": 1, "nope": 2, "q2": 7})
    assert set(problems) == {"nope", "q2"}
    assert "has no item 'nope'" in problems["nope"]
