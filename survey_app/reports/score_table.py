"""Every score of a client by session, and the notes on missing data, for the counsellor's report.

The score table has a column per session with scores (every timepoint first, then the latest extra sessions,
at most six) and, per questionnaire, a row per scale with its value, its band (from the version answered),
marks for estimated scores and version breaks, and the change since intake. Scales at the best end of their
range in every session are named in one line instead. The missing-data notes list missed timepoints,
sessions not submitted, per session the scales not scored or estimated, and version breaks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import ngettext

from survey_app.domain.questionnaire import Direction, localise
from survey_app.domain.schedule import TimepointState
from survey_app.domain.scoring import NotScored
from survey_app.reports.wording import Badge, ReportWords
from survey_app.services.client_record import ClientRecord
from survey_app.services.trends import InstrumentTrend, ScaleTrend

#: Most score columns the table shows (every timepoint first, then the latest extra sessions).
MAX_COLUMNS = 6


def questionnaire_title(instrument: InstrumentTrend, language: str) -> str:
    """A questionnaire's short title in `language`."""
    return localise(instrument.questionnaire.short_title, language) or instrument.key


@dataclass(frozen=True)
class Column:
    """A session shown as a column of the score table."""

    session_id: int
    heading: str
    date: str


@dataclass(frozen=True)
class Cell:
    """One scale's score in one session."""

    value: str
    band: str
    marks: str


@dataclass(frozen=True)
class ScaleRow:
    """One scale across the sessions, with its change."""

    label: str
    arrow: str
    cells: tuple[Cell, ...]
    change: str
    badge: Badge | None


@dataclass(frozen=True)
class InstrumentRows:
    """One questionnaire's scales: a group of rows in the score table.

    Scales at the best end of their range in every session (no days of use, no problem) are named in
    `at_best` instead of taking a row each.
    """

    title: str
    versions: str
    rows: tuple[ScaleRow, ...]
    at_best: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScoreTable:
    """Every scale of every questionnaire across the sessions shown (timepoints, then extra sessions)."""

    columns: tuple[Column, ...]
    groups: tuple[InstrumentRows, ...]
    left_out: int


def _columns(record: ClientRecord, words: ReportWords) -> tuple[list[Column], int]:
    labels = {timepoint.id: timepoint.label_in(words.language) for timepoint in record.timepoints}
    found: dict[int, tuple[dt.datetime, Column, bool]] = {}
    for instrument in record.instruments:
        for trend in instrument.scales:
            for point in trend.points:
                if point.session_id not in found:
                    wave = labels.get(point.timepoint_id) if point.timepoint_id is not None else None
                    column = Column(
                        point.session_id,
                        wave or words.extra_session,
                        words.date(words.local_date(point.submitted_at)),
                    )
                    found[point.session_id] = (point.submitted_at, column, wave is not None)
    ordered = [entry for entry in sorted(found.values(), key=lambda entry: entry[0])]
    waves = [column for _, column, is_wave in ordered if is_wave]
    extra = [column for _, column, is_wave in ordered if not is_wave]
    room = max(MAX_COLUMNS - len(waves), 0)
    chosen = {column.session_id for column in waves + (extra[-room:] if room else [])}
    shown = [column for _, column, _ in ordered if column.session_id in chosen]
    return shown, len(ordered) - len(shown)


def _cell(trend: ScaleTrend, session_id: int, words: ReportWords) -> Cell:
    point = next((point for point in trend.points if point.session_id == session_id), None)
    if point is None:
        return Cell("", "", "")
    marks = ("\u2021" if point.breaks_before else "") + ("\u2248" if point.prorated else "")
    if point.value is None:
        return Cell("\u2014", "", marks)
    return Cell(words.score(point.value, trend.scale.precision), words.band(trend, point), marks)


def _at_best_end(trend: ScaleTrend) -> bool:
    """True when every score of the scale sits at its best end (for example no days of use at all)."""
    best = (
        trend.scale.range[1] if trend.scale.direction is Direction.HIGHER_IS_BETTER else trend.scale.range[0]
    )
    values = [point.value for point in trend.points]
    return len(values) > 1 and all(value is not None and value == best for value in values)


def score_table(record: ClientRecord, words: ReportWords) -> ScoreTable:
    """Every scale of every questionnaire across the sessions shown."""
    columns, left_out = _columns(record, words)
    groups = []
    for instrument in record.instruments:
        at_best = [trend for trend in instrument.scales if len(instrument.scales) > 3 and _at_best_end(trend)]
        rows = tuple(
            ScaleRow(
                localise(trend.scale.label, words.language),
                words.arrow(trend),
                tuple(_cell(trend, column.session_id, words) for column in columns),
                words.short_change(trend),
                words.change_badge(trend),
            )
            for trend in instrument.scales
            if trend not in at_best
        )
        versions = sorted({point.version for trend in instrument.scales for point in trend.points})
        groups.append(
            InstrumentRows(
                questionnaire_title(instrument, words.language),
                ", ".join(f"v{v}" for v in versions),
                rows,
                tuple(localise(trend.scale.label, words.language) for trend in at_best),
            )
        )
    return ScoreTable(tuple(columns), tuple(groups), left_out)


