"""Reliable change (Jacobson & Truax 1991) and clinically significant change."""

from __future__ import annotations

import math

import pytest

from survey_app.domain.change import (
    ChangeClass,
    ClinicalSignificance,
    ReliableChangeNotAvailable,
    reliable_change,
    standard_error_of_difference,
)
from survey_app.domain.questionnaire import ClinicalCutoff, Direction, Method, ReliableChangeParameters, Scale

WHO5_PERCENTAGE = Scale(
    id="percentage",
    label={"en": "Percentage"},
    method=Method.TRANSFORM,
    range=(0, 100),
    precision=0,
    direction=Direction.HIGHER_IS_BETTER,
    of="raw",
    multiply=4,
    reliable_change=ReliableChangeParameters(sd=19.5, reliability=0.81, source="Schougaard et al. 2018"),
    clinical_cutoff=ClinicalCutoff(value=52, functional="at_or_above", source="Topp et al. 2015"),
)


def test_standard_error_of_difference_follows_jacobson_and_truax() -> None:
    se = 19.5 * math.sqrt(1 - 0.81)
    assert standard_error_of_difference(19.5, 0.81) == pytest.approx(math.sqrt(2) * se)


def test_who5_improvement_of_28_points_is_reliable_and_matches_the_published_mdc() -> None:
    change = reliable_change(WHO5_PERCENTAGE, 40, 68)
    assert change.to_json() == {"rci": 2.329, "change": "reliable_improvement", "threshold": 23.56}
    assert change.clinical is ClinicalSignificance.RECOVERED


def test_change_below_the_threshold_is_not_reliable() -> None:
    change = reliable_change(WHO5_PERCENTAGE, 40, 60)
    assert change.change is ChangeClass.NO_RELIABLE_CHANGE
    assert change.clinical is ClinicalSignificance.UNCHANGED


def test_reliable_improvement_inside_the_clinical_range_is_improved_not_recovered() -> None:
    change = reliable_change(WHO5_PERCENTAGE, 0, 28)
    assert change.change is ChangeClass.RELIABLE_IMPROVEMENT
    assert change.clinical is ClinicalSignificance.IMPROVED


def test_direction_turns_a_rise_into_deterioration_on_a_symptom_scale() -> None:
    symptoms = Scale(
        id="total",
        label={"en": "Total"},
        method=Method.SUM,
        range=(0, 27),
        precision=0,
        direction=Direction.HIGHER_IS_WORSE,
        reliable_change=ReliableChangeParameters(sd=5.0, reliability=0.84, source="test"),
    )
    assert reliable_change(symptoms, 5, 15).change is ChangeClass.RELIABLE_DETERIORATION
    assert reliable_change(symptoms, 15, 5).change is ChangeClass.RELIABLE_IMPROVEMENT
    assert reliable_change(symptoms, 15, 5).clinical is None


def test_a_scale_without_published_parameters_says_so_and_never_guesses() -> None:
    bare = Scale(
        id="total",
        label={"en": "Total"},
        method=Method.SUM,
        range=(0, 30),
        precision=0,
        direction=Direction.HIGHER_IS_BETTER,
    )
    with pytest.raises(ReliableChangeNotAvailable, match="RCI not available"):
        reliable_change(bare, 10, 20)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (20, 48, ClinicalSignificance.IMPROVED),  # reliable, still below the cut-off of 52
        (40, 64, ClinicalSignificance.RECOVERED),  # reliable, crossed the cut-off
        (
            56,
            84,
            ClinicalSignificance.IMPROVED_IN_HEALTHY_RANGE,
        ),  # reliable, at or above the cut-off throughout
    ],
)
def test_a_reliable_improvement_says_where_it_started_and_ended(
    before: float, after: float, expected: ClinicalSignificance
) -> None:
    change = reliable_change(WHO5_PERCENTAGE, before, after)
    assert change.change is ChangeClass.RELIABLE_IMPROVEMENT
    assert change.clinical is expected


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (84, 56, ClinicalSignificance.DETERIORATED_IN_HEALTHY_RANGE),  # still at or above the cut-off
        (64, 40, ClinicalSignificance.LEFT_HEALTHY_RANGE),  # fell below the cut-off
        (48, 20, ClinicalSignificance.DETERIORATED),  # below the cut-off throughout
    ],
)
def test_a_reliable_deterioration_says_where_it_started_and_ended(
    before: float, after: float, expected: ClinicalSignificance
) -> None:
    change = reliable_change(WHO5_PERCENTAGE, before, after)
    assert change.change is ChangeClass.RELIABLE_DETERIORATION
    assert change.clinical is expected
