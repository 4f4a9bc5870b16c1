"""Counsellor notes on assessment sessions: clinical free text for the care team, never exported to research.

Notes are kept as written: a correction is a new note, so the record shows what was known when. The audit
trail records that a note was written (ids only), never its text.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from survey_app.db import DbSession
from survey_app.models.assessment import AssessmentSession
from survey_app.models.people import StaffUser
from survey_app.models.workspace import NOTE_MAX_LENGTH, SessionNote
from survey_app.services.audit import record_event
from survey_app.services.caseload import StaffScope
from survey_app.services.user_messages import N_


class NoteError(ValueError):
    """A note cannot be saved as written; the message says why."""


@dataclass(frozen=True)
class NoteView:
    """A note with its author's name."""

    note: SessionNote
    author_name: str | None


def add_note(
    session: DbSession, scope: StaffScope, assessment: AssessmentSession, body: str, *, ip: str | None = None
) -> SessionNote:
    """Add a note to a session of a client the staff member may see (the caller checked that)."""
    cleaned = body.strip()
    if not cleaned:
        raise NoteError(N_("The note is empty."))
    if len(cleaned) > NOTE_MAX_LENGTH:
        raise NoteError(N_("A note can have at most 4000 characters."))
    note = SessionNote(session_id=assessment.id, author_id=scope.user_id, body=cleaned)
    session.add(note)
    session.flush()
    record_event(
        session,
        "note.create",
        actor_type="staff",
        actor_id=scope.user_id,
        object_type="session_note",
        object_id=note.id,
        ip=ip,
        details={"client_id": assessment.client_id, "session": assessment.public_id},
    )
    return note


def notes_by_session(session: DbSession, client_id: int) -> dict[int, list[NoteView]]:
    """Every note on a client's sessions: session id -> notes, oldest first (one query)."""
    rows = session.execute(
        select(SessionNote, StaffUser.display_name)
        .join(AssessmentSession, AssessmentSession.id == SessionNote.session_id)
        .outerjoin(StaffUser, StaffUser.id == SessionNote.author_id)
        .where(AssessmentSession.client_id == client_id)
        .order_by(SessionNote.created_at, SessionNote.id)
    )
    found: dict[int, list[NoteView]] = defaultdict(list)
    for note, name in rows:
        found[note.session_id].append(NoteView(note, name))
    return found
