"""A client's complete record for the right of access (GDPR art. 15), as plain JSON-ready data.

It holds everything kept about the client: the pseudonymous code and programme, identifiers if any,
court dates, consent decisions, disclosures to the court, every session with the questions as asked,
the answers and the scores, any other row linked to the client (notes, status history, ...) and who
accessed the record when (role and action, from the audit trail). Secrets (hashes, tokens) are left out.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from sqlalchemy import Table, or_, select

from survey_app.db import DbSession
from survey_app.domain.questionnaire import Questionnaire, localise
from survey_app.extensions import Base
from survey_app.models.assessment import Answer, AssessmentSession, Score, ScoreFlag
from survey_app.models.audit import AuditEvent
from survey_app.models.base import utcnow
from survey_app.models.people import Client, ClientAnchorDate, ClientIdentity, StaffUser
from survey_app.models.programme import Programme, Site, Timepoint
from survey_app.models.questionnaire import QuestionnaireVersion
from survey_app.models.security import ClientErasure, ConsentRecord, CourtShare
from survey_app.services.questionnaires import questionnaire_of

__all__ = ["RECORD_FORMAT", "client_record"]

RECORD_FORMAT = "client-record/1"
#: Tables the record shows in their own sections (everything else linked to the client goes in "other").
_OWN_SECTIONS = frozenset(
    {
        "client_identities",
        "client_anchor_dates",
        "assessment_sessions",
        "session_questionnaires",
        "answers",
        "scores",
        "score_flags",
        "submissions",
        "consent_records",
        "court_shares",
        "client_erasures",
    }
)
_SECRET_WORDS = frozenset({"hash", "secret", "token"})


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def _columns(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: _plain(getattr(row, name)) for name in names}


def _answer_text(questionnaire: Questionnaire, item_id: str, value: Any, language: str) -> dict[str, Any]:
    item = questionnaire.items_by_id.get(item_id)
    entry: dict[str, Any] = {"item": item_id, "value": value}
    if item is None:
        return entry
    entry["question"] = localise(item.text, language)
    if isinstance(value, int) and not isinstance(value, bool) and item.options:
        option = item.option(value)
        entry["answer"] = localise(option.label, language) if option else None
    return entry


def _questionnaire_entry(
    session: DbSession, assessment: AssessmentSession, version: QuestionnaireVersion, language: str
) -> dict[str, Any]:
    questionnaire = questionnaire_of(version)
    answers = session.scalars(
        select(Answer)
        .where(Answer.session_id == assessment.id, Answer.questionnaire_version_id == version.id)
        .order_by(Answer.id)
    )
    scores = session.scalars(
        select(Score).where(Score.session_id == assessment.id, Score.questionnaire_version_id == version.id)
    )
    flags = session.scalars(
        select(ScoreFlag).where(
            ScoreFlag.session_id == assessment.id, ScoreFlag.questionnaire_version_id == version.id
        )
    )
    return {
        "questionnaire": version.key,
        "version": version.version,
        "title": localise(questionnaire.title, language),
        "answers": [_answer_text(questionnaire, row.item_id, row.value, language) for row in answers],
        "scores": [
            {"scale": row.scale_id, "value": row.value, "band": row.band, "prorated": row.prorated}
            for row in scores
        ],
        "flags": [
            {"flag": row.flag_id, "severity": row.severity, "raised_at": _plain(row.raised_at)}
            for row in flags
        ],
    }


def _assessments(session: DbSession, client: Client) -> list[dict[str, Any]]:
    entries = []
    rows = session.scalars(
        select(AssessmentSession)
        .where(AssessmentSession.client_id == client.id)
        .order_by(AssessmentSession.started_at)
    )
    for assessment in rows:
        timepoint = session.get(Timepoint, assessment.timepoint_id) if assessment.timepoint_id else None
        entry = _columns(
            assessment, ("public_id", "status", "language", "mode", "started_at", "submitted_at")
        )
        entry["timepoint"] = timepoint.label_in(client.preferred_language) if timepoint else None
        entry["questionnaires"] = [
            _questionnaire_entry(session, assessment, given.questionnaire_version, client.preferred_language)
            for given in assessment.questionnaires
        ]
        entries.append(entry)
    return entries


def _other_rows(session: DbSession, client: Client) -> dict[str, list[dict[str, Any]]]:
    """Rows of any other table linked to the client, directly or through the client's rows (at any depth)."""
    linked: dict[str, Any] = {"clients": Base.metadata.tables["clients"].c.id == client.id}
    found: dict[str, list[dict[str, Any]]] = {}
    for table in Base.metadata.sorted_tables:  # parents before the tables that point at them
        condition = _link_condition(table, linked)
        if condition is None or table.name in linked:
            continue
        linked[table.name] = condition
        if table.name in _OWN_SECTIONS:
            continue
        visible = [column for column in table.c if not _SECRET_WORDS & set(column.name.split("_"))]
        rows = session.execute(select(*visible).where(condition)).mappings().all()
        if rows:
            found[table.name] = [{name: _plain(value) for name, value in row.items()} for row in rows]
    return found