def missing_data_notes(record: ClientRecord, words: ReportWords) -> tuple[str, ...]:
    """Missed timepoints, unsubmitted sessions, per session the unscored and estimated scales, and breaks."""
    notes = []
    for entry in record.schedule:
        if entry.state is TimepointState.MISSED:
            notes.append(
                _(
                    "%(timepoint)s: missed (the window closed on %(date)s without a session).",
                    timepoint=entry.timepoint.label_in(words.language),
                    date=words.date(entry.window_end),
                )
            )
    for row in record.sessions:
        if row.session.status == "open":
            notes.append(
                _(
                    "A session started on %(date)s (%(timepoint)s) was not submitted.",
                    date=words.date(words.local_date(row.session.started_at)),
                    timepoint=row.timepoint_label_in(words.language) or words.extra_session,
                )
            )
    return tuple(notes + _scale_notes(record, words))


@dataclass
class _Gaps:
    """Per session (by submission time): where it was, the scales not scored and the estimated ones."""

    places: dict[dt.datetime, str] = field(default_factory=dict)
    #: Per session, the scales not scored by reason (a `NotScored` value, or "" where it is not known).
    unscored: dict[dt.datetime, dict[str, dict[str, list[str]]]] = field(default_factory=dict)
    estimated: dict[dt.datetime, dict[str, list[str]]] = field(default_factory=dict)
    breaks: list[tuple[str, dt.datetime]] = field(default_factory=list)
    project_rule: bool = False  # an estimated score used the project's missing-item rule


def _gaps(record: ClientRecord, words: ReportWords) -> _Gaps:
    gaps = _Gaps()
    labels = {timepoint.id: timepoint.label_in(words.language) for timepoint in record.timepoints}
    for instrument in record.instruments:
        title = questionnaire_title(instrument, words.language)
        for trend in instrument.scales:
            name = localise(trend.scale.label, words.language)
            for point in trend.points:
                when = point.submitted_at
                wave = labels.get(point.timepoint_id) if point.timepoint_id is not None else None
                gaps.places[when] = f"{wave or words.extra_session}, {words.date(words.local_date(when))}"
                if point.value is None:
                    reason = trend.not_scored_reason(point) or ""
                    by_reason = gaps.unscored.setdefault(when, {}).setdefault(reason, {})
                    by_reason.setdefault(title, []).append(name)
                elif point.prorated:
                    scale = trend.versions[point.version].scales_by_id.get(trend.scale.id, trend.scale)
                    gaps.project_rule = gaps.project_rule or scale.missing_rule == "project"
                    gaps.estimated.setdefault(when, {}).setdefault(title, []).append(
                        ngettext(
                            "%(scale)s (%(num)d item missing)",
                            "%(scale)s (%(num)d items missing)",
                            point.missing,
                            scale=name,
                        )
                    )
                if point.breaks_before and (title, when) not in gaps.breaks:
                    gaps.breaks.append((title, when))
    return gaps


def _by_questionnaire(scales: dict[str, list[str]]) -> str:
    """Scales named once per questionnaire: "TOP: Days using cannabis, Days in paid work; PHQ-9: Total"."""
    return "; ".join(f"{title}: {', '.join(names)}" for title, names in scales.items())


def _not_scored_note(reason: str, scales: str) -> str:
    """The scales of a completed session that have no score, with the reason where it is known."""
    if reason == NotScored.TOO_MANY_MISSING:
        return _("not scored, too many items missing: %(scales)s", scales=scales)
    if reason == NotScored.NOT_ASKED:
        return _("not asked because of earlier answers: %(scales)s", scales=scales)
    return _("completed, not scored: %(scales)s", scales=scales)


def _scale_notes(record: ClientRecord, words: ReportWords) -> list[str]:
    """One line per session with scales not scored or estimated; one per version break."""
    gaps = _gaps(record, words)
    notes = []
    for when in sorted(set(gaps.unscored) | set(gaps.estimated)):
        parts = []
        for reason, scales in sorted(gaps.unscored.get(when, {}).items()):
            parts.append(_not_scored_note(reason, _by_questionnaire(scales)))
        if when in gaps.estimated:
            parts.append(
                _(
                    "estimated from the answered items: %(scales)s",
                    scales=_by_questionnaire(gaps.estimated[when]),
                )
            )
        notes.append(
            f"{gaps.places[when]}: " + ". ".join(part[:1].upper() + part[1:] for part in parts) + "."
        )
    if gaps.project_rule:
        notes.append(
            _(
                "Estimated scores fill each missing item with the mean of the answered items of that scale: "
                "a rule of this project, as the questionnaire's authors give none."
            )
        )
    for title, when in gaps.breaks:
        notes.append(
            _(
                "%(questionnaire)s: the questionnaire changed version before %(date)s; scores are not "
                "compared across the change.",
                questionnaire=title,
                date=words.date(words.local_date(when)),
            )
        )
    return notes
