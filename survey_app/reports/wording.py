"""The words of a report, in the report's own language (which need not be the page's).

A report is written in a language chosen per document: the client's for their own report, `--lang` on the
command line, several languages in one batch. So these words are built inside `force_locale(language)` and
numbers and dates are formatted with that explicit locale, never from the per-request caches the workspace
pages use. The message ids are the workspace's where the meaning is the same, so they share translations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal
from flask_babel import gettext as _

from survey_app.domain.change import ChangeClass, ClinicalSignificance
from survey_app.domain.questionnaire import Direction, localise
from survey_app.domain.scoring import round_half_up
from survey_app.reports.charts import ChartLabels
from survey_app.services.outcome_summary import ChartTexts, value_text
from survey_app.services.trends import ScaleTrend, ScorePoint
from survey_app.services.user_messages import N_


@dataclass(frozen=True)
class Badge:
    """The symbol of a reliable change, shown before its words (never a colour alone); `tone`: its style."""

    symbol: str
    tone: str


#: The report's label tables (English message ids, translated when a report's words are built).
LABELS: dict[str, dict[str, str]] = {
    "states": {
        "upcoming": N_("Upcoming"),
        "due": N_("Due"),
        "overdue": N_("Overdue"),
        "open": N_("Started, not submitted"),
        "completed": N_("Completed"),
        "missed": N_("Missed"),
        "unscheduled": N_("No anchor date yet"),
        "on_hold": N_("On hold (client paused)"),
        "closed": N_("Not expected (client left the programme)"),
    },
    "statuses": {
        "active": N_("Active"),
        "paused": N_("Paused"),
        "withdrawn": N_("Withdrawn"),
        "completed": N_("Programme completed"),
    },
    "modes": {
        "tablet": N_("tablet"),
        "own_device": N_("own device"),
        "interview": N_("interview"),
        "paper": N_("paper"),
    },
    "session_statuses": {"open": N_("started"), "submitted": N_("submitted"), "cancelled": N_("cancelled")},
    "severities": {"urgent": N_("Urgent"), "attention": N_("Needs attention")},
    "anchors": {"intake": N_("Intake date"), "referral": N_("Referral date"), "hearing": N_("Hearing date")},
    "life_domains": {
        "personal": N_("Personal life: health, self-esteem and identity"),
        "social": N_("Social life: relationships and support"),
        "community": N_("Community life: stigma"),
        "recovery_capital": N_("Recovery capital"),
    },
}


class ReportWords:
    """Labels and formatters of one report; build it inside `force_locale(language)`."""

    def __init__(self, language: str, timezone: dt.tzinfo) -> None:
        self.language = language
        self.locale = Locale.parse(language)
        self.timezone = timezone
        self._dates: dict[dt.date, str] = {}
        self._numbers: dict[Decimal, str] = {}
        tables = {name: {key: _(text) for key, text in table.items()} for name, table in LABELS.items()}
        self.states, self.statuses, self.modes = tables["states"], tables["statuses"], tables["modes"]
        self.session_statuses, self.severities = tables["session_statuses"], tables["severities"]
        self.anchors, self.life_domains = tables["anchors"], tables["life_domains"]
        self.languages = {"en": "English", "nl": "Nederlands", "fr": "Français"}
        self.extra_session = _("extra session")
        self.higher_is_better = _("higher is better")
        self.higher_is_worse = _("higher is worse")

    def date(self, day: dt.date | None) -> str:
        """A date in the report's language (medium length)."""
        if day is None:
            return ""
        if day not in self._dates:
            self._dates[day] = format_date(day, "medium", locale=self.locale)
        return self._dates[day]

    def moment(self, when: dt.datetime | None) -> str:
        """A date and a 24-hour time in the programme's timezone."""
        if when is None:
            return ""
        local = when.astimezone(self.timezone)
        return f"{self.date(local.date())} {local:%H:%M}"

    def local_date(self, when: dt.datetime) -> dt.date:
        """The calendar day of a moment in the programme's timezone."""
        return when.astimezone(self.timezone).date()

    def number(self, value: Decimal) -> str:
        """A rounded number in the report's language."""
        if value not in self._numbers:
            self._numbers[value] = format_decimal(value, format="#,##0.##", locale=self.locale)
        return self._numbers[value]

    def score(self, value: float | None, precision: int) -> str:
        """A score as shown: rounded half up at the scale's precision."""
        return value_text(value, precision, self.number)

    def direction(self, trend: ScaleTrend) -> str:
        """Which way is better on a scale."""
        better = trend.scale.direction is Direction.HIGHER_IS_BETTER
        return self.higher_is_better if better else self.higher_is_worse

    def band(self, trend: ScaleTrend, point: ScorePoint) -> str:
        """A point's band name, from the version it was answered on."""
        return localise(trend.band_label(point), self.language)

    def chart_texts(self) -> ChartTexts:
        """Everything a chart says, in the report's language."""
        return ChartTexts(
            labels=ChartLabels(
                version_break=_("version changed: not comparable"),
                missed=_("missed"),
                not_scored=_("completed, not scored"),
                too_many_missing=_("completed, not scored: too many items missing"),
                not_asked=_("completed, not asked because of earlier answers"),
                no_scores=_("No scores yet."),
                scored=_("score"),
                estimated=_("estimated"),  # the legend of a half-width chart has room for one word
                estimated_note=_("estimated from incomplete answers"),
            ),
            higher_is_better=self.higher_is_better,
            higher_is_worse=self.higher_is_worse,
            cutoff=_("cut-off {value}"),
            date=self.date,
            number=self.number,
        )

    def change_words(self, trend: ScaleTrend) -> str:
        """The change from intake to the latest score, with its reliable-change classification."""
        return change_sentence(trend, self.locale, self.number)

    def short_change(self, trend: ScaleTrend) -> str:
        """The change from intake in a few words, for a table cell."""
        change = trend.change
        if change is None:
            return ""
        if not change.comparable:
            return _("not comparable")
        reliable = change.reliable
        if reliable is not None:
            rci = format_decimal(round(reliable.rci, 2), format="0.00", locale=self.locale)
            if reliable.clinical is ClinicalSignificance.RECOVERED:
                return _("recovered (RCI %(rci)s)", rci=rci)
            if reliable.change is ChangeClass.RELIABLE_IMPROVEMENT:
                return _("reliable improvement (RCI %(rci)s)", rci=rci)
            if reliable.change is ChangeClass.RELIABLE_DETERIORATION:
                return _("reliable deterioration (RCI %(rci)s)", rci=rci)
            return _("no reliable change (RCI %(rci)s)", rci=rci)
        rounded = round_half_up(abs(change.difference), trend.scale.precision)
        if rounded == 0:
            return _("no change")
        signed = ("+" if change.difference > 0 else "\u2212") + self.number(rounded)
        return (
            _("%(change)s better", change=signed)
            if is_better(trend)
            else _("%(change)s worse", change=signed)
        )

    def arrow(self, trend: ScaleTrend) -> str:
        """An arrow for the direction that is better: up when higher is better."""
        return "\u2191" if trend.scale.direction is Direction.HIGHER_IS_BETTER else "\u2193"

    def change_badge(self, trend: ScaleTrend) -> Badge | None:
        """The symbol of the reliable-change class (None where no reliable change can be computed)."""
        change = trend.change
        if change is None or change.reliable is None:
            return None
        if change.reliable.change is ChangeClass.RELIABLE_IMPROVEMENT:
            return Badge("\u25b2", "better")
        if change.reliable.change is ChangeClass.RELIABLE_DETERIORATION:
            return Badge("\u25bc", "worse")
        return Badge("\u25cf", "neutral")

    def point_words(self, trend: ScaleTrend, point: ScorePoint) -> str:
        """A score with its band, as in "48 (low well-being)"."""
        shown = self.score(point.value, trend.scale.precision)
        band = self.band(trend, point)
        return f"{shown} ({band})" if band else shown


