"""Change between two timepoints: the Reliable Change Index and clinically significant change.

Jacobson NS, Truax P (1991). Clinical significance: a statistical approach to defining meaningful change in
psychotherapy research. Journal of Consulting and Clinical Psychology 59(1):12-19.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from survey_app.domain.questionnaire import Direction, Scale

RCI_CRITICAL_VALUE = 1.96


class ReliableChangeNotAvailable(LookupError):
    """The scale has no published parameters for the Reliable Change Index."""


class ChangeClass(enum.StrEnum):
    """Whether a change is larger than measurement error, and which way it goes."""

    RELIABLE_IMPROVEMENT = "reliable_improvement"
    RELIABLE_DETERIORATION = "reliable_deterioration"
    NO_RELIABLE_CHANGE = "no_reliable_change"


class ClinicalSignificance(enum.StrEnum):
    """Jacobson & Truax's categories where the scale has a published cut-off, by where the change began."""

    #: A reliable improvement from the clinical into the functional range.
    RECOVERED = "recovered"
    #: A reliable improvement that stays in the clinical range.
    IMPROVED = "improved"
    #: A reliable improvement that began (and so stays) in the functional range.
    IMPROVED_IN_HEALTHY_RANGE = "improved_in_healthy_range"
    UNCHANGED = "unchanged"
    #: A reliable deterioration that began (and so stays) in the clinical range.
    DETERIORATED = "deteriorated"
    #: A reliable deterioration that stays in the functional range.
    DETERIORATED_IN_HEALTHY_RANGE = "deteriorated_in_healthy_range"
    #: A reliable deterioration from the functional into the clinical range.
    LEFT_HEALTHY_RANGE = "left_healthy_range"


@dataclass(frozen=True, slots=True)
class ReliableChange:
    """The change between two scores of one scale and how to read it."""

    difference: float
    rci: float
    threshold: float
    change: ChangeClass
    clinical: ClinicalSignificance | None

    def to_json(self) -> dict[str, float | str]:
        """The JSON shape printed by `flask questionnaires rci`."""
        return {"rci": round(self.rci, 3), "change": self.change.value, "threshold": round(self.threshold, 2)}


def standard_error_of_difference(sd: float, reliability: float) -> float:
    """Sdiff = sqrt(2) * SD * sqrt(1 - r)."""
    return math.sqrt(2.0) * sd * math.sqrt(1.0 - reliability)


def reliable_change(scale: Scale, before: float, after: float) -> ReliableChange:
    """Classify the change from `before` to `after` on `scale` (raises ReliableChangeNotAvailable)."""
    parameters = scale.reliable_change
    if parameters is None:
        raise ReliableChangeNotAvailable(
            f"RCI not available for scale '{scale.id}': no published reliability parameters"
        )
    s_diff = standard_error_of_difference(parameters.sd, parameters.reliability)
    difference = after - before
    rci = difference / s_diff
    change = _classify(rci, scale.direction)
    clinical = None
    if scale.clinical_cutoff is not None:
        cutoff = scale.clinical_cutoff
        clinical = _clinical(change, cutoff.is_functional(before), cutoff.is_functional(after))
    return ReliableChange(difference, rci, RCI_CRITICAL_VALUE * s_diff, change, clinical)


def _clinical(change: ChangeClass, functional_before: bool, functional_after: bool) -> ClinicalSignificance:
    if change is ChangeClass.RELIABLE_IMPROVEMENT:
        if functional_before:
            return ClinicalSignificance.IMPROVED_IN_HEALTHY_RANGE
        return ClinicalSignificance.RECOVERED if functional_after else ClinicalSignificance.IMPROVED
    if change is ChangeClass.RELIABLE_DETERIORATION:
        if not functional_before:
            return ClinicalSignificance.DETERIORATED
        if functional_after:
            return ClinicalSignificance.DETERIORATED_IN_HEALTHY_RANGE
        return ClinicalSignificance.LEFT_HEALTHY_RANGE
    return ClinicalSignificance.UNCHANGED


def _classify(rci: float, direction: Direction) -> ChangeClass:
    if abs(rci) < RCI_CRITICAL_VALUE:
        return ChangeClass.NO_RELIABLE_CHANGE
    better = rci > 0 if direction is Direction.HIGHER_IS_BETTER else rci < 0
    return ChangeClass.RELIABLE_IMPROVEMENT if better else ChangeClass.RELIABLE_DETERIORATION
