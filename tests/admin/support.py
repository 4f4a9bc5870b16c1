"""Questionnaire files for the admin tests: the next version of WHO-5, and a new form with a skip rule."""

from __future__ import annotations

from typing import Any

from tests.builders import choice_item, document, dump, text
from tests.client.support import BANK

WHO5_V1 = BANK / "who5" / "v1.yaml"
#: What the next version of WHO-5 changes: item 2 reworded in English, and an item after item 1 shown only
#: to those who answered it with "at no time" (code 0).
REWORDED = "Over the last two weeks, I have felt calm and at ease."
FOLLOW_UP = "What made the last two weeks hard?"


def who5_v2() -> str:
    """WHO-5 v2: item 2 reworded, a follow-up with a skip rule, scores declared comparable with v1."""
    source = WHO5_V1.read_text(encoding="utf-8")
    source = source.replace("version: 1\n", "version: 2\n", 1)
    source = source.replace(
        "en: Over the last two weeks, I have felt calm and relaxed.", f"en: {REWORDED}", 1
    )
    follow_up = (
        "      - id: who5_hard\n"
        "        type: text\n"
        "        max_length: 200\n"
        '        show_if: "who5_cheerful == 0"\n'
        "        text:\n"
        f"          en: {FOLLOW_UP}\n"
        "          nl: Wat maakte de afgelopen twee weken moeilijk?\n"
        "          fr: Qu'est-ce qui a rendu ces deux semaines difficiles ?\n"
    )
    source = source.replace("      - id: who5_calm\n", follow_up + "      - id: who5_calm\n", 1)
    declaration = (
        "comparable_with:\n  - version: 1\n    note: Item 2 reworded after cognitive interviews.\n\n"
    )
    return source.replace("\nexamples:\n", "\n" + declaration + "examples:\n", 1)


def new_form(key: str = "pilot", **overrides: Any) -> str:
    """A new questionnaire (v1) of five items scored as one sum, with a skip rule on the last item."""
    data = document(key=key, title=text("Pilot form"), short_title=text("Pilot"), **overrides)
    items = data["sections"][0]["items"]
    items.append({**choice_item("q6"), "show_if": "q1 >= 3"})
    return dump(data)
