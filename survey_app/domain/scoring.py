"""Scoring: raw answers in, scale values, bands and risk flags out.

Pure functions over the frozen questionnaire. Rules (see docs/questionnaire-format.md): recode, then reverse
(`min + max - x`), then weights; missing items are imputed with the mean of the person's answered items on the
scale (or on the whole form, for a form-wide rule) when no more than `max_missing` are missing, and the result
is marked prorated; otherwise the scale is not scored (None), never 0. Values are kept as floats; they are
rounded (half up, at the scale's precision) only to pick a band.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from survey_app.domain.logic import evaluate, referenced_items
from survey_app.domain.questionnaire import Example, Method, Questionnaire, Scale

SCORER_VERSION = "1.1.0"
"""Bumped whenever a scoring rule in this module changes; stored with every score."""


class ScaleScore(NamedTuple):
    """One scale's result for one set of answers."""

    value: float | None
    band: str | None
    prorated: bool
    missing: int
    applicable: bool = True

    def to_json(self) -> dict[str, Any]:
        """The JSON shape used by the CLI and the API."""
        return {
            "value": json_number(self.value),
            "band": self.band,
            "prorated": self.prorated,
            "missing": self.missing,
        }


@dataclass(frozen=True)
class ScoreResult:
    """Every scale and raised flag of one questionnaire for one set of answers."""

    key: str
    version: int
    scales: Mapping[str, ScaleScore]
    flags: tuple[str, ...]
    scorer_version: str = SCORER_VERSION

    def to_json(self) -> dict[str, Any]:
        """The JSON shape printed by `flask questionnaires score`."""
        return {
            "key": self.key,
            "version": self.version,
            "scales": {scale_id: score.to_json() for scale_id, score in self.scales.items()},
            "flags": list(self.flags),
        }


def json_number(value: float | None) -> float | int | None:
    """A float as JSON shows it best: whole numbers without `.0`."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def rounded_units(value: float, precision: int) -> int:
    """The value rounded half up (away from zero) at `precision` decimals, in units of 10**-precision.

    Values are sums and means of small whole numbers, so binary float noise is far below 1e-9 of a unit.
    """
    scaled = abs(value) * _POWERS[precision] + 0.5 + 1e-9
    units = math.floor(scaled)
    return units if value >= 0 else -units


def round_half_up(value: float, precision: int) -> Decimal:
    """Round as people do (2.5 -> 3), at `precision` decimals, ignoring binary float noise."""
    return Decimal(rounded_units(value, precision)).scaleb(-precision)


def band_for(scale: Scale, value: float | None) -> str | None:
    """The id of the band the value falls in, after rounding to the scale's precision."""
    if value is None or not scale.bands:
        return None
    return _band_in(_band_table(scale), rounded_units(value, scale.precision))


_POWERS: tuple[int, ...] = tuple(10**exponent for exponent in range(10))
_BandTable = tuple[tuple[int, int, str], ...]


def _band_table(scale: Scale) -> _BandTable:
    step = Decimal(1).scaleb(-scale.precision)
    return tuple((int(band.minimum / step), int(band.maximum / step), band.id) for band in scale.bands)


def _band_in(table: _BandTable, units: int) -> str | None:
    for low, high, band_id in table:
        if low <= units <= high:
            return band_id
    return None


_Term = tuple[str, int | None, float, Mapping[int, int] | None]
"""(item id, min + max for a reversed item, weight, recode table)."""


def _terms(questionnaire: Questionnaire, scale: Scale) -> tuple[_Term, ...]:
    terms = []
    for item_id in scale.items:
        bounds = questionnaire.item(item_id).scored_bounds
        reverse_sum = bounds[0] + bounds[1] if item_id in scale.reverse and bounds else None
        terms.append(
            (item_id, reverse_sum, float(scale.weights.get(item_id, 1.0)), scale.recode.get(item_id))
        )
    return tuple(terms)


