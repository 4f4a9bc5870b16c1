"""Simulated answers that follow a person's latent well-being, so demo scores spread over the bands.

Pure and deterministic for a given random generator. Answers respect every item's codes and range and every
skip rule, and a small share of items is left unanswered or declined ("I'd rather not say").
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

from survey_app.domain.questionnaire import Direction, Item, ItemType, Questionnaire, Scale
from survey_app.domain.scoring import hidden_items


def _sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-value))


def _role(questionnaire: Questionnaire, item_id: str) -> Scale | None:
    """The first item-based scale the item is scored on."""
    return next((scale for scale in questionnaire.scales if item_id in scale.items), None)


def simulate_answers(
    questionnaire: Questionnaire,
    wellbeing: float,
    rng: random.Random,
    *,
    missing_rate: float = 0.03,
) -> dict[str, Any]:
    """Answers for one person whose well-being is `wellbeing` (about -2 to 2; higher is better)."""
    answers: dict[str, Any] = {}
    for item in questionnaire.items:
        if rng.random() < missing_rate:
            declined = sorted(item.missing_codes)
            if declined and rng.random() < 0.4:
                answers[item.id] = declined[0]
            continue
        value = _simulate_item(questionnaire, item, wellbeing, rng)
        if value is not None:
            answers[item.id] = value
    for item_id in hidden_items(questionnaire, answers):
        answers.pop(item_id, None)
    return answers


def _simulate_item(questionnaire: Questionnaire, item: Item, wellbeing: float, rng: random.Random) -> Any:
    scale = _role(questionnaire, item.id)
    better = _sigmoid(1.3 * wellbeing + rng.gauss(0.0, 0.7))  # 0..1, higher = better on this item
    worse_is_higher = scale is not None and scale.direction is Direction.HIGHER_IS_WORSE
    if item.type.is_number:
        return _simulate_number(item, better, worse_is_higher, rng)
    if item.type is ItemType.MULTIPLE_CHOICE:
        codes = [option.code for option in item.options if not option.missing]
        limit = min(len(codes), item.max_choices or 2, 2)
        return sorted(rng.sample(codes, rng.randint(1, limit)))
    if item.type is ItemType.DATE:
        return (dt.date(2026, 1, 1) - dt.timedelta(days=rng.randint(0, 365))).isoformat()
    if item.type is ItemType.TEXT:
        return None  # demo data never holds free text
    return _simulate_choice(item, scale, better, worse_is_higher, rng)


def _simulate_number(item: Item, better: float, worse_is_higher: bool, rng: random.Random) -> int:
    assert item.minimum is not None and item.maximum is not None
    low, high = item.minimum, item.maximum
    if worse_is_higher:
        if rng.random() < better:  # most people who are doing well report no days at all
            return low
        fraction = 1.0 - better
    else:
        fraction = better
    steps = (high - low) // item.step
    return low + item.step * round(fraction * steps)


def _simulate_choice(
    item: Item, scale: Scale | None, better: float, worse_is_higher: bool, rng: random.Random
) -> int:
    codes = sorted(option.code for option in item.options if not option.missing)
    if scale is None:
        return rng.choice(codes)
    target_fraction = 1.0 - better if worse_is_higher else better
    recode = scale.recode.get(item.id)
    keyed = {code: recode[code] if recode else code for code in codes}
    low, high = min(keyed.values()), max(keyed.values())
    target = low + target_fraction * (high - low)
    if item.id in scale.reverse:
        target = low + high - target
    best = min(abs(keyed[code] - target) for code in codes)
    return rng.choice([code for code in codes if abs(keyed[code] - target) == best])
