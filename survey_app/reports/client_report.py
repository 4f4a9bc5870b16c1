"""The client's own report, as data for its template: plain words, strengths first, large type.

Order: what has improved, what the client said matters to them (the recovery-strength statements they agreed
with most, quoted from the version they answered, in their language), what has been harder, each
questionnaire in plain words with the first and latest score, and what is shared with the court. Scores are
given as numbers on their scale with which way is better, never as clinical band names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from survey_app.domain.change import ChangeClass
from survey_app.domain.questionnaire import Direction, ItemType, Questionnaire, localise
from survey_app.reports.plain_words import plain_measure, plain_scale_name
from survey_app.reports.wording import ReportWords, is_better, is_worse
from survey_app.services.outcome_summary import headline_scales
from survey_app.services.reports import ClientReportData
from survey_app.services.trends import ChangeSummary, ScaleTrend, ScorePoint

#: Questionnaires whose statements about the client's own life may be quoted as strengths.
STRENGTH_KEYS = ("barc10", "mspss")
MAX_STATEMENTS = 6


@dataclass(frozen=True)
class Change:
    """A measure that got better (or harder), in plain words."""

    name: str
    words: str
    real: bool = False


@dataclass(frozen=True)
class Statement:
    """A sentence the client agreed with, and how strongly."""

    text: str
    answer: str


@dataclass(frozen=True)
class Measure:
    """A questionnaire in plain words, with the client's first and latest score."""

    name: str
    explanation: str
    scores: tuple[str, ...]


@dataclass(frozen=True)
class ClientReport:
    """Everything the client's own report shows."""

    code: str
    name: str
    improved: tuple[Change, ...]
    #: Measures whose latest score is the same as the first.
    unchanged: tuple[Change, ...]
    #: Measures with two scores on questionnaire versions that cannot be compared.
    not_compared: tuple[Change, ...]
    statements: tuple[Statement, ...]
    #: True when the client answered a strengths questionnaire (with or without a strong agreement).
    answered_strengths: bool
    harder: tuple[Change, ...]
    measures: tuple[Measure, ...]
    progress_note: str
    court: tuple[str, ...]
    court_looked: str
    generated: str


def _scale_name(trend: ScaleTrend, words: ReportWords, several: bool) -> str:
    name = plain_measure(trend.questionnaire, words.language).name
    if not several:
        return name
    scale = plain_scale_name(trend.questionnaire.key, trend.scale.id)
    return f"{name}: {scale or localise(trend.scale.label, words.language)}"


def _range(trend: ScaleTrend, words: ReportWords) -> str:
    low, high = trend.scale.range
    return _("the scale runs from %(low)s to %(high)s", low=words.score(low, 0), high=words.score(high, 0))


def _change(trend: ScaleTrend, change: ChangeSummary, words: ReportWords, several: bool) -> Change:
    precision = trend.scale.precision
    real = change.reliable is not None and change.reliable.change is not ChangeClass.NO_RELIABLE_CHANGE
    sentence = _(
        "from %(first)s to %(latest)s (%(range)s).",
        first=words.score(change.baseline.value, precision),
        latest=words.score(change.latest.value, precision),
        range=_range(trend, words),
    )
    return Change(_scale_name(trend, words, several), sentence, real)


def _headline_trends(data: ClientReportData) -> list[tuple[ScaleTrend, bool]]:
    found: list[tuple[ScaleTrend, bool]] = []
    for instrument in data.record.instruments:
        scales = headline_scales(instrument)
        found.extend((trend, len(scales) > 1) for trend in scales)
    return found


@dataclass(frozen=True)
class Changes:
    """The headline measures sorted by what their change says."""

    improved: tuple[Change, ...]
    harder: tuple[Change, ...]
    unchanged: tuple[Change, ...]
    not_compared: tuple[Change, ...]


def _changes(data: ClientReportData, words: ReportWords) -> Changes:
    improved, harder, unchanged, not_compared = [], [], [], []
    for trend, several in _headline_trends(data):
        change = trend.change
        if change is None:
            continue
        if not change.comparable:
            sentence = _("The questions changed since you started, so these scores cannot be compared.")
            not_compared.append(Change(_scale_name(trend, words, several), sentence))
        elif is_better(trend):
            improved.append(_change(trend, change, words, several))
        elif is_worse(trend):
            harder.append(_change(trend, change, words, several))
        else:
            unchanged.append(_unchanged(trend, change, words, several))
    improved.sort(key=lambda item: not item.real)
    return Changes(tuple(improved), tuple(harder), tuple(unchanged), tuple(not_compared))


def _unchanged(trend: ScaleTrend, change: ChangeSummary, words: ReportWords, several: bool) -> Change:
    sentence = _(
        "the same as when you started: %(score)s (%(range)s).",
        score=words.score(change.latest.value, trend.scale.precision),
        range=_range(trend, words),
    )
    return Change(_scale_name(trend, words, several), sentence)


