"""GDPR rights of a client: access (the complete record as data) and erasure.

Erasure removes the identifiers and the link key: the ``client_identities`` row, the anchor (court)
dates, the counsellor link, notes and every other row linked to the client, and replaces the
pseudonymous code with a random one nobody holds, so nothing leads from the person to the data any more.
The pseudonymised research data (sessions, answers without free text, scores) stays only when the
organisation records a legal basis for it (GDPR art. 17(3)(d) and 89: ``privacy_settings.
research_legal_basis``) and the client's research consent is in force; otherwise it is removed too.
Consent records and court disclosures stay: they hold no identifiers and document what was lawful. Both
steps are audited. What stays is for research exports only: the ``client_erasures`` row takes the client
out of every staff screen and of the court's pages (``services/erased_clients.py``), even though the
kept rows (and the consent to court reports in force at erasure) still point at the client.

Rows in tables added later are found through their foreign keys to ``clients`` (and to the client's
rows), so a new table linked to a client is covered without changes here.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, ForeignKeyConstraint, Table, delete, select, tuple_, update

from survey_app.db import DbSession
from survey_app.domain.questionnaire import ItemType
from survey_app.extensions import Base
from survey_app.models.assessment import Answer, AssessmentSession, SessionQuestionnaire
from survey_app.models.base import utcnow
from survey_app.models.people import Client
from survey_app.models.programme import Site
from survey_app.models.questionnaire import QuestionnaireVersion
from survey_app.models.security import ClientErasure, PrivacySettings
from survey_app.services.audit import record_event
from survey_app.services.consent import has_consent
from survey_app.services.exports.packages import withdraw_after_erasure
from survey_app.services.gdpr_record import client_record
from survey_app.services.questionnaires import questionnaire_of

__all__ = [
    "ErasureReport",
    "GdprError",
    "client_record",
    "erase_client",
    "find_client",
    "privacy_settings_of",
]

#: Tables holding the pseudonymised research data that may be kept after erasure.
RESEARCH_TABLES = frozenset(
    {"assessment_sessions", "session_questionnaires", "answers", "scores", "score_flags", "submissions"}
)
#: Tables that stay linked to the erased client: no identifiers, and they document what was lawful.
KEPT_TABLES = frozenset({"consent_records", "court_shares", "client_erasures"})
_MAX_DEPTH = 8


class GdprError(ValueError):
    """A request that cannot be carried out as asked (message is safe to show)."""


@dataclass
class ErasureReport:
    """What an erasure removed (rows per table) and whether the research data was kept."""

    client_id: int
    research_data_kept: bool
    legal_basis: str | None
    removed: dict[str, int] = field(default_factory=dict)


def find_client(session: DbSession, code: str) -> Client | None:
    """The client with this pseudonymous code (case-insensitive), or None."""
    return session.scalar(select(Client).where(Client.code == code.strip().upper()))


def privacy_settings_of(session: DbSession, organisation_id: int) -> PrivacySettings | None:
    """The organisation's retention and research-basis settings, if recorded."""
    return session.get(PrivacySettings, organisation_id)


def _children(table: Table) -> Iterator[tuple[Table, ForeignKeyConstraint]]:
    for child in Base.metadata.sorted_tables:
        for constraint in child.foreign_key_constraints:
            if constraint.referred_table is table and child is not table:
                yield child, constraint


def _child_condition(table: Table, child: Table, constraint: ForeignKeyConstraint, condition: Any) -> Any:
    child_columns = [child.c[column.name] for column in constraint.columns]
    parent_columns = [element.column for element in constraint.elements]
    keys = select(*parent_columns).where(condition)
    if len(child_columns) == 1:
        return child_columns[0].in_(keys)
    return tuple_(*child_columns).in_(keys)


def _unlinks(constraint: ForeignKeyConstraint) -> bool:
    """True for a link that the database sets to NULL when its row goes: the child row stays."""
    return (constraint.ondelete or "").upper() == "SET NULL"


def _unlink(session: DbSession, child: Table, constraint: ForeignKeyConstraint, condition: Any) -> None:
    """Set the child rows' link to NULL, as the database would (kept rows, e.g. answers given on a tablet)."""
    session.execute(
        update(child).where(condition).values({column.name: None for column in constraint.columns})
    )


def _delete_with_children(
    session: DbSession, table: Table, condition: ColumnElement[bool], removed: dict[str, int], depth: int = 0
) -> None:
    if depth > _MAX_DEPTH:
        raise GdprError(f"the tables linked to {table.name} nest too deeply to erase safely")
    for child, constraint in _children(table):
        if child.name in KEPT_TABLES:
            continue
        child_condition = _child_condition(table, child, constraint, condition)
        if _unlinks(constraint):
            _unlink(session, child, constraint, child_condition)
            continue
        _delete_with_children(session, child, child_condition, removed, depth + 1)
    count = session.execute(delete(table).where(condition)).rowcount  # type: ignore[attr-defined]
    if count:
        removed[table.name] = removed.get(table.name, 0) + int(count)


