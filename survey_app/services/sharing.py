"""What the court sees of a client: only what the client consented to, and every disclosure recorded.

The court progress report is built from the programme's timepoints, the client's sessions and, only
where consented, stored scores. It never reads answers, notes or identities: attendance and completion
by default, scores and a summary (band and reliable change per scale) only where the client agreed.
Each view by a court liaison is a disclosure: a ``court_shares`` row the client can see, and an audit
event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Select, select

from survey_app.db import DbSession
from survey_app.domain.change import ReliableChangeNotAvailable, reliable_change
from survey_app.domain.questionnaire import Questionnaire, Scale, localise
from survey_app.domain.schedule import ScheduledTimepoint
from survey_app.models.assessment import AssessmentSession, Score
from survey_app.models.base import utcnow
from survey_app.models.people import Client, StaffSiteMembership, StaffUser
from survey_app.models.programme import Site, Timepoint
from survey_app.models.questionnaire import QuestionnaireVersion
from survey_app.models.security import CourtShare
from survey_app.models.workspace import ClientAnchorChange
from survey_app.services.audit import record_event
from survey_app.services.consent import ConsentState, clients_with_consent, consent_for
from survey_app.services.erased_clients import not_erased
from survey_app.services.questionnaires import questionnaire_of
from survey_app.services.schedules import plan_of, schedule_of_client, session_fact
from survey_app.services.trends import versions_comparable

__all__ = [
    "Attendance",
    "CourtReport",
    "ScaleSummary",
    "SharedScore",
    "build_court_report",
    "court_client",
    "court_clients",
    "court_disclosures",
    "record_court_share",
]


@dataclass(frozen=True)
class Attendance:
    """One timepoint: when it was due and whether the client completed the assessment."""

    timepoint: str
    due: dt.date | None
    status: str  # completed, started, missed, due, upcoming
    completed_on: dt.date | None = None


@dataclass(frozen=True)
class SharedScore:
    """One scale's score at one timepoint (shared only with consent for scores)."""

    timepoint: str
    questionnaire: str
    scale: str
    value: float | None
    band: str | None
    #: decimals the scale's scores are shown with (rounded half up, as on the counsellor's pages)
    precision: int = 0


@dataclass(frozen=True)
class ScaleSummary:
    """First and latest band of a scale and whether the change is reliable (consent for a summary)."""

    questionnaire: str
    scale: str
    first_band: str | None
    latest_band: str | None
    #: reliable_improvement, no_reliable_change, reliable_deterioration, not_comparable (the questionnaire
    #: changed to a version not declared comparable); None: unknown
    change: str | None


@dataclass(frozen=True)
class CourtReport:
    """The court progress report of one client, limited to ``categories``."""

    client_code: str
    categories: tuple[str, ...]
    attendance: list[Attendance]
    scores: list[SharedScore] = field(default_factory=list)
    summaries: list[ScaleSummary] = field(default_factory=list)


def _court_clients_query(session: DbSession, user: StaffUser) -> Select[Client]:
    query = (
        select(Client)
        .join(Site, Site.id == Client.site_id)
        .where(
            Site.organisation_id == user.organisation_id,
            Client.id.in_(clients_with_consent("court")),
            not_erased(),  # erasure keeps the consent history, not the court's view of the client
        )
        .order_by(Client.code)
    )
    site_ids = select(StaffSiteMembership.site_id).where(StaffSiteMembership.staff_user_id == user.id)
    if session.scalar(site_ids.limit(1)) is not None:
        query = query.where(Client.site_id.in_(site_ids))
    return query


def court_clients(session: DbSession, user: StaffUser) -> Sequence[Client]:
    """Clients of the liaison's organisation (and sites, if they have any) who consent to court reports.

    Erased clients are left out, even where their court consent is still the decision in force.
    """
    if user.role != "court_liaison" or not user.is_active:
        return []
    return session.scalars(_court_clients_query(session, user)).all()


def court_client(session: DbSession, user: StaffUser, code: str) -> Client | None:
    """One of ``court_clients`` by code, or None (no consent, someone else's, or missing)."""
    if user.role != "court_liaison" or not user.is_active or len(code) > 32:
        return None
    return session.scalar(_court_clients_query(session, user).where(Client.code == code.strip().upper()))


def _attendance_status(entry: ScheduledTimepoint, today: dt.date) -> str:
    if entry.session is not None:
        return "completed" if entry.session.is_submitted else "started"
    if entry.window_start is None or entry.window_end is None:
        return "upcoming"
    if today > entry.window_end:
        return "missed"
    return "due" if today >= entry.window_start else "upcoming"


def _attendance(
    session: DbSession, client: Client, today: dt.date, timezone: dt.tzinfo, language: str
) -> list[Attendance]:
    """Each timepoint as the client's page dates it: a done one by the schedule and anchors of its day."""
    sessions = session.scalars(
        select(AssessmentSession).where(
            AssessmentSession.client_id == client.id, AssessmentSession.status != "cancelled"
        )
    )
    timepoints = session.scalars(
        select(Timepoint).where(Timepoint.programme_id == client.programme_id).order_by(Timepoint.position)
    )
    history = session.scalars(
        select(ClientAnchorChange)
        .where(ClientAnchorChange.client_id == client.id)
        .order_by(ClientAnchorChange.changed_at, ClientAnchorChange.id)
    ).all()
    schedule = schedule_of_client(
        client, [plan_of(row) for row in timepoints], [session_fact(row) for row in sessions], history, today
    )
    return [
        Attendance(
            entry.timepoint.label_in(language),
            entry.target,
            _attendance_status(entry, today),
            entry.session.submitted_at.astimezone(timezone).date()
            if entry.session is not None and entry.session.submitted_at is not None
            else None,
        )
        for entry in schedule
    ]


