"""What counts as a valid answer to an item, checked the same way in the API, the CLI and the loader."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from survey_app.domain.questionnaire import Item, ItemType, Questionnaire

_CONTROL_CHARACTERS = {chr(code) for code in range(32)} - {"\n", "\t"}


def validate_answer(item: Item, value: Any) -> str | None:
    """Return why `value` is not a valid answer to `item`, or None when it is (None itself is no answer)."""
    if value is None:
        return None
    if item.type.is_choice:
        return _check_code(item, value)
    if item.type is ItemType.MULTIPLE_CHOICE:
        return _check_codes(item, value)
    if item.type.is_number:
        return _check_number(item, value)
    if item.type is ItemType.DATE:
        return _check_date(item, value)
    return _check_text(item, value)


def validate_answers(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> dict[str, str]:
    """Check every answer against the questionnaire version; returns item id -> problem."""
    problems: dict[str, str] = {}
    for item_id, value in answers.items():
        item = questionnaire.items_by_id.get(item_id)
        if item is None:
            problems[item_id] = f"{questionnaire.label} has no item '{item_id}'"
            continue
        problem = validate_answer(item, value)
        if problem:
            problems[item_id] = problem
    return problems


def is_unanswered(item: Item, value: Any) -> bool:
    """True when the value is no answer or a declared missing code ("I'd rather not say")."""
    if value is None or value == []:
        return True
    return isinstance(value, int) and value in item.missing_codes


def parse_answer_text(item: Item, text: str) -> Any:
    """Turn a command-line answer into a stored value: empty is no answer, `1|3` a multiple choice."""
    text = text.strip()
    if not text:
        return None
    if item.type is ItemType.MULTIPLE_CHOICE:
        return sorted(_parse_int(part) for part in text.split("|"))
    if item.type in (ItemType.DATE, ItemType.TEXT):
        return text
    return _parse_int(text)


def _parse_int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"'{text.strip()}' is not a whole number") from None


def _allowed(item: Item) -> str:
    return ", ".join(str(code) for code in sorted(item.codes))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_code(item: Item, value: Any) -> str | None:
    if not _is_int(value) or value not in item.codes:
        return f"{value!r} is not an answer code of '{item.id}' (allowed: {_allowed(item)})"
    return None


def _check_codes(item: Item, value: Any) -> str | None:
    if not isinstance(value, list) or not all(_is_int(code) for code in value):
        return f"'{item.id}' takes a list of answer codes"
    unknown = [code for code in value if code not in item.codes]
    if unknown:
        return f"{unknown} are not answer codes of '{item.id}' (allowed: {_allowed(item)})"
    if len(set(value)) != len(value):
        return f"'{item.id}' has a code chosen twice"
    if item.max_choices is not None and len(value) > item.max_choices:
        return f"'{item.id}' allows at most {item.max_choices} choices"
    if len(value) > 1 and any(code in item.missing_codes for code in value):
        return f"'{item.id}': \"rather not say\" cannot be combined with other choices"
    return None


def _check_number(item: Item, value: Any) -> str | None:
    assert item.minimum is not None and item.maximum is not None
    if _is_int(value) and value in item.missing_codes:
        return None
    if not _is_int(value) or not item.minimum <= value <= item.maximum:
        return f"{value!r} is not a whole number from {item.minimum} to {item.maximum} for '{item.id}'"
    if (value - item.minimum) % item.step:
        return f"{value} is not a step of {item.step} from {item.minimum} for '{item.id}'"
    return None


def _check_date(item: Item, value: Any) -> str | None:
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        day = dt.date.fromisoformat(value)
    except ValueError:
        return f"{value!r} is not a date (YYYY-MM-DD) for '{item.id}'"
    if item.min_date and day < dt.date.fromisoformat(item.min_date):
        return f"{value} is before {item.min_date} for '{item.id}'"
    if item.max_date and day > dt.date.fromisoformat(item.max_date):
        return f"{value} is after {item.max_date} for '{item.id}'"
    return None


def _check_text(item: Item, value: Any) -> str | None:
    if not isinstance(value, str):
        return f"'{item.id}' takes text"
    if len(value) > item.max_length:
        return f"'{item.id}' takes at most {item.max_length} characters"
    if any(character in _CONTROL_CHARACTERS for character in value):
        return f"'{item.id}' contains control characters"
    return None
