"""Checks on a scale's declared numbers: bands that tile the range, look-up tables, and the range itself."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from decimal import Decimal

from survey_app.domain.questionnaire import Band, Method, Questionnaire, Scale
from survey_app.domain.scoring import rounded_units

Bounds = tuple[float, float]

MAX_TABLE_KEYS = 19_999
"""A look-up table or recode lists at most this many codes (its keys have at most four digits)."""


def check_bands(bands: tuple[Band, ...], scale_range: tuple[float, float], precision: int) -> list[str]:
    """Bands must not overlap, must leave no gap at the scale's precision and must cover its range."""
    if not bands:
        return []
    problems = []
    step = Decimal(1).scaleb(-precision)
    ids = [band.id for band in bands]
    for band in bands:
        if ids.count(band.id) > 1:
            problems.append(f"band id '{band.id}' is used twice")
        if band.minimum > band.maximum:
            problems.append(f"band '{band.id}' has min {band.minimum} above max {band.maximum}")
        for bound in (band.minimum, band.maximum):
            if bound != bound.quantize(step):
                problems.append(
                    f"band '{band.id}' bound {bound} has more decimals than the precision {precision}"
                )
    ordered = sorted(bands, key=lambda band: band.minimum)
    for previous, following in itertools.pairwise(ordered):
        expected = previous.maximum + step
        if following.minimum < expected:
            problems.append(f"bands '{previous.id}' and '{following.id}' overlap")
        elif following.minimum > expected:
            problems.append(
                f"bands '{previous.id}' and '{following.id}' leave a gap: values from {expected} to "
                f"{following.minimum - step} have no band"
            )
    low, high = (Decimal(repr(value)) for value in scale_range)
    if ordered[0].minimum != low or ordered[-1].maximum != high:
        problems.append(
            f"bands cover {ordered[0].minimum} to {ordered[-1].maximum}, "
            f"but the scale's range is {low} to {high}"
        )
    return problems


def looked_up_keys(source: Bounds) -> range:
    """The whole numbers a look-up on a source scale with these bounds can ask for (rounded half up)."""
    return range(rounded_units(source[0], 0), rounded_units(source[1], 0) + 1)


def check_table(table: Mapping[int, float], source: Bounds) -> list[str]:
    """A look-up table must give a value for every whole number the source scale can be rounded to."""
    needed = looked_up_keys(source)
    if len(needed) > MAX_TABLE_KEYS:
        absent = len(needed) - sum(1 for key in table if key in needed)
        return [
            f"the table has no value for {absent} of the whole numbers from {needed.start} to "
            f"{needed.stop - 1} (the source scale can take them)"
        ]
    missing = [key for key in needed if key not in table]
    if missing:
        return [f"the table has no value for {', '.join(map(str, missing))} (the source scale can take them)"]
    return []


def scale_bounds(questionnaire: Questionnaire, scale: Scale, known: Mapping[str, Bounds]) -> Bounds:
    """The lowest and highest value the scale's rules can produce."""
    if scale.method is Method.TRANSFORM:
        assert scale.of is not None
        ends = [value * scale.multiply + scale.add for value in known[scale.of]]
        return min(ends), max(ends)
    if scale.method is Method.LOOKUP:
        assert scale.of is not None
        keys = looked_up_keys(known[scale.of])
        values = [value for key, value in scale.table.items() if key in keys]
        return (min(values), max(values)) if values else (0.0, 0.0)
    lows, highs, weights = [], [], []
    for item_id in scale.items:
        item = questionnaire.item(item_id)
        if item_id in scale.recode:
            values = list(scale.recode[item_id].values())
            low, high = min(values), max(values)
        elif item.scored_bounds is not None:
            low, high = item.scored_bounds
        else:
            continue
        weight = scale.weights.get(item_id, 1.0)
        lows.append(min(low * weight, high * weight))
        highs.append(max(low * weight, high * weight))
        weights.append(weight)
    if scale.method is Method.MEAN and weights:
        return sum(lows) / sum(weights), sum(highs) / sum(weights)
    return float(sum(lows)), float(sum(highs))


def check_range(
    questionnaire: Questionnaire, scale: Scale, known: Mapping[str, Bounds]
) -> tuple[str | None, Bounds]:
    """Compare the declared range with what the items can give; returns a problem (or None) and the bounds."""
    low, high = scale_bounds(questionnaire, scale, known)
    declared_low, declared_high = scale.range
    if abs(low - declared_low) > 1e-9 or abs(high - declared_high) > 1e-9:
        return (
            f"range [{declared_low:g}, {declared_high:g}] does not match what its items give "
            f"({low:g} to {high:g})",
            (low, high),
        )
    return None, (low, high)
