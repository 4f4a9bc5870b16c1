"""A 50-item benchmark questionnaire and a hand-written scorer for the same rules (the baseline)."""

from __future__ import annotations

import random
from typing import Any

from survey_app.domain.questionnaire import Questionnaire
from survey_app.questionnaires.loader import load_questionnaire_text

SUBSCALES = 5
ITEMS_PER_SUBSCALE = 10
ITEM_COUNT = SUBSCALES * ITEMS_PER_SUBSCALE
REVERSED = {f"b{n:02d}" for n in range(1, ITEM_COUNT + 1) if n % 4 == 0}


def _text(word: str) -> dict[str, str]:
    return {"en": word, "nl": word, "fr": word}


def bench_document() -> dict[str, Any]:
    """Five 10-item subscales (sums, a fifth reversed, project missing rule), a banded mean total, a flag."""
    ids = [f"b{n:02d}" for n in range(1, ITEM_COUNT + 1)]
    options = [{"code": code, "label": _text(f"option {code}")} for code in range(1, 6)]
    scales: list[dict[str, Any]] = []
    for index in range(SUBSCALES):
        members = ids[index * ITEMS_PER_SUBSCALE : (index + 1) * ITEMS_PER_SUBSCALE]
        scales.append(
            {
                "id": f"sub{index + 1}",
                "label": _text(f"Subscale {index + 1}"),
                "method": "sum",
                "items": members,
                "reverse": [item for item in members if item in REVERSED],
                "range": [10, 50],
                "precision": 0,
                "direction": "higher_is_better",
            }
        )
    scales.append(
        {
            "id": "total",
            "label": _text("Total"),
            "method": "mean",
            "items": ids,
            "missing": {"max_missing": 10},
            "reverse": sorted(REVERSED),
            "range": [1, 5],
            "precision": 2,
            "direction": "higher_is_better",
            "bands": [
                {"id": "low", "min": 1, "max": 2.49, "label": _text("Low")},
                {"id": "middle", "min": 2.5, "max": 3.49, "label": _text("Middle")},
                {"id": "high", "min": 3.5, "max": 5, "label": _text("High")},
            ],
        }
    )
    full = dict.fromkeys(ids, 3)
    return {
        "format": 1,
        "key": "bench50",
        "version": 1,
        "title": _text("Benchmark"),
        "short_title": _text("Bench"),
        "domain": "health",
        "citation": "Benchmark instrument.",
        "licence": "CC0",
        "languages": {
            language: {"validated": False, "source": "benchmark"} for language in ("en", "nl", "fr")
        },
        "response_options": {"agree5": options},
        "sections": [
            {
                "id": "main",
                "items": [
                    {"id": item_id, "type": "single_choice", "options": "agree5", "text": _text(item_id)}
                    for item_id in ids
                ],
            }
        ],
        "scoring": {
            "scales": scales,
            "flags": [
                {"id": "b50_high", "when": "b50 >= 5", "severity": "attention", "label": _text("b50 high")}
            ],
        },
        "examples": [
            {
                "name": f"all threes {n}",
                "answers": full,
                "expect": {"scales": {"total": {"value": 3, "band": "middle"}}},
            }
            for n in range(3)
        ],
    }


def bench_questionnaire() -> Questionnaire:
    """The benchmark questionnaire, loaded through the real loader."""
    import yaml

    class NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return load_questionnaire_text(yaml.dump(bench_document(), Dumper=NoAliases), "bench50/v1.yaml")


def answer_sets(count: int, seed: int = 7) -> list[dict[str, int]]:
    """Deterministic answer sets: mostly complete, some with missing items."""
    rng = random.Random(seed)
    sets = []
    for _ in range(count):
        answers = {f"b{n:02d}": rng.randint(1, 5) for n in range(1, ITEM_COUNT + 1)}
        for item_id in rng.sample(sorted(answers), rng.choice((0, 0, 0, 1, 2, 3))):
            del answers[item_id]
        sets.append(answers)
    return sets


def hand_written_score(answers: dict[str, int]) -> dict[str, Any]:
    """The same rules written by hand for this one questionnaire, as projects do today (the baseline)."""
    result: dict[str, Any] = {}
    all_values = []
    for index in range(SUBSCALES):
        values = []
        missing = 0
        for n in range(index * ITEMS_PER_SUBSCALE + 1, (index + 1) * ITEMS_PER_SUBSCALE + 1):
            item_id = f"b{n:02d}"
            value = answers.get(item_id)
            if value is None:
                missing += 1
                continue
            values.append(6 - value if item_id in REVERSED else value)
        all_values.extend(values)
        total = sum(values) / len(values) * ITEMS_PER_SUBSCALE if missing <= 2 else None
        result[f"sub{index + 1}"] = total
    mean = sum(all_values) / len(all_values) if ITEM_COUNT - len(all_values) <= 10 else None
    band = None
    if mean is not None:
        rounded = round(mean + 1e-9, 2)
        band = "low" if rounded < 2.5 else "middle" if rounded < 3.5 else "high"
    result["total"] = (mean, band)
    result["flags"] = ["b50_high"] if answers.get("b50") == 5 else []
    return result
