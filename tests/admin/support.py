"""Questionnaire files for the admin tests: next versions of bank questionnaires, and a new form."""

from __future__ import annotations

from typing import Any

from tests.builders import choice_item, document, dump, text
from tests.client.support import BANK

#: What WHO-5 v2 rewords (item 2, in English).
REWORDED = "Over the last two weeks, I have felt calm and at ease."
FOLLOW_UP = "What made the last two weeks hard?"
RSES_FOLLOW_UP = "What would help you feel better about yourself?"


def next_version(
    key: str, *, follow_up: tuple[str, str, str], before_item: str, reword: tuple[str, str] = ("", "")
) -> str:
    """Version 2 of a bank questionnaire: a text follow-up shown by a skip rule, scores declared comparable.

    ``follow_up`` is (item id, skip rule, English question); it is asked just before ``before_item``.
    ``reword`` replaces one English text by another.
    """
    item_id, rule, question = follow_up
    source = (BANK / key / "v1.yaml").read_text(encoding="utf-8").replace("version: 1\n", "version: 2\n", 1)
    if reword[0]:
        source = source.replace(f"en: {reword[0]}", f"en: {reword[1]}", 1)
    asked = (
        f"      - id: {item_id}\n"
        "        type: text\n"
        "        max_length: 200\n"
        f'        show_if: "{rule}"\n'
        "        text:\n"
        f"          en: {question}\n"
        f"          nl: {question} (nl)\n"
        f"          fr: {question} (fr)\n"
    )
    source = source.replace(f"      - id: {before_item}\n", asked + f"      - id: {before_item}\n", 1)
    declaration = "comparable_with:\n  - version: 1\n    note: Item 2 reworded after cognitive interviews.\n"
    return source.replace("\nexamples:\n", "\n" + declaration + "\nexamples:\n", 1)


def who5_v2() -> str:
    """WHO-5 v2: item 2 reworded, a follow-up after item 1 for those who answered "at no time"."""
    return next_version(
        "who5",
        follow_up=("who5_hard", "who5_cheerful == 0", FOLLOW_UP),
        before_item="who5_calm",
        reword=("Over the last two weeks, I have felt calm and relaxed.", REWORDED),
    )


def rses_v2() -> str:
    """RSES v2: a follow-up after item 1 for those who strongly disagree with it."""
    return next_version(
        "rses", follow_up=("rses_help", "rses_satisfied == 0", RSES_FOLLOW_UP), before_item="rses_no_good"
    )


def new_form(key: str = "pilot", **overrides: Any) -> str:
    """A new questionnaire (v1) of five items scored as one sum, with a skip rule on the last item."""
    data = document(key=key, title=text("Pilot form"), short_title=text("Pilot"), **overrides)
    items = data["sections"][0]["items"]
    items.append({**choice_item("q6"), "show_if": "q1 >= 3"})
    return dump(data)
