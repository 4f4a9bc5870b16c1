"""Small builders for questionnaire tests: a valid questionnaire document that a test changes in one place."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from survey_app.domain.questionnaire import Questionnaire
from survey_app.questionnaires.loader import load_questionnaire_text


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def text(word: str) -> dict[str, str]:
    """The same word in the three required languages."""
    return {"en": word, "nl": f"{word} (nl)", "fr": f"{word} (fr)"}


def agree4() -> list[dict[str, Any]]:
    """Four options coded 1-4."""
    return [{"code": code, "label": text(f"option {code}")} for code in range(1, 5)]


def choice_item(item_id: str, **extra: Any) -> dict[str, Any]:
    """A single-choice item on the shared `agree4` option set."""
    return {
        "id": item_id,
        "type": "single_choice",
        "options": "agree4",
        "text": text(f"Question {item_id}"),
        **extra,
    }


def document(item_count: int = 5, **overrides: Any) -> dict[str, Any]:
    """A complete, valid questionnaire document with `item_count` items q1..qN scored as one sum."""
    items = [choice_item(f"q{number}") for number in range(1, item_count + 1)]
    ids = [item["id"] for item in items]
    answers = {item_id: 2 for item_id in ids}
    data: dict[str, Any] = {
        "format": 1,
        "key": "demo",
        "version": 1,
        "title": text("Demo"),
        "short_title": text("Demo"),
        "domain": "health",
        "citation": "A citation.",
        "licence": "CC0",
        "languages": {"en": {"validated": True}, "nl": {"validated": False}, "fr": {"validated": False}},
        "response_options": {"agree4": agree4()},
        "sections": [{"id": "main", "items": items}],
        "scoring": {
            "scales": [
                {
                    "id": "total",
                    "label": text("Total"),
                    "method": "sum",
                    "items": ids,
                    "range": [item_count, 4 * item_count],
                    "precision": 0,
                    "direction": "higher_is_better",
                }
            ]
        },
        "examples": [
            {
                "name": f"example {n}",
                "answers": answers,
                "expect": {"scales": {"total": {"value": 2 * item_count}}},
            }
            for n in range(3)
        ],
    }
    data.update(overrides)
    return data


def dump(data: dict[str, Any]) -> str:
    """YAML text for a document, without anchors."""
    return yaml.dump(data, Dumper=_NoAliasDumper, allow_unicode=True, sort_keys=False)


def build(data: dict[str, Any] | None = None, **overrides: Any) -> Questionnaire:
    """Load a questionnaire from a document through the real loader."""
    return load_questionnaire_text(dump(data or document(**overrides)), "demo/v1.yaml")


def with_scale(data: dict[str, Any], **scale: Any) -> dict[str, Any]:
    """A copy of the document whose first scale has the given keys replaced (None removes a key)."""
    data = copy.deepcopy(data)
    target = data["scoring"]["scales"][0]
    for key, value in scale.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return data
