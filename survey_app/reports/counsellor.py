"""The counsellor's report of one client, as data for its template (2 to 4 A4 pages, up to 14 questionnaires).

Built from the same `ClientRecord` as the client's page: the programme and its timepoints, every
questionnaire's scores across the timepoints with bands, the profile's charts (the web page's chart builder),
reliable-change badges, risk flags and how they were handled, notes on missing data, session notes and each
questionnaire's citation. All words come from `ReportWords` (the report's language).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from markupsafe import Markup

from survey_app.domain.questionnaire import localise
from survey_app.reports.charts import score_chart_svg
from survey_app.reports.pdf import FONT_STACK
from survey_app.reports.score_table import ScoreTable, missing_data_notes, score_table
from survey_app.reports.wording import ReportWords, is_better, is_worse
from survey_app.services.alerts import flag_label
from survey_app.services.client_record import ClientRecord
from survey_app.services.outcome_summary import headline_scales, scale_chart
from survey_app.services.reports import CounsellorReportData
from survey_app.services.trends import ScaleTrend, missed_waves

CHART_WIDTH, CHART_HEIGHT = 400, 145


@dataclass(frozen=True)
class Fact:
    """A label and its value."""

    label: str
    value: str


@dataclass(frozen=True)
class ScheduleRow:
    """One timepoint of the programme for this client."""

    timepoint: str
    target: str
    window: str
    state: str
    state_key: str
    done: str


@dataclass(frozen=True)
class RaisedFlag:
    """One risk flag: its severity and what it is about."""

    severity: str
    severity_key: str
    label: str


@dataclass(frozen=True)
class FlagRow:
    """The risk flags one session raised that were handled together (the same acknowledgement and note)."""

    flags: tuple[RaisedFlag, ...]
    where: str
    handled: str
    note: str


@dataclass(frozen=True)
class ProfileGroup:
    """A life domain in plain words: its headline scales sorted by how they changed from intake to latest.

    The scores themselves are in the score table; `lines` say, per kind of change, which measures show it
    (a reliable-change symbol before a measure where one can be computed).
    """

    domain: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Chart:
    """A chart (inline SVG built from escaped text only) and what it shows."""

    title: str
    svg: Markup


@dataclass(frozen=True)
class NoteRow:
    """A counsellor's note on a session."""

    session: str
    written: str
    body: str


@dataclass(frozen=True)
class Citation:
    """How to cite a questionnaire, and the source of its reliable-change figures."""

    title: str
    versions: str
    citation: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class CounsellorReport:
    """Everything the counsellor's report shows."""

    code: str
    name: str
    facts: tuple[Fact, ...]
    court: str
    schedule: tuple[ScheduleRow, ...]
    flags: tuple[FlagRow, ...]
    profile: tuple[ProfileGroup, ...]
    charts: tuple[Chart, ...]
    scores: ScoreTable
    missing: tuple[str, ...]
    notes: tuple[NoteRow, ...]
    citations: tuple[Citation, ...]
    generated: str


def _facts(record: ClientRecord, words: ReportWords, name: str) -> tuple[Fact, ...]:
    client = record.client
    facts = [Fact(_("Code"), client.code)]
    if name:
        facts.append(Fact(_("Name"), name))
    facts += [
        Fact(_("Programme"), client.programme.name_in(words.language)),
        Fact(_("Site"), client.site.name),
        Fact(_("Counsellor"), client.counsellor.display_name if client.counsellor else _("none yet")),
        Fact(_("Status"), words.statuses.get(client.status, client.status)),
        Fact(
            _("Preferred language"), words.languages.get(client.preferred_language, client.preferred_language)
        ),
        Fact(words.anchors["intake"], words.date(client.intake_date)),
    ]
    facts += [
        Fact(words.anchors.get(row.anchor, row.anchor), words.date(row.date)) for row in client.anchor_dates
    ]
    return tuple(facts)


def court_words(data: CounsellorReportData) -> str:
    """What the client agreed to share with the court, in one sentence."""
    court = data.court
    if not court.granted:
        return _("No consent to share with the court: the court sees nothing of this client.")
    shared = [_("attendance and completed assessments")]
    if court.share_scores:
        shared.append(_("scores"))
    if court.share_summary:
        shared.append(_("a summary of change"))
    return _("The client agreed to share with the court: %(what)s.", what=", ".join(shared))


def _schedule(record: ClientRecord, words: ReportWords) -> tuple[ScheduleRow, ...]:
    rows = []
    for entry in record.schedule:
        done = ""
        if entry.session and entry.session.submitted_at:
            done = words.date(words.local_date(entry.session.submitted_at))
        window = ""
        if entry.window_start and entry.window_end:
            window = f"{words.date(entry.window_start)} \u2013 {words.date(entry.window_end)}"
        rows.append(
            ScheduleRow(
                entry.timepoint.label_in(words.language),
                words.date(entry.target),
                window,
                words.states[entry.state.value],
                entry.state.value,
                done,
            )
        )
    return tuple(rows)


