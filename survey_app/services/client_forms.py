"""The screens of a questionnaire on the client's tablet, built from the stored version (never by hand).

One builder turns a domain ``Questionnaire`` into screens: an optional introduction (the instructions), then
one screen per item, or one per section shown ``together``. Skip rules decide which screens are shown; the
same rules go to the browser as JSON (``skip_rules``) and are evaluated there with the same semantics.
Form values (plain HTML forms, the path without JavaScript) are parsed into stored answers here too.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from survey_app.domain.answers import is_unanswered
from survey_app.domain.logic import to_json
from survey_app.domain.questionnaire import Item, ItemType, Questionnaire, Section, localise

__all__ = [
    "PAGE_ITEMS",
    "FormValueError",
    "Screen",
    "answer_label",
    "build_pages",
    "build_screens",
    "first_visible_screen",
    "is_declined",
    "next_visible_screen",
    "page_of",
    "parse_form_value",
    "previous_visible_screen",
    "read_aloud_text",
    "screen_is_visible",
    "section_starts_on",
    "skip_rules",
    "unanswered_required",
]


class FormValueError(ValueError):
    """A form field that is not a possible answer (the message is safe to show)."""


@dataclass(frozen=True)
class Screen:
    """One page of a questionnaire: the introduction, or the items asked together."""

    index: int
    kind: Literal["intro", "items"]
    section: Section | None = None
    items: tuple[Item, ...] = ()


def build_screens(questionnaire: Questionnaire) -> tuple[Screen, ...]:
    """Every screen of the questionnaire in order (skip rules are applied when navigating)."""
    screens: list[Screen] = []
    if questionnaire.instructions:
        screens.append(Screen(0, "intro"))
    for section in questionnaire.sections:
        groups = [section.items] if section.display == "together" else [(item,) for item in section.items]
        for items in groups:
            screens.append(Screen(len(screens), "items", section, tuple(items)))
    return tuple(screens)


#: A long questionnaire is sent in parts of about this many items (one page each), so a page stays light.
PAGE_ITEMS = 20


def build_pages(screens: Sequence[Screen], max_items: int = PAGE_ITEMS) -> tuple[range, ...]:
    """Consecutive screens in pages of at most ``max_items`` items (a bigger screen gets its own page)."""
    pages: list[range] = []
    start, count = 0, 0
    for screen in screens:
        weight = max(1, len(screen.items))
        if count and count + weight > max_items:
            pages.append(range(start, screen.index))
            start, count = screen.index, 0
        count += weight
    if screens:
        pages.append(range(start, len(screens)))
    return tuple(pages)


def page_of(pages: Sequence[range], index: int) -> range:
    """The page that holds screen ``index``."""
    return next(page for page in pages if index in page)


def screen_is_visible(screen: Screen, hidden: Collection[str]) -> bool:
    """An introduction is always shown; an item screen when at least one of its items is not hidden."""
    return screen.kind == "intro" or any(item.id not in hidden for item in screen.items)


def first_visible_screen(screens: Sequence[Screen], hidden: Collection[str]) -> int:
    """The index of the first screen shown."""
    return next((s.index for s in screens if screen_is_visible(s, hidden)), 0)


def next_visible_screen(screens: Sequence[Screen], index: int, hidden: Collection[str]) -> int | None:
    """The next screen shown after ``index``, or None at the end of the questionnaire."""
    return next((s.index for s in screens[index + 1 :] if screen_is_visible(s, hidden)), None)


def previous_visible_screen(screens: Sequence[Screen], index: int, hidden: Collection[str]) -> int | None:
    """The screen shown before ``index``, or None at the start of the questionnaire."""
    earlier = [s.index for s in screens[: max(index, 0)] if screen_is_visible(s, hidden)]
    return earlier[-1] if earlier else None


def section_starts_on(screens: Sequence[Screen], index: int, hidden: Collection[str]) -> bool:
    """True when this screen is the first shown screen of its section (its title and intro go here)."""
    screen = screens[index]
    if screen.section is None:
        return False
    for earlier in screens[:index]:
        if earlier.section is screen.section and screen_is_visible(earlier, hidden):
            return False
    return True


def skip_rules(questionnaire: Questionnaire) -> dict[str, Any]:
    """The skip rules and declined codes as JSON for the browser's interpreter (same order as the server)."""
    rules = [
        {
            "item": item.id,
            "section": to_json(section.show_if) if section.show_if is not None else None,
            "rule": to_json(item.show_if) if item.show_if is not None else None,
        }
        for section in questionnaire.sections
        for item in section.items
        if section.show_if is not None or item.show_if is not None
    ]
    declined = {item.id: sorted(item.missing_codes) for item in questionnaire.items if item.missing_codes}
    return {"rules": rules, "declined": declined}


def unanswered_required(
    questionnaire: Questionnaire, answers: Mapping[str, Any], hidden: Collection[str]
) -> list[str]:
    """Ids of required items that are shown but have no answer."""
    return [
        item.id
        for item in questionnaire.items
        if item.required and item.id not in hidden and answers.get(item.id) in (None, [], "")
    ]


def read_aloud_text(item: Item, language: str) -> str:
    """What the read-aloud button says: the item's own read-aloud text, or the question and its options."""
    if item.read_aloud:
        return localise(item.read_aloud, language)
    parts = [localise(item.text, language), localise(item.help, language)]
    parts += [localise(option.label, language) for option in item.options]
    return ". ".join(part.rstrip(".") for part in parts if part) + "."


def answer_label(item: Item, value: Any, language: str) -> str | None:
    """The answer as the client gave it (option labels, number with unit), or None when unanswered."""
    if value is None or value == []:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and (option := item.option(value)):
        return localise(option.label, language)
    if isinstance(value, list):
        labels = [item.option(code) for code in value]
        return ", ".join(localise(option.label, language) for option in labels if option is not None)
    if item.type.is_number and item.unit:
        return f"{value} {localise(item.unit, language)}"
    return str(value)


def is_declined(item: Item, value: Any) -> bool:
    """True when the answer is a declared missing code ("I'd rather not say")."""
    return value is not None and value != [] and is_unanswered(item, value)


def parse_form_value(item: Item, values: Sequence[str], declined: Sequence[str] = ()) -> Any:
    """Turn the submitted form field(s) of an item into a stored value (None: no answer)."""
    picked_decline = next((text for text in declined if text.strip()), None)
    if picked_decline is not None:
        return _code(item, picked_decline)
    texts = [text.strip() for text in values if text.strip()]
    if item.type is ItemType.MULTIPLE_CHOICE:
        return sorted({_code(item, text) for text in texts}) or None
    if not texts:
        return None
    text = texts[-1]
    if item.type.is_choice:
        return _code(item, text)
    if item.type.is_number:
        return _whole_number(text)
    if item.type is ItemType.TEXT:
        return values[-1].replace("\r\n", "\n").strip()
    return text


#: A whole number as typed: an optional minus sign, then decimal digits (of any script ``int`` reads).
_WHOLE_NUMBER = re.compile(r"-?\d+")


def _code(item: Item, text: str) -> int:
    try:
        code = int(text)
    except ValueError:
        raise FormValueError("invalid_code") from None
    if code not in item.codes:
        raise FormValueError("invalid_code")
    return code


def _whole_number(text: str) -> int:
    cleaned = text.replace(" ", "")
    if not _WHOLE_NUMBER.fullmatch(cleaned) or len(cleaned) > 9:
        raise FormValueError("not_a_number")
    return int(cleaned)