def _scored_rows(session: DbSession, client: Client) -> list[tuple[Score, Timepoint, QuestionnaireVersion]]:
    rows = session.execute(
        select(Score, Timepoint, QuestionnaireVersion)
        .join(AssessmentSession, AssessmentSession.id == Score.session_id)
        .join(Timepoint, Timepoint.id == AssessmentSession.timepoint_id)
        .join(QuestionnaireVersion, QuestionnaireVersion.id == Score.questionnaire_version_id)
        .where(AssessmentSession.client_id == client.id, AssessmentSession.status == "submitted")
        .order_by(AssessmentSession.submitted_at, Score.questionnaire_version_id, Score.scale_id)
    )
    return list(rows)


def _band_label(
    questionnaire: Questionnaire, scale_id: str, band_id: str | None, language: str
) -> str | None:
    scale = questionnaire.scales_by_id.get(scale_id)
    band = scale.band(band_id) if scale else None
    return localise(band.label, language) if band else None


def _shared_scores(
    rows: list[tuple[Score, Timepoint, QuestionnaireVersion]], language: str
) -> list[SharedScore]:
    shared = []
    for score, timepoint, version in rows:
        questionnaire = questionnaire_of(version)
        scale = questionnaire.scales_by_id.get(score.scale_id)
        shared.append(
            SharedScore(
                timepoint.label_in(language),
                localise(questionnaire.short_title, language) or questionnaire.key,
                localise(scale.label, language) if scale else score.scale_id,
                score.value,
                _band_label(questionnaire, score.scale_id, score.band, language),
                scale.precision if scale else 0,
            )
        )
    return shared


def _summary_change(
    scale: Scale,
    first: Score,
    latest: Score,
    versions: dict[int, Questionnaire],
    first_version: int,
    latest_version: int,
) -> str | None:
    if not versions_comparable(versions, first_version, latest_version, scale.id):
        return "not_comparable"
    if first.value is None or latest.value is None:
        return None
    try:
        return reliable_change(scale, first.value, latest.value).change.value
    except ReliableChangeNotAvailable:
        return None


def _summaries(
    rows: list[tuple[Score, Timepoint, QuestionnaireVersion]], language: str
) -> list[ScaleSummary]:
    by_scale: dict[tuple[str, str], list[tuple[Score, QuestionnaireVersion]]] = {}
    versions: dict[str, dict[int, Questionnaire]] = {}
    for score, _, version in rows:
        versions.setdefault(version.key, {})[version.version] = questionnaire_of(version)
        if score.value is not None:
            by_scale.setdefault((version.key, score.scale_id), []).append((score, version))
    summaries = []
    for (key, scale_id), series in by_scale.items():
        (first, first_version), (latest, version) = series[0], series[-1]
        questionnaire = questionnaire_of(version)
        scale = questionnaire.scales_by_id.get(scale_id)
        if scale is None:
            continue
        change = None
        if len(series) > 1:
            change = _summary_change(
                scale, first, latest, versions[key], first_version.version, version.version
            )
        summaries.append(
            ScaleSummary(
                localise(questionnaire.short_title, language) or questionnaire.key,
                localise(scale.label, language),
                _band_label(questionnaire, scale_id, first.band, language),
                _band_label(questionnaire, scale_id, latest.band, language),
                change,
            )
        )
    return summaries


def build_court_report(
    session: DbSession,
    client: Client,
    consent: ConsentState,
    *,
    language: str = "en",
    today: dt.date,
    timezone: dt.tzinfo,
) -> CourtReport:
    """The court progress report under ``consent`` on `today` (attendance only unless scores or a summary are
    agreed); completion dates are the days in `timezone`."""
    categories = consent.court_categories
    if not categories:
        return CourtReport(client.code, (), [])
    report = CourtReport(client.code, categories, _attendance(session, client, today, timezone, language))
    if "scores" in categories or "summary" in categories:
        rows = _scored_rows(session, client)
        if "scores" in categories:
            report.scores.extend(_shared_scores(rows, language))
        if "summary" in categories:
            report.summaries.extend(_summaries(rows, language))
    return report


def record_court_share(
    session: DbSession, client: Client, report: CourtReport, user: StaffUser, *, ip: str | None = None
) -> CourtShare:
    """Record that ``user`` was shown ``report``: a disclosure the client can see, and an audit event."""
    consent = consent_for(session, client.id, "court")
    if consent.record_id is None or not consent.granted:
        raise PermissionError("no court consent in force for this client")
    share = CourtShare(
        client_id=client.id,
        shared_with=user.id,
        shared_at=utcnow(),
        categories=list(report.categories),
        consent_record_id=consent.record_id,
    )
    session.add(share)
    session.flush()
    record_event(
        session,
        "court.share",
        actor_type="staff",
        actor_id=user.id,
        object_type="client",
        object_id=client.id,
        ip=ip,
        details={
            "categories": list(report.categories),
            "court_share_id": share.id,
            "consent_record_id": consent.record_id,
        },
    )
    return share


def court_disclosures(session: DbSession, client_id: int) -> Sequence[CourtShare]:
    """Every disclosure of the client's progress to the court, newest first (shown to the client)."""
    return session.scalars(
        select(CourtShare).where(CourtShare.client_id == client_id).order_by(CourtShare.id.desc())
    ).all()