def _flags(record: ClientRecord, words: ReportWords) -> tuple[FlagRow, ...]:
    rows: list[FlagRow] = []
    for alert in record.alerts:
        questionnaire = record.versions.get(alert.flag.questionnaire_version_id)
        label = (
            flag_label(questionnaire, alert.flag.flag_id, words.language)
            if questionnaire
            else alert.flag.flag_id
        )
        where = alert.timepoint_label_in(words.language) or words.extra_session
        if alert.reported_at:
            where += f", {words.date(words.local_date(alert.reported_at))}"
        if alert.acknowledgement is not None:
            handled = _(
                "Acknowledged %(when)s by %(name)s",
                when=words.moment(alert.acknowledgement.acknowledged_at),
                name=alert.acknowledged_by_name or "?",
            )
            note = alert.acknowledgement.note
        else:
            handled, note = _("Open: not acknowledged yet"), ""
        severity = alert.flag.severity
        raised = RaisedFlag(words.severities.get(severity, severity), severity, label)
        if rows and (rows[-1].where, rows[-1].handled, rows[-1].note) == (where, handled, note):
            rows[-1] = FlagRow((*rows[-1].flags, raised), where, handled, note)
        else:
            rows.append(FlagRow((raised,), where, handled, note))
    return tuple(rows)


#: How a headline scale changed from intake to latest, in the order the profile lists them.
CHANGE_KINDS = ("better", "worse", "same", "pending")


def _change_kind(trend: ScaleTrend) -> str:
    change = trend.change
    if change is None or not change.comparable:
        return "pending"
    if is_better(trend):
        return "better"
    return "worse" if is_worse(trend) else "same"


def _profile_line(kind: str, measures: list[str]) -> str:
    listed = "; ".join(measures)
    if kind == "better":
        return _("Better since intake: %(measures)s", measures=listed)
    if kind == "worse":
        return _("Worse since intake: %(measures)s", measures=listed)
    if kind == "same":
        return _("The same as at intake: %(measures)s", measures=listed)
    return _("No comparable second score yet: %(measures)s", measures=listed)


def _profile(record: ClientRecord, words: ReportWords) -> tuple[ProfileGroup, ...]:
    headlines = {
        id(trend): len(headline_scales(instrument))
        for instrument in record.instruments
        for trend in instrument.scales
    }
    groups = []
    for domain in record.profile:
        kinds: dict[str, list[str]] = {kind: [] for kind in CHANGE_KINDS}
        for trend in domain.scales:
            title = localise(trend.questionnaire.short_title, words.language) or trend.questionnaire.key
            if headlines.get(id(trend), 1) > 1:
                title = _scale_title(trend, words.language)
            badge = words.change_badge(trend)
            kinds[_change_kind(trend)].append(f"{badge.symbol} {title}" if badge else title)
        lines = tuple(_profile_line(kind, kinds[kind]) for kind in CHANGE_KINDS if kinds[kind])
        groups.append(ProfileGroup(words.life_domains[domain.life_domain], lines))
    return tuple(groups)


def _scale_title(trend: ScaleTrend, language: str) -> str:
    title = localise(trend.questionnaire.short_title, language) or trend.questionnaire.key
    return f"{title}: {localise(trend.scale.label, language)}"


def _charts(record: ClientRecord, words: ReportWords) -> tuple[Chart, ...]:
    texts = words.chart_texts()
    waves = {timepoint.id: timepoint.label_in(words.language) for timepoint in record.timepoints}
    missed = missed_waves(record.schedule)
    charts = []
    for instrument in record.instruments:
        for trend in headline_scales(instrument):
            chart = scale_chart(
                trend,
                language=words.language,
                texts=texts,
                wave_labels=waves,
                missed=missed,
                timezone=words.timezone,
            )
            svg = score_chart_svg(
                chart,
                chart_id=f"chart-{instrument.key}-{trend.scale.id}",
                width=CHART_WIDTH,
                height=CHART_HEIGHT,
                font_family=FONT_STACK,
            )
            charts.append(Chart(chart.title, Markup(svg)))
    return tuple(charts)


def _notes(record: ClientRecord, words: ReportWords) -> tuple[NoteRow, ...]:
    rows = []
    for row in reversed(record.sessions):
        for view in row.notes:
            day = words.date(words.local_date(row.session.started_at))
            session = f"{row.timepoint_label_in(words.language) or words.extra_session}, {day}"
            written = _(
                "%(when)s by %(name)s", when=words.moment(view.note.created_at), name=view.author_name or "?"
            )
            rows.append(NoteRow(session, written, view.note.body))
    return tuple(rows)


def _citations(record: ClientRecord) -> tuple[Citation, ...]:
    citations = []
    for instrument in record.instruments:
        questionnaire = instrument.questionnaire
        versions = sorted({point.version for trend in instrument.scales for point in trend.points})
        sources = tuple(
            dict.fromkeys(
                trend.scale.reliable_change.source
                for trend in instrument.scales
                if trend.scale.reliable_change
            )
        )
        citations.append(
            Citation(
                localise(questionnaire.title, "en"),
                ", ".join(f"v{v}" for v in versions),
                questionnaire.citation,
                sources,
            )
        )
    return tuple(citations)


def build_counsellor_report(
    data: CounsellorReportData, words: ReportWords, *, name: str, generated: dt.datetime
) -> CounsellorReport:
    """The counsellor's report of a client (`name` empty unless names may be shown)."""
    record = data.record
    return CounsellorReport(
        code=record.client.code,
        name=name,
        facts=_facts(record, words, name),
        court=court_words(data),
        schedule=_schedule(record, words),
        flags=_flags(record, words),
        profile=_profile(record, words),
        charts=_charts(record, words),
        scores=score_table(record, words),
        missing=missing_data_notes(record, words),
        notes=_notes(record, words),
        citations=_citations(record),
        generated=words.moment(generated),
    )