def _delete_non_research_children(
    session: DbSession, table: Table, condition: ColumnElement[bool], removed: dict[str, int], depth: int = 0
) -> None:
    for child, constraint in _children(table):
        child_condition = _child_condition(table, child, constraint, condition)
        if child.name in KEPT_TABLES:
            continue
        if _unlinks(constraint):
            _unlink(session, child, constraint, child_condition)
            continue
        if child.name in RESEARCH_TABLES:
            _delete_non_research_children(session, child, child_condition, removed, depth + 1)
        else:
            _delete_with_children(session, child, child_condition, removed, depth + 1)


def _remove_free_text_answers(session: DbSession, client_id: int, removed: dict[str, int]) -> None:
    versions = session.scalars(
        select(QuestionnaireVersion)
        .join(SessionQuestionnaire, SessionQuestionnaire.questionnaire_version_id == QuestionnaireVersion.id)
        .join(AssessmentSession, AssessmentSession.id == SessionQuestionnaire.session_id)
        .where(AssessmentSession.client_id == client_id)
        .distinct()
    ).all()
    client_sessions = select(AssessmentSession.id).where(AssessmentSession.client_id == client_id)
    for version in versions:
        text_items = [item.id for item in questionnaire_of(version).items if item.type is ItemType.TEXT]
        if not text_items:
            continue
        result = session.execute(
            delete(Answer).where(
                Answer.session_id.in_(client_sessions),
                Answer.questionnaire_version_id == version.id,
                Answer.item_id.in_(text_items),
            )
        )
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        if count:
            removed["answers (free text)"] = removed.get("answers (free text)", 0) + count


def _erase_linked_rows(session: DbSession, client: Client, keep_research: bool) -> dict[str, int]:
    removed: dict[str, int] = {}
    clients = Client.__table__
    for child, constraint in _children(clients):  # type: ignore[arg-type]
        if child.name in KEPT_TABLES:
            continue
        condition = _child_condition(clients, child, constraint, clients.c.id == client.id)  # type: ignore[arg-type]
        if keep_research and child.name in RESEARCH_TABLES:
            _delete_non_research_children(session, child, condition, removed)
        else:
            _delete_with_children(session, child, condition, removed)
    if keep_research:
        _remove_free_text_answers(session, client.id, removed)
    return removed


def _unlink_client(client: Client) -> None:
    """Replace the code nobody may link back, drop the counsellor, coarsen the intake date to its month."""
    client.code = f"ERASED-{secrets.token_hex(8).upper()}"
    client.counsellor_id = None
    client.intake_date = client.intake_date.replace(day=1)
    if client.status in ("active", "paused"):
        client.status = "withdrawn"


def erase_client(
    session: DbSession,
    client: Client,
    *,
    reason: str = "request",
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> ErasureReport:
    """Erase the client's identifiers and link key; keep research data only under a recorded legal basis.

    Research export packages the client may be in are removed (`packages.withdraw_after_erasure`).
    """
    if session.scalar(select(ClientErasure.id).where(ClientErasure.client_id == client.id)) is not None:
        raise GdprError("This client has already been erased.")
    site = session.get(Site, client.site_id)
    settings = privacy_settings_of(session, site.organisation_id) if site else None
    basis = settings.research_legal_basis if settings else None
    keep_research = bool(basis) and has_consent(session, client.id, "research")
    actor_type = "staff" if actor_id else "system"
    if site is not None:  # before the client's rows go: the runs' lists of clients are among them
        withdraw_after_erasure(
            session, site.organisation_id, client.id, research_data_kept=keep_research, actor_id=actor_id
        )
    removed = _erase_linked_rows(session, client, keep_research)
    _unlink_client(client)
    session.add(
        ClientErasure(
            client_id=client.id,
            erased_at=now or utcnow(),
            erased_by=actor_id,
            reason=reason,
            research_data_kept=keep_research,
            legal_basis=basis if keep_research else None,
        )
    )
    session.flush()
    identifying = {name: count for name, count in removed.items() if name not in RESEARCH_TABLES}
    research = {name: count for name, count in removed.items() if name in RESEARCH_TABLES}
    record_event(
        session,
        "gdpr.erase_identifiers",
        actor_type=actor_type,
        actor_id=actor_id,
        object_type="client",
        object_id=client.id,
        details={"reason": reason, "removed": identifying},
    )
    record_event(
        session,
        "gdpr.erase_research_data",
        actor_type=actor_type,
        actor_id=actor_id,
        object_type="client",
        object_id=client.id,
        details={"kept": keep_research, "legal_basis_recorded": bool(basis), "removed": research},
    )
    return ErasureReport(client.id, keep_research, basis if keep_research else None, removed)
