"""Assessment sessions: the questionnaires given, the raw answers, the submission and the scores."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.models.base import LANGUAGES, Base, JSONValue, UTCDateTime, in_check, utcnow

if TYPE_CHECKING:
    from survey_app.models.people import Client
    from survey_app.models.programme import Timepoint
    from survey_app.models.questionnaire import QuestionnaireVersion

__all__ = [
    "FLAG_SEVERITIES",
    "SESSION_MODES",
    "SESSION_STATUSES",
    "Answer",
    "AssessmentSession",
    "Score",
    "ScoreFlag",
    "SessionQuestionnaire",
    "Submission",
]

SESSION_STATUSES = ("open", "submitted", "cancelled")
SESSION_MODES = ("tablet", "own_device", "interview", "paper")
FLAG_SEVERITIES = ("urgent", "attention")

_SESSION_QUESTIONNAIRE_FK = (
    ["session_id", "questionnaire_version_id"],
    ["session_questionnaires.session_id", "session_questionnaires.questionnaire_version_id"],
)


def new_public_id() -> str:
    """A random UUID4 string, used for a session in URLs and the JSON API."""
    return str(uuid.uuid4())


class AssessmentSession(Base):
    """A client answering a set of questionnaire versions, at a timepoint or ad hoc."""

    __tablename__ = "assessment_sessions"
    __table_args__ = (
        in_check("status", SESSION_STATUSES, "status_known"),
        in_check("language", LANGUAGES, "language_known"),
        in_check("mode", SESSION_MODES, "mode_known"),
        CheckConstraint(
            "(status = 'submitted') = (submitted_at IS NOT NULL)", name="submitted_at_iff_submitted"
        ),
        CheckConstraint("length(public_id) = 36", name="public_id_length"),
        CheckConstraint(
            "(due_anchor IS NULL) = (due_offset_days IS NULL)"
            " AND (due_anchor IS NULL) = (due_window_before_days IS NULL)"
            " AND (due_anchor IS NULL) = (due_window_after_days IS NULL)"
            " AND (due_anchor IS NULL OR timepoint_id IS NOT NULL)",
            name="due_schedule_whole",
        ),
        # At most one live (open or submitted) session per client and timepoint; ad hoc sessions
        # (timepoint_id NULL) are not limited because NULLs are distinct in a unique index.
        Index(
            "uq_assessment_sessions_client_timepoint_live",
            "client_id",
            "timepoint_id",
            unique=True,
            sqlite_where=text("status != 'cancelled'"),
            postgresql_where=text("status != 'cancelled'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    #: The client's site when the session started: where it was taken, kept when the client moves later.
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    timepoint_id: Mapped[int | None] = mapped_column(ForeignKey("timepoints.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="open", server_default="open")
    language: Mapped[str] = mapped_column(String(2))
    mode: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The timepoint's anchor, offset and window when the session started: the schedule it was due on, kept
    #: when an admin changes the timepoint later (NULL for sessions outside the schedule).
    due_anchor: Mapped[str | None] = mapped_column(String(40))
    due_offset_days: Mapped[int | None] = mapped_column(Integer)
    due_window_before_days: Mapped[int | None] = mapped_column(Integer)
    due_window_after_days: Mapped[int | None] = mapped_column(Integer)

    client: Mapped[Client] = relationship()
    timepoint: Mapped[Timepoint | None] = relationship()
    questionnaires: Mapped[list[SessionQuestionnaire]] = relationship(
        back_populates="session",
        order_by="SessionQuestionnaire.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def __repr__(self) -> str:
        return f"<AssessmentSession {self.public_id} {self.status}>"


class SessionQuestionnaire(Base):
    """A questionnaire version given in a session, in order."""

    __tablename__ = "session_questionnaires"
    __table_args__ = (
        UniqueConstraint("session_id", "position"),
        CheckConstraint("position >= 0", name="position_not_negative"),
    )

    session_id: Mapped[int] = mapped_column(
        ForeignKey("assessment_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    questionnaire_version_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_versions.id"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer)

    session: Mapped[AssessmentSession] = relationship(back_populates="questionnaires")
    # Loaded with the session's list in one query ("selectin"), not one query per questionnaire.
    questionnaire_version: Mapped[QuestionnaireVersion] = relationship(lazy="selectin")


class Answer(Base):
    """One raw answer (code, list of codes, ISO date or text) to one item; never recoded."""

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("session_id", "questionnaire_version_id", "item_id"),
        ForeignKeyConstraint(*_SESSION_QUESTIONNAIRE_FK, ondelete="CASCADE"),
        CheckConstraint("length(item_id) BETWEEN 1 AND 64", name="item_id_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("assessment_sessions.id", ondelete="CASCADE"))
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    item_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSONValue())
    #: When the item was first answered, and when the stored value was given: on the server's clock, less
    #: the time the answer waited on the device (a tablet without a connection sends it later).
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    #: The hand-over (one device's client mode) that gave the stored value; None before this was recorded.
    client_mode_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("client_mode_sessions.id", ondelete="SET NULL")
    )


class AnswerClear(Base):
    """An answer the client took back: when, and on which device's hand-over (the answer row is gone).

    An answer that waited on another device, given before it was taken back, is then not stored again.
    """

    __tablename__ = "answer_clears"
    __table_args__ = (
        UniqueConstraint("session_id", "questionnaire_version_id", "item_id"),
        ForeignKeyConstraint(*_SESSION_QUESTIONNAIRE_FK, ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("assessment_sessions.id", ondelete="CASCADE"))
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    item_id: Mapped[str] = mapped_column(String(64))
    cleared_at: Mapped[datetime] = mapped_column(UTCDateTime())
    client_mode_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("client_mode_sessions.id", ondelete="SET NULL")
    )


class Submission(Base):
    """The final submit of a session, keyed by the client-generated idempotency key."""

    __tablename__ = "submissions"
    __table_args__ = (
        CheckConstraint("length(idempotency_key) BETWEEN 16 AND 128", name="idempotency_key_length"),
        CheckConstraint("length(payload_hash) = 64", name="payload_hash_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("assessment_sessions.id"), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    payload_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Score(Base):
    """One scale's score for one questionnaire in a session; ``value`` NULL means not scored."""

    __tablename__ = "scores"
    __table_args__ = (
        UniqueConstraint("session_id", "questionnaire_version_id", "scale_id"),
        ForeignKeyConstraint(*_SESSION_QUESTIONNAIRE_FK, ondelete="CASCADE"),
        CheckConstraint("missing_count >= 0", name="missing_count_not_negative"),
        CheckConstraint("band IS NULL OR value IS NOT NULL", name="band_needs_value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("assessment_sessions.id", ondelete="CASCADE"))
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    scale_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    band: Mapped[str | None] = mapped_column(String(64))
    prorated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    missing_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    scorer_version: Mapped[str] = mapped_column(String(40))
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ScoreFlag(Base):
    """A risk or attention flag raised by scoring, until a staff member acknowledges it."""

    __tablename__ = "score_flags"
    __table_args__ = (
        UniqueConstraint("session_id", "questionnaire_version_id", "flag_id"),
        ForeignKeyConstraint(*_SESSION_QUESTIONNAIRE_FK, ondelete="CASCADE"),
        in_check("severity", FLAG_SEVERITIES, "severity_known"),
        CheckConstraint(
            "acknowledged_by IS NULL OR acknowledged_at IS NOT NULL", name="acknowledged_by_needs_time"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("assessment_sessions.id", ondelete="CASCADE"))
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    flag_id: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(20))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