class _Plan:
    """A questionnaire's scoring rules, prepared once for fast repeated scoring."""

    def __init__(self, questionnaire: Questionnaire) -> None:
        self.questionnaire = questionnaire
        self.rules = [
            (item.id, section.show_if, item.show_if)
            for section in questionnaire.sections
            for item in section.items
            if section.show_if is not None or item.show_if is not None
        ]
        self.missing_codes = {
            item.id: item.missing_codes for item in questionnaire.items if item.missing_codes
        }
        self.order = scale_order(questionnaire)
        self.terms = {
            scale.id: _terms(questionnaire, scale)
            for scale in questionnaire.scales
            if scale.method in (Method.SUM, Method.MEAN)
        }
        self.bands = {scale.id: _band_table(scale) for scale in questionnaire.scales if scale.bands}
        self.plain_groups = {
            scale_id: _plain_groups(terms) for scale_id, terms in self.terms.items() if _is_plain(terms)
        }
        self.form_items: tuple[_Term, ...] = ()
        if questionnaire.form_missing is not None:
            seen: dict[str, _Term] = {}
            for terms in self.terms.values():
                for term in terms:
                    seen.setdefault(term[0], term)
            self.form_items = tuple(seen.values())

    def band(self, scale: Scale, value: float) -> str | None:
        table = self.bands.get(scale.id)
        if table is None:
            return None
        units = math.floor(abs(value) * _POWERS[scale.precision] + 0.5 + 1e-9)  # rounded_units, inlined
        return _band_in(table, units if value >= 0 else -units)


def _is_plain(terms: tuple[_Term, ...]) -> bool:
    """True when no item of the scale is recoded or weighted (the common case, scored on a fast path)."""
    return all(weight == 1.0 and recode is None for _, _, weight, recode in terms)


def _plain_groups(terms: tuple[_Term, ...]) -> tuple[tuple[tuple[str, ...], int | None], ...]:
    """Item ids grouped by how they are reversed (None: not reversed)."""
    groups: dict[int | None, list[str]] = {}
    for item_id, reverse_sum, _, _ in terms:
        groups.setdefault(reverse_sum, []).append(item_id)
    return tuple((tuple(ids), reverse_sum) for reverse_sum, ids in groups.items())


def _keyed(term: _Term, value: Any) -> float:
    _, reverse_sum, _, recode = term
    if recode is not None:
        value = recode[value]
    return float(reverse_sum - value if reverse_sum is not None else value)


_PLANS: dict[int, _Plan] = {}


def _plan(questionnaire: Questionnaire) -> _Plan:
    plan = _PLANS.get(id(questionnaire))
    if plan is None or plan.questionnaire is not questionnaire:
        if len(_PLANS) > 512:
            _PLANS.clear()
        plan = _PLANS[id(questionnaire)] = _Plan(questionnaire)
    return plan


def scale_order(questionnaire: Questionnaire) -> tuple[Scale, ...]:
    """Scales ordered so that every scale comes after the scales it is computed from."""
    by_id = questionnaire.scales_by_id
    ordered: list[Scale] = []
    done: set[str] = set()

    def visit(scale: Scale, trail: tuple[str, ...]) -> None:
        if scale.id in done:
            return
        if scale.id in trail:
            raise ValueError(f"scales depend on each other in a circle: {' -> '.join((*trail, scale.id))}")
        for dependency in (*scale.requires, *((scale.of,) if scale.of else ())):
            visit(by_id[dependency], (*trail, scale.id))
        done.add(scale.id)
        ordered.append(scale)

    for scale in questionnaire.scales:
        visit(scale, ())
    return tuple(ordered)


