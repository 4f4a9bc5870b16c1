"""PDF reports as use cases: what each kind reads, who sees names, file names, and the audit of a render.

Three kinds: the counsellor's report of a client (everything the client's page shows, for the file and case
meetings), the client's own report (plain words, strengths first, what the court sees), and the record of one
filled-in session exactly as answered. They read the same rows as the workspace pages (`client_record`,
`session_answers`), never anything re-scored. Full names appear only where the organisation has turned them
on and the reader may see identities; the pseudonymous code is always there.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from survey_app.db import DbSession
from survey_app.domain.questionnaire import Questionnaire
from survey_app.models.assessment import Answer, AssessmentSession, Score
from survey_app.models.people import Client, StaffUser
from survey_app.models.reports import REPORT_KINDS, ReportSettings
from survey_app.models.security import CourtShare
from survey_app.services.answer_review import QuestionnaireAnswers, session_answers
from survey_app.services.audit import record_event
from survey_app.services.client_record import ClientRecord, client_record
from survey_app.services.consent import ConsentState, consent_for
from survey_app.services.sharing import court_disclosures
from survey_app.services.stored_versions import questionnaires_by_id

__all__ = [
    "IDENTITY_ROLES",
    "REPORT_KINDS",
    "ClientReportData",
    "CounsellorReportData",
    "RecordData",
    "ReportError",
    "client_report_data",
    "counsellor_report_data",
    "find_session",
    "latest_answers",
    "names_enabled",
    "record_data",
    "record_report_render",
    "report_file_name",
    "set_names_enabled",
    "show_names",
]

#: Staff roles that may see a client's identity (the same roles that open a client's page).
IDENTITY_ROLES = ("counsellor", "site_lead")
SESSION_LIST_LIMIT = 10


class ReportError(ValueError):
    """A report that cannot be made as asked; the message says why and what to do."""


def names_enabled(session: DbSession, organisation_id: int) -> bool:
    """True when the organisation has turned full names on for its reports (off unless set)."""
    return bool(
        session.scalar(
            select(ReportSettings.show_names).where(ReportSettings.organisation_id == organisation_id)
        )
    )


def show_names(session: DbSession, client: Client, reader: StaffUser | None) -> bool:
    """Names on this reader's reports: the organisation's setting is on AND the reader may see identities."""
    if reader is None or reader.role not in IDENTITY_ROLES or not reader.is_active:
        return False
    return names_enabled(session, client.site.organisation_id)


def set_names_enabled(
    session: DbSession, organisation_id: int, enabled: bool, *, actor_id: int, ip: str | None = None
) -> bool:
    """Turn full names on reports on or off for an organisation (audited); True when it changed."""
    settings = session.get(ReportSettings, organisation_id)
    if settings is None:
        settings = ReportSettings(organisation_id=organisation_id, show_names=False)
        session.add(settings)
    changed = settings.show_names != enabled
    settings.show_names = enabled
    settings.updated_by = actor_id
    session.flush()
    if changed:
        record_event(
            session,
            "report.settings",
            actor_type="staff",
            actor_id=actor_id,
            object_type="organisation",
            object_id=organisation_id,
            ip=ip,
            details={"show_names": enabled},
        )
    return changed


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:40] or "x"


def report_file_name(
    client_code: str,
    kind: str,
    language: str,
    assessment: AssessmentSession | None = None,
    timezone: dt.tzinfo = dt.UTC,
) -> str:
    """A stable file name from the client's code, the kind and the language (and the session of a record,
    with the day in `timezone` it was submitted)."""
    stem = f"{_slug(client_code)}_{kind}_{language}"
    if kind == "record" and assessment is not None:
        when = (assessment.submitted_at or assessment.started_at).astimezone(timezone).date().isoformat()
        wave = _slug(assessment.timepoint.key) if assessment.timepoint else "extra"
        stem = f"{_slug(client_code)}_record_{wave}_{when}_{assessment.public_id[:8]}_{language}"
    return f"{stem}.pdf"


def _session_choices(sessions: Sequence[AssessmentSession]) -> str:
    listed = [
        f"{row.public_id} ({(row.submitted_at or row.started_at).date().isoformat()}, "
        f"{row.timepoint.key if row.timepoint else 'extra'}, {row.status})"
        for row in sessions[:SESSION_LIST_LIMIT]
    ]
    return "; ".join(listed)


def find_session(session: DbSession, client: Client, public_id: str | None) -> AssessmentSession:
    """The client's session with this public id (with none given: the only session, if there is one)."""
    sessions = list(
        session.scalars(
            select(AssessmentSession)
            .where(AssessmentSession.client_id == client.id)
            .order_by(AssessmentSession.started_at.desc(), AssessmentSession.id.desc())
        )
    )
    if public_id:
        found = next((row for row in sessions if row.public_id == public_id.strip().lower()), None)
        if found is None:
            raise ReportError(f"{client.code} has no session {public_id.strip()!r}.")
        return found
    if not sessions:
        raise ReportError(f"{client.code} has no sessions yet: there is no filled-in form to record.")
    if len(sessions) == 1:
        return sessions[0]
    raise ReportError(
        f"Choose the session to record with --session; {client.code} has: {_session_choices(sessions)}"
    )


