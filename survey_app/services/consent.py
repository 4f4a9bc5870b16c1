"""Consent per purpose (care, court progress report, research), recorded with the client, effective at once.

Every decision is a new ``consent_records`` row (the table is append-only) carrying the version of the
consent text the client was shown; the newest row for a purpose is the one in force. Without any row a
purpose counts as not consented. For the court purpose, attendance and whether assessments were completed
are shared once the client consents; scores and a summary only when the client also agrees to those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from survey_app.db import DbSession
from survey_app.models.base import utcnow
from survey_app.models.people import Client, StaffUser
from survey_app.models.security import CONSENT_PURPOSES, ConsentRecord
from survey_app.services.audit import record_event

__all__ = [
    "CONSENT_TEXT_VERSIONS",
    "ConsentError",
    "ConsentState",
    "clients_with_consent",
    "consent_for",
    "consent_history",
    "current_consents",
    "has_consent",
    "record_consent",
]

#: The version of the consent text shown to the client for each purpose (bump it when the text changes).
CONSENT_TEXT_VERSIONS = {"care": "2026-1", "court": "2026-1", "research": "2026-1"}


class ConsentError(ValueError):
    """A consent decision that cannot be recorded as given."""


@dataclass(frozen=True)
class ConsentState:
    """The decision in force for one purpose (``granted`` False when nothing was ever recorded)."""

    purpose: str
    granted: bool = False
    share_scores: bool = False
    share_summary: bool = False
    text_version: str | None = None
    recorded_at: datetime | None = None
    record_id: int | None = None

    @property
    def court_categories(self) -> tuple[str, ...]:
        """What the court may see under this decision: attendance, then scores and summary if agreed."""
        if self.purpose != "court" or not self.granted:
            return ()
        extra = (("scores",) if self.share_scores else ()) + (("summary",) if self.share_summary else ())
        return ("attendance", *extra)

    @classmethod
    def of(cls, row: ConsentRecord) -> ConsentState:
        """The state a stored record describes."""
        return cls(
            row.purpose,
            row.granted,
            row.share_scores,
            row.share_summary,
            row.text_version,
            row.recorded_at,
            row.id,
        )


def _check_purpose(purpose: str) -> None:
    if purpose not in CONSENT_PURPOSES:
        raise ConsentError(f"Unknown purpose {purpose!r}; choose one of {', '.join(CONSENT_PURPOSES)}.")


def current_consents(
    session: DbSession, client_id: int, at: datetime | None = None
) -> dict[str, ConsentState]:
    """The decision in force at ``at`` (default now) for every purpose."""
    rows = session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.client_id == client_id, ConsentRecord.recorded_at <= (at or utcnow()))
        .order_by(ConsentRecord.id)
    ).all()
    states = {purpose: ConsentState(purpose) for purpose in CONSENT_PURPOSES}
    for row in rows:
        states[row.purpose] = ConsentState.of(row)
    return states


def consent_for(session: DbSession, client_id: int, purpose: str, at: datetime | None = None) -> ConsentState:
    """The decision in force for one purpose."""
    _check_purpose(purpose)
    return current_consents(session, client_id, at)[purpose]


def has_consent(session: DbSession, client_id: int, purpose: str, at: datetime | None = None) -> bool:
    """True when the client's decision in force for ``purpose`` is yes."""
    return consent_for(session, client_id, purpose, at).granted


def consent_history(session: DbSession, client_id: int) -> Sequence[ConsentRecord]:
    """Every decision the client made, oldest first."""
    return session.scalars(
        select(ConsentRecord).where(ConsentRecord.client_id == client_id).order_by(ConsentRecord.id)
    ).all()


def clients_with_consent(purpose: str, at: datetime | None = None) -> Select[int]:
    """A query of the ids of clients whose decision in force for ``purpose`` is yes (exports, lists)."""
    _check_purpose(purpose)
    moment = at or utcnow()
    later = aliased(ConsentRecord)
    superseded = (
        select(later.id)
        .where(
            later.client_id == ConsentRecord.client_id,
            later.purpose == purpose,
            later.recorded_at <= moment,
            later.id > ConsentRecord.id,
        )
        .exists()
    )
    # "no later decision" rather than "the newest id": PostgreSQL estimates an anti-join from its statistics,
    # where an equality with a correlated max() is guessed at a fraction of a percent of the clients.
    return select(ConsentRecord.client_id).where(
        ConsentRecord.purpose == purpose,
        ConsentRecord.granted,
        ConsentRecord.recorded_at <= moment,
        ~superseded,
    )


def record_consent(
    session: DbSession,
    client: Client,
    purpose: str,
    granted: bool,
    *,
    share_scores: bool = False,
    share_summary: bool = False,
    staff: StaffUser | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> ConsentRecord | None:
    """Record the client's decision for ``purpose`` from now on; None (nothing written) when unchanged."""
    _check_purpose(purpose)
    if purpose != "court" and (share_scores or share_summary):
        raise ConsentError("Scores and a summary can only be shared for the court purpose.")
    if not granted:
        share_scores = share_summary = False
    current = consent_for(session, client.id, purpose)
    text_version = CONSENT_TEXT_VERSIONS[purpose]
    unchanged = current.record_id is not None and (
        current.granted,
        current.share_scores,
        current.share_summary,
        current.text_version,
    ) == (granted, share_scores, share_summary, text_version)
    if unchanged:
        return None
    row = ConsentRecord(
        client_id=client.id,
        purpose=purpose,
        granted=granted,
        share_scores=share_scores,
        share_summary=share_summary,
        text_version=text_version,
        recorded_at=now or utcnow(),
        recorded_by=staff.id if staff else None,
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        "consent.change",
        actor_type="staff" if staff else "system",
        actor_id=staff.id if staff else None,
        object_type="client",
        object_id=client.id,
        ip=ip,
        details={
            "purpose": purpose,
            "granted": granted,
            "share_scores": share_scores,
            "share_summary": share_summary,
            "text_version": text_version,
            "consent_record_id": row.id,
        },
    )
    return row
