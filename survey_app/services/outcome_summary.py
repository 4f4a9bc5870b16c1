"""What a client's trends show: the chart data of a scale, and the domain profile (intake beside latest).

The domain profile takes, per questionnaire, its headline scales: those with published reliable-change
parameters, else its `total` (or `mean`), else its only scale. Each is placed in its recovery life domain:
personal (health, self-esteem, identity), social (relationships), community (stigma) and recovery capital.
Texts come in already translated (`ChartLabels`) or from the stored questionnaire version (labels, bands), so
the same code serves the web page and the PDF report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from survey_app.domain.questionnaire import Direction, Domain, localise
from survey_app.domain.schedule import ScheduledTimepoint
from survey_app.domain.scoring import NotScored, round_half_up
from survey_app.reports.charts import ChartBand, ChartLabels, ChartPoint, ScoreChart
from survey_app.services.trends import InstrumentTrend, ScaleTrend, ScorePoint

#: The life domains of the profile, in the order they are shown.
PROFILE_DOMAINS = ("personal", "social", "community", "recovery_capital")
HEADLINE_SCALE_IDS = ("total", "mean")


def headline_scales(instrument: InstrumentTrend) -> list[ScaleTrend]:
    """The scales that speak for a questionnaire in the profile."""
    with_rci = [trend for trend in instrument.scales if trend.scale.reliable_change is not None]
    if with_rci:
        return with_rci
    named = [trend for trend in instrument.scales if trend.scale.id in HEADLINE_SCALE_IDS]
    if named:
        return named[:1]
    return list(instrument.scales) if len(instrument.questionnaire.scales) == 1 else []


def life_domain_of(trend: ScaleTrend) -> str:
    """The recovery life domain of a scale (the scale's own domain first, else its questionnaire's)."""
    domain: Domain = trend.scale.domain or trend.questionnaire.domain
    return domain.life_domain


@dataclass(frozen=True)
class ProfileDomain:
    """One life domain of the profile and the headline scales that describe it."""

    life_domain: str
    scales: tuple[ScaleTrend, ...]


def domain_profile(instruments: Sequence[InstrumentTrend]) -> list[ProfileDomain]:
    """The profile: each life domain with its headline scales (domains without scores are kept, empty)."""
    grouped: dict[str, list[ScaleTrend]] = {domain: [] for domain in PROFILE_DOMAINS}
    for instrument in instruments:
        for trend in headline_scales(instrument):
            domain = life_domain_of(trend)
            if domain in grouped:
                grouped[domain].append(trend)
    return [ProfileDomain(domain, tuple(grouped[domain])) for domain in PROFILE_DOMAINS]


def value_text(value: float | None, precision: int, number: Callable[[Decimal], str] = str) -> str:
    """A score as shown: rounded half up at the scale's precision."""
    return "" if value is None else number(round_half_up(value, precision))


@dataclass(frozen=True)
class ChartTexts:
    """Translated words and formatters a chart needs."""

    labels: ChartLabels
    higher_is_better: str
    higher_is_worse: str
    cutoff: str  # with {value}
    date: Callable[[dt.date], str]
    number: Callable[[Decimal], str] = str
    estimated: str = "estimated"


def _point_of(
    trend: ScaleTrend,
    point: ScorePoint,
    language: str,
    when: dt.date,
    wave: str | None,
    texts: ChartTexts,
) -> ChartPoint:
    shown = value_text(point.value, trend.scale.precision, texts.number)
    place = f"{wave}, {texts.date(when)}" if wave else texts.date(when)
    return ChartPoint(
        when=when,
        label=place,
        value=point.value,
        value_text=shown,
        band_text=localise(trend.band_label(point), language),
        wave=wave,
        note=_not_scored_note(trend, point, texts.labels),
        estimated=point.prorated,
        breaks_before=point.breaks_before,
    )


def _not_scored_note(trend: ScaleTrend, point: ScorePoint, labels: ChartLabels) -> str:
    if point.value is not None:
        return ""
    reason = trend.not_scored_reason(point)
    if reason is NotScored.TOO_MANY_MISSING:
        return labels.too_many_missing
    if reason is NotScored.NOT_ASKED:
        return labels.not_asked
    return labels.not_scored


def scale_chart(
    trend: ScaleTrend,
    *,
    language: str,
    texts: ChartTexts,
    wave_labels: Mapping[int, str],
    missed: Sequence[ScheduledTimepoint],
    timezone: dt.tzinfo,
) -> ScoreChart:
    """The chart of one scale: its points (waves labelled), gaps at missed waves, bands and cut-off."""
    scale = trend.scale
    points = [
        _point_of(
            trend,
            point,
            language,
            point.submitted_at.astimezone(timezone).date(),
            wave_labels.get(point.timepoint_id) if point.timepoint_id is not None else None,
            texts,
        )
        for point in trend.points
    ]
    points += [
        ChartPoint(
            when=entry.target,
            label=f"{entry.timepoint.label_in(language)}, {texts.date(entry.target)}",
            wave=entry.timepoint.label_in(language),
            note=texts.labels.missed,
        )
        for entry in missed
        if entry.target is not None
    ]
    cutoff = scale.clinical_cutoff
    direction = scale.direction is Direction.HIGHER_IS_BETTER
    return ScoreChart(
        title=f"{localise(trend.questionnaire.short_title, language)}: {localise(scale.label, language)}",
        y_range=(float(scale.range[0]), float(scale.range[1])),
        points=tuple(sorted(points, key=lambda point: point.when)),
        bands=tuple(
            ChartBand(float(band.minimum), float(band.maximum), localise(band.label, language))
            for band in scale.bands
        ),
        cutoff=cutoff.value if cutoff else None,
        cutoff_text=texts.cutoff.format(value=value_text(cutoff.value, scale.precision, texts.number))
        if cutoff
        else "",
        direction_text=texts.higher_is_better if direction else texts.higher_is_worse,
        labels=texts.labels,
        number=texts.number,
    )