def strength_statements(
    answers: Mapping[str, tuple[Questionnaire, dict[str, Any]]], language: str
) -> tuple[Statement, ...]:
    """The statements the client agreed with most (their two strongest answers), strongest first."""
    ranked = []
    for order, key in enumerate(STRENGTH_KEYS):
        if key not in answers:
            continue
        questionnaire, given = answers[key]
        reversed_items = {item for scale in questionnaire.scales for item in scale.reverse}
        better = {
            item
            for scale in questionnaire.scales
            if scale.direction is Direction.HIGHER_IS_BETTER
            for item in scale.items
        }
        for position, item in enumerate(questionnaire.items):
            value = given.get(item.id)
            if item.type is not ItemType.SINGLE_CHOICE or item.id in reversed_items or item.id not in better:
                continue
            scored = sorted(item.codes - item.missing_codes)
            if not isinstance(value, int) or value not in scored[-2:]:
                continue
            option = item.option(value)
            rank = scored[-1] - value
            ranked.append(
                (
                    rank,
                    order,
                    position,
                    Statement(
                        localise(item.text, language), localise(option.label, language) if option else ""
                    ),
                )
            )
    return tuple(statement for *_, statement in sorted(ranked, key=lambda entry: entry[:3])[:MAX_STATEMENTS])


def _measures(data: ClientReportData, words: ReportWords) -> tuple[Measure, ...]:
    measures = []
    for instrument in data.record.instruments:
        plain = plain_measure(instrument.questionnaire, words.language)
        scales = headline_scales(instrument)
        lines = []
        for trend in scales:
            lines.extend(_score_lines(trend, words, len(scales) > 1))
        measures.append(Measure(plain.name, plain.explanation, tuple(lines)))
    return tuple(measures)


def _score_lines(trend: ScaleTrend, words: ReportWords, several: bool) -> list[str]:
    scored = [point for point in trend.points if point.value is not None]
    if not scored:
        return []
    plain = plain_scale_name(trend.questionnaire.key, trend.scale.id)
    prefix = f"{plain or localise(trend.scale.label, words.language)}: " if several else ""
    if trend.change is not None and not trend.change.comparable:
        return [
            prefix + _latest_line(trend, trend.change.latest, words),
            _(
                "The questions changed since you started, so this score cannot be compared with your "
                "earlier scores."
            ),
        ]
    first = trend.change.baseline if trend.change else scored[0]
    lines = [
        prefix
        + _(
            "When you started (%(date)s): %(score)s.",
            date=words.date(words.local_date(first.submitted_at)),
            score=words.score(first.value, trend.scale.precision),
        )
    ]
    if trend.change is not None:
        lines.append(prefix + _latest_line(trend, trend.change.latest, words))
    return lines


def _latest_line(trend: ScaleTrend, latest: ScorePoint, words: ReportWords) -> str:
    return _(
        "Most recently (%(date)s): %(score)s.",
        date=words.date(words.local_date(latest.submitted_at)),
        score=words.score(latest.value, trend.scale.precision),
    )


def _progress_note(data: ClientReportData) -> str:
    submitted = [row for row in data.record.sessions if row.session.status == "submitted"]
    if not submitted:
        return _(
            "You have not filled in any questionnaires yet. After your first time, this report shows "
            "your answers."
        )
    if len(submitted) == 1:
        return _(
            "You have filled in the questionnaires once so far. Next time, this report can show what "
            "has changed."
        )
    return ngettext(
        "You have filled in the questionnaires %(num)d times.",
        "You have filled in the questionnaires %(num)d times.",
        len(submitted),
    )


def court_sentences(data: ClientReportData) -> tuple[str, ...]:
    """What the client agreed the court may see, in plain words."""
    court = data.court
    if not court.granted:
        return (
            _(
                "You have not agreed to share anything with the court. The court sees nothing from your "
                "questionnaires."
            ),
        )
    lines = [
        _(
            "You agreed that the court may see whether you came to your appointments and filled in the "
            "questionnaires."
        )
    ]
    if court.share_scores:
        lines.append(_("You also agreed that the court may see your scores."))
    if court.share_summary:
        lines.append(_("You also agreed that the court may see a short summary of what has changed."))
    if not (court.share_scores or court.share_summary):
        lines.append(_("The court does not see your answers or your scores."))
    lines.append(_("You can change this at any time. Ask your counsellor."))
    return tuple(lines)


def _court_looked(data: ClientReportData, words: ReportWords) -> str:
    shares = list(data.disclosures)
    if not shares:
        return _("The court has not looked at your progress yet.")
    last = max(share.shared_at for share in shares)
    return ngettext(
        "The court looked at your progress %(num)d time, last on %(date)s.",
        "The court looked at your progress %(num)d times, last on %(date)s.",
        len(shares),
        date=words.date(words.local_date(last)),
    )


def build_client_report(
    data: ClientReportData, words: ReportWords, *, name: str, generated: dt.datetime
) -> ClientReport:
    """The client's own report (`name` empty unless names may be shown)."""
    changes = _changes(data, words)
    return ClientReport(
        code=data.record.client.code,
        name=name,
        improved=changes.improved,
        unchanged=changes.unchanged,
        not_compared=changes.not_compared,
        statements=strength_statements(data.answers, words.language),
        answered_strengths=any(key in data.answers for key in STRENGTH_KEYS),
        harder=changes.harder,
        measures=_measures(data, words),
        progress_note=_progress_note(data),
        court=court_sentences(data),
        court_looked=_court_looked(data, words),
        generated=words.date(words.local_date(generated)),
    )
