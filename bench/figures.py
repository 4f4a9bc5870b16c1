"""One measured figure with the baseline measured in the same run."""

from __future__ import annotations

from typing import Any


def figure(
    value: float | None,
    unit: str,
    *,
    baseline: float | None,
    target: float | None,
    higher_is_better: bool = True,
    target_on: str = "value",
    note: str = "",
) -> dict[str, Any]:
    """A figure as `bench/results.json` stores it: value, unit, baseline, ratio (value/baseline), target.

    A value of None is a figure that could not be measured in this run; its note says why.
    """
    ratio = value / baseline if baseline and value is not None else None
    checked = value if target_on == "value" else ratio
    met = None
    if target is not None and checked is not None:
        met = checked >= target if higher_is_better else checked <= target
    return {
        "value": round(value, 4) if value is not None else None,
        "unit": unit,
        "baseline": round(baseline, 4) if baseline is not None else None,
        "ratio": round(ratio, 4) if ratio is not None else None,
        "target": target,
        "target_on": target_on,
        "higher_is_better": higher_is_better,
        "met": met,
        "note": note,
    }


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values lie (nearest rank); NaN when there are none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else float("nan")