def _link_condition(table: Table, linked: dict[str, Any]) -> Any:
    """The rows of ``table`` pointing at a row already linked to the client, or None if none can."""
    conditions = []
    for constraint in table.foreign_key_constraints:
        referred = constraint.referred_table
        if len(constraint.columns) != 1 or referred.name not in linked:
            continue
        column = next(iter(constraint.columns))
        parent = next(iter(constraint.elements)).column
        conditions.append(column.in_(select(parent).where(linked[referred.name])))
    return or_(*conditions) if conditions else None


def _access_log(session: DbSession, client: Client) -> list[dict[str, Any]]:
    rows = session.execute(
        select(AuditEvent.occurred_at, AuditEvent.action, AuditEvent.actor_type, StaffUser.role)
        .outerjoin(StaffUser, StaffUser.id == AuditEvent.actor_id)
        .where(AuditEvent.object_type == "client", AuditEvent.object_id == str(client.id))
        .order_by(AuditEvent.id)
    )
    return [
        {"at": _plain(at), "action": action, "by": role if actor_type == "staff" else actor_type}
        for at, action, actor_type, role in rows
    ]


def client_record(session: DbSession, client: Client, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything kept about ``client``, as JSON-ready data (the right of access)."""
    site = session.get(Site, client.site_id)
    programme = session.get(Programme, client.programme_id)
    identity = session.get(ClientIdentity, client.id)
    erasure = session.scalar(select(ClientErasure).where(ClientErasure.client_id == client.id))
    anchors = session.scalars(select(ClientAnchorDate).where(ClientAnchorDate.client_id == client.id))
    consents = session.scalars(
        select(ConsentRecord).where(ConsentRecord.client_id == client.id).order_by(ConsentRecord.id)
    )
    shares = session.scalars(
        select(CourtShare).where(CourtShare.client_id == client.id).order_by(CourtShare.id)
    )
    return {
        "format": RECORD_FORMAT,
        "generated_at": _plain(now or utcnow()),
        "client": {
            **_columns(client, ("code", "status", "preferred_language", "intake_date", "created_at")),
            "site": site.name if site else None,
            "programme": programme.name_in(client.preferred_language) if programme else None,
        },
        "identity": _columns(
            identity, ("given_name", "family_name", "date_of_birth", "national_number", "phone")
        )
        if identity
        else None,
        "court_dates": [{"anchor": row.anchor, "date": _plain(row.date)} for row in anchors],
        "consents": [
            _columns(
                row, ("purpose", "granted", "share_scores", "share_summary", "text_version", "recorded_at")
            )
            for row in consents
        ],
        "court_disclosures": [
            {"shared_at": _plain(row.shared_at), "categories": list(row.categories)} for row in shares
        ],
        "assessments": _assessments(session, client),
        "other_records": _other_rows(session, client),
        "access_log": _access_log(session, client),
        "erasure": _columns(erasure, ("erased_at", "reason", "research_data_kept")) if erasure else None,
    }