def applicable_answers(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers that count: items hidden by skip rules are dropped, declined answers become None.

    A declined answer is a code marked missing, or a multiple choice of such codes only. Rules are evaluated
    in form order, so an item hidden earlier counts as unanswered in later rules.
    """
    return dict(_effective(_plan(questionnaire), answers)[0])


def _effective(plan: _Plan, answers: Mapping[str, Any]) -> tuple[Mapping[str, Any], frozenset[str]]:
    if not plan.missing_codes and not plan.rules:
        return answers, _NOTHING_HIDDEN
    effective = dict(answers)
    for item_id, codes in plan.missing_codes.items():
        value = effective.get(item_id)
        if (isinstance(value, int) and value in codes) or (
            isinstance(value, list | tuple) and value and all(code in codes for code in value)
        ):
            effective[item_id] = None
    if not plan.rules:
        return effective, _NOTHING_HIDDEN
    hidden: set[str] = set()
    for item_id, section_rule, item_rule in plan.rules:
        shown = (section_rule is None or evaluate(section_rule, effective)) and (
            item_rule is None or evaluate(item_rule, effective)
        )
        if not shown:
            hidden.add(item_id)
            effective.pop(item_id, None)
    return effective, frozenset(hidden)


_NOTHING_HIDDEN: frozenset[str] = frozenset()


def hidden_items(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> frozenset[str]:
    """Ids of the items that the skip rules hide for these answers (not asked, not missing)."""
    return _effective(_plan(questionnaire), answers)[1]


def rule_inputs(questionnaire: Questionnaire) -> frozenset[str]:
    """Ids of the items whose answers the skip rules read: the only answers `hidden_items` depends on."""
    rules = (rule for _, *pair in _plan(questionnaire).rules for rule in pair if rule is not None)
    return frozenset().union(*(referenced_items(rule) for rule in rules))


def conditional_items(questionnaire: Questionnaire) -> frozenset[str]:
    """Ids of the items a skip rule (the item's own or its section's) may hide."""
    return frozenset(item_id for item_id, *_ in _plan(questionnaire).rules)


class NotScored(enum.StrEnum):
    """Why a scale of a completed questionnaire has no score."""

    TOO_MANY_MISSING = "too_many_missing"
    NOT_ASKED = "not_asked"  # skip rules hid every item of the scale


def _scored_items(questionnaire: Questionnaire, scale_id: str) -> tuple[str, ...]:
    """The items a scale is scored from (a derived scale's: those of the scale it derives from)."""
    scale = questionnaire.scales_by_id.get(scale_id)
    while scale is not None and scale.of is not None:
        scale = questionnaire.scales_by_id.get(scale.of)
    return tuple(scale.items) if scale is not None else ()


def why_not_scored(questionnaire: Questionnaire, scale_id: str, missing: int) -> NotScored | None:
    """Why a stored scale has no score, from its missing-item count and the skip rules; None: not known.

    Under a form-wide missing rule a scale with every item answered is not scored when the form as a whole
    has too many missing, so its own count of 0 still means too many missing (unless skip rules hid it or
    it waits for other scales).
    """
    if missing > 0:
        return NotScored.TOO_MANY_MISSING
    items = _scored_items(questionnaire, scale_id)
    if items and conditional_items(questionnaire).issuperset(items):
        return NotScored.NOT_ASKED
    if items and questionnaire.form_missing is not None and not _requires_scales(questionnaire, scale_id):
        return NotScored.TOO_MANY_MISSING
    return None


def _requires_scales(questionnaire: Questionnaire, scale_id: str) -> bool:
    """True when the scale, or a scale it derives from, is scored only when other scales are."""
    scale = questionnaire.scales_by_id.get(scale_id)
    while scale is not None:
        if scale.requires:
            return True
        scale = questionnaire.scales_by_id.get(scale.of) if scale.of is not None else None
    return False


def hideable_scales(questionnaire: Questionnaire) -> dict[str, frozenset[str]]:
    """Scale id -> the items it is scored from, for each scale whose items skip rules may all hide: such a
    scale was not asked when `hidden_items` holds all of them."""
    conditional = conditional_items(questionnaire)
    hideable = {}
    for scale in questionnaire.scales:
        items = frozenset(_scored_items(questionnaire, scale.id))
        if items and conditional.issuperset(items):
            hideable[scale.id] = items
    return hideable


def score(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> ScoreResult:
    """Score one questionnaire for one person's raw answers (item id -> stored code)."""
    plan = _plan(questionnaire)
    effective, hidden = _effective(plan, answers)
    form_mean: float | None = None
    form_failed = False
    if questionnaire.form_missing is not None:
        form_mean, form_failed = _form_imputation(
            plan, effective, hidden, questionnaire.form_missing.max_missing
        )
    results: dict[str, ScaleScore] = {}
    plain_groups = plan.plain_groups
    for scale in plan.order:
        groups = plain_groups.get(scale.id)
        if scale.of is not None:
            result = _derived(plan, scale, results[scale.of])
        elif groups is not None and not hidden:
            result = _from_plain_items(plan, scale, groups, effective, form_mean, form_failed)
        else:
            result = _from_items(plan, scale, effective, hidden, form_mean, form_failed)
        if (
            scale.requires
            and result.value is not None
            and any(results[required].value is None for required in scale.requires)
        ):
            result = ScaleScore(None, None, False, result.missing)
        results[scale.id] = result
    flags = tuple(flag.id for flag in questionnaire.flags if evaluate(flag.when, effective))
    if len(plan.order) > 1:
        results = {scale.id: results[scale.id] for scale in questionnaire.scales}
    return ScoreResult(questionnaire.key, questionnaire.version, results, flags)


def _form_imputation(
    plan: _Plan, effective: Mapping[str, Any], hidden: frozenset[str], max_missing: int
) -> tuple[float | None, bool]:
    values: list[float] = []
    missing = 0
    for term in plan.form_items:
        if term[0] in hidden:
            continue
        value = effective.get(term[0])
        if value is None:
            missing += 1
        else:
            values.append(_keyed(term, value))
    if missing > max_missing or not values:
        return None, True
    return sum(values) / len(values), False


def _from_items(
    plan: _Plan,
    scale: Scale,
    effective: Mapping[str, Any],
    hidden: frozenset[str],
    form_mean: float | None,
    form_failed: bool,
) -> ScaleScore:
    total = 0.0
    answered_sum = 0.0
    answered = 0
    weight_sum = 0.0
    missing_weight = 0.0
    missing = 0
    get = effective.get
    for term in plan.terms[scale.id]:
        item_id, reverse_sum, weight, recode = term
        if hidden and item_id in hidden:
            continue
        weight_sum += weight
        value = get(item_id)
        if value is None:
            missing += 1
            missing_weight += weight
            continue
        if recode is not None:
            value = recode[value]
        if reverse_sum is not None:
            value = reverse_sum - value
        answered += 1
        answered_sum += value
        total += value * weight
    if answered + missing == 0:
        return ScaleScore(None, None, False, 0, False)
    if form_failed or (form_mean is None and (missing > scale.max_missing or answered == 0)):
        return ScaleScore(None, None, False, missing)
    if missing:
        imputed = form_mean if form_mean is not None else answered_sum / answered
        total += imputed * missing_weight
    value = total if scale.method is Method.SUM else total / weight_sum
    return ScaleScore(value, plan.band(scale, value), missing > 0, missing)


def _from_plain_items(
    plan: _Plan,
    scale: Scale,
    groups: tuple[tuple[tuple[str, ...], int | None], ...],
    effective: Mapping[str, Any],
    form_mean: float | None,
    form_failed: bool,
) -> ScaleScore:
    """The same rules as `_from_items` for unweighted, unrecoded items, with the loops in C."""
    get = effective.get
    total = 0
    answered = 0
    missing = 0
    for ids, reverse_sum in groups:
        values: list[Any] = list(map(get, ids))
        unanswered = values.count(None)
        if unanswered:
            missing += unanswered
            values = [value for value in values if value is not None]
        count = len(values)
        answered += count
        total += reverse_sum * count - sum(values) if reverse_sum is not None else sum(values)
    if form_failed or (form_mean is None and (missing > scale.max_missing or answered == 0)):
        return ScaleScore(None, None, False, missing)
    value = float(total)
    if missing:
        value += (form_mean if form_mean is not None else value / answered) * missing
    if scale.method is Method.MEAN:
        value /= answered + missing
    return ScaleScore(value, plan.band(scale, value), missing > 0, missing)


def _derived(plan: _Plan, scale: Scale, source: ScaleScore) -> ScaleScore:
    if source.value is None:
        return ScaleScore(None, None, False, source.missing, source.applicable)
    if scale.method is Method.TRANSFORM:
        value = source.value * scale.multiply + scale.add
    else:
        value = scale.table[rounded_units(source.value, 0)]
    return ScaleScore(value, plan.band(scale, value), source.prorated, source.missing)


def example_failures(questionnaire: Questionnaire) -> list[str]:
    """Run the questionnaire's own examples; returns one message per mismatch (empty when all pass)."""
    return [
        f"example '{example.name}': {mismatch}"
        for example in questionnaire.examples
        for mismatch in example_mismatches(questionnaire, example)
    ]


def example_mismatches(questionnaire: Questionnaire, example: Example) -> list[str]:
    """How the scorer's result for one example differs from what the example expects (empty: none)."""
    result = score(questionnaire, example.answers)
    mismatches: list[str] = []
    for scale_id, expected in example.scales.items():
        actual = result.scales[scale_id]
        if not _close(expected.value, actual.value):
            mismatches.append(f"scale {scale_id}: expected {expected.value}, got {actual.value}")
        if expected.checks_band and expected.band != actual.band:
            mismatches.append(f"scale {scale_id}: expected band {expected.band}, got {actual.band}")
        if expected.prorated is not None and expected.prorated != actual.prorated:
            mismatches.append(
                f"scale {scale_id}: expected prorated {expected.prorated}, got {actual.prorated}"
            )
        if expected.missing is not None and expected.missing != actual.missing:
            mismatches.append(f"scale {scale_id}: expected {expected.missing} missing, got {actual.missing}")
    if example.flags is not None and sorted(example.flags) != sorted(result.flags):
        mismatches.append(f"expected flags {sorted(example.flags)}, got {sorted(result.flags)}")
    return mismatches


def _close(expected: float | None, actual: float | None) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    return abs(expected - actual) <= 1e-6