def change_sentence(trend: ScaleTrend, locale: Locale, number: Callable[[Decimal], str]) -> str:
    """The change from intake to the latest score in a sentence, with its reliable-change classification.

    The report and the counsellor's pages say it alike; each gives its own locale and number format.
    """
    change = trend.change
    if change is None:
        return _("Not enough scores yet to show a change.")
    if not change.comparable:
        return _(
            "Not compared: the questionnaire changed version and the scores are not declared comparable."
        )
    reliable = change.reliable
    if reliable is not None:
        rci = format_decimal(round(reliable.rci, 2), format="0.00", locale=locale)
        if reliable.clinical is ClinicalSignificance.RECOVERED:
            return _("Reliable improvement into the healthy range: recovered (RCI %(rci)s).", rci=rci)
        if reliable.clinical is ClinicalSignificance.IMPROVED:
            return _("Reliable improvement, not yet into the healthy range (RCI %(rci)s).", rci=rci)
        if reliable.clinical is ClinicalSignificance.IMPROVED_IN_HEALTHY_RANGE:
            return _(
                "Reliable improvement, already in the healthy range at the start (RCI %(rci)s).", rci=rci
            )
        if reliable.clinical is ClinicalSignificance.DETERIORATED_IN_HEALTHY_RANGE:
            return _("Reliable deterioration, still in the healthy range (RCI %(rci)s).", rci=rci)
        if reliable.clinical is ClinicalSignificance.LEFT_HEALTHY_RANGE:
            return _("Reliable deterioration out of the healthy range (RCI %(rci)s).", rci=rci)
        if reliable.change is ChangeClass.RELIABLE_IMPROVEMENT:
            return _("Reliable improvement (RCI %(rci)s).", rci=rci)
        if reliable.change is ChangeClass.RELIABLE_DETERIORATION:
            return _("Reliable deterioration (RCI %(rci)s).", rci=rci)
        return _("No reliable change: within measurement error (RCI %(rci)s).", rci=rci)
    rounded = round_half_up(abs(change.difference), trend.scale.precision)
    signed = ("+" if change.difference > 0 else "\u2212") + number(rounded)
    if rounded == 0:
        return _("The same as at the first score. RCI not available for this scale.")
    if is_better(trend):
        return _("%(change)s: better. RCI not available for this scale.", change=signed)
    return _("%(change)s: worse. RCI not available for this scale.", change=signed)


def is_better(trend: ScaleTrend) -> bool:
    """True when the latest score is better than the first (in the scale's direction)."""
    change = trend.change
    if change is None or change.difference == 0:
        return False
    return (change.difference > 0) == (trend.scale.direction is Direction.HIGHER_IS_BETTER)


def is_worse(trend: ScaleTrend) -> bool:
    """True when the latest score is worse than the first (in the scale's direction)."""
    change = trend.change
    if change is None or change.difference == 0:
        return False
    return not is_better(trend)