@dataclass(frozen=True)
class CounsellorReportData:
    """What the counsellor's report shows: the client's page as data, and what the court may see."""

    record: ClientRecord
    court: ConsentState


def counsellor_report_data(session: DbSession, client: Client, today: dt.date) -> CounsellorReportData:
    """Read the counsellor's report of a client."""
    return CounsellorReportData(
        client_record(session, client, today), consent_for(session, client.id, "court")
    )


@dataclass(frozen=True)
class ClientReportData:
    """What the client's own report shows: their trends, their latest answers, what the court sees."""

    record: ClientRecord
    court: ConsentState
    disclosures: Sequence[CourtShare]
    answers: dict[str, tuple[Questionnaire, dict[str, Any]]]


def latest_answers(
    session: DbSession, client_id: int, keys: Sequence[str]
) -> dict[str, tuple[Questionnaire, dict[str, Any]]]:
    """Per questionnaire key: the version and the answers of the client's latest submitted session with it."""
    rows = session.execute(
        select(AssessmentSession.id, Answer.questionnaire_version_id, Answer.item_id, Answer.value)
        .join(Answer, Answer.session_id == AssessmentSession.id)
        .where(AssessmentSession.client_id == client_id, AssessmentSession.status == "submitted")
        .order_by(AssessmentSession.submitted_at.desc(), AssessmentSession.id.desc())
    ).all()
    versions = questionnaires_by_id(session, {row.questionnaire_version_id for row in rows})
    chosen: dict[str, tuple[int, int]] = {}
    answers: dict[tuple[int, int], dict[str, Any]] = defaultdict(dict)
    for session_id, version_id, item_id, value in rows:
        key = versions[version_id].key
        if key not in keys:
            continue
        chosen.setdefault(key, (session_id, version_id))
        if chosen[key] == (session_id, version_id):
            answers[(session_id, version_id)][item_id] = value
    return {key: (versions[pair[1]], answers[pair]) for key, pair in chosen.items()}


def client_report_data(
    session: DbSession, client: Client, today: dt.date, strength_keys: Sequence[str]
) -> ClientReportData:
    """Read the client's own report (`strength_keys`: questionnaires whose statements may be quoted)."""
    return ClientReportData(
        client_record(session, client, today),
        consent_for(session, client.id, "court"),
        court_disclosures(session, client.id),
        latest_answers(session, client.id, strength_keys),
    )


@dataclass(frozen=True)
class RecordData:
    """One session exactly as answered, its scores, and the client it belongs to."""

    client: Client
    assessment: AssessmentSession
    questionnaires: list[QuestionnaireAnswers]
    scores: dict[int, list[Score]]


def record_data(session: DbSession, client: Client, assessment: AssessmentSession) -> RecordData:
    """Read the record of one session (texts in the language the session was answered in)."""
    scores: dict[int, list[Score]] = defaultdict(list)
    for row in session.scalars(select(Score).where(Score.session_id == assessment.id).order_by(Score.id)):
        scores[row.questionnaire_version_id].append(row)
    return RecordData(client, assessment, session_answers(session, assessment, assessment.language), scores)


def record_report_render(
    session: DbSession,
    client: Client,
    kind: str,
    language: str,
    *,
    actor_id: int | None,
    ip: str | None = None,
    via: str = "web",
    assessment: AssessmentSession | None = None,
    batch: str | None = None,
) -> None:
    """Audit that a report of `client` was made (ids, kind and language only; never its content)."""
    details: dict[str, str] = {"kind": kind, "language": language, "via": via}
    if assessment is not None:
        details["session"] = assessment.public_id
    if batch is not None:
        details["batch"] = batch
    record_event(
        session,
        "report.render",
        actor_type="staff" if actor_id else "system",
        actor_id=actor_id,
        object_type="client",
        object_id=client.id,
        ip=ip,
        details=details,
    )
