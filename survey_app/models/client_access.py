"""Client access: client-mode sessions on a tablet or phone, one-time codes, and failed code attempts.

A browser in client mode holds a random token in its session cookie; ``client_mode_sessions`` keeps only the
token's SHA-256, so the server decides on every request whether the mode is live, locked or ended. One-time
codes and links are stored as keyed hashes, used once, and expire. Failed code attempts are counted here, so
the limit holds across every worker of the app.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.models.base import Base, UTCDateTime, in_check, utcnow

if TYPE_CHECKING:
    from survey_app.models.assessment import AssessmentSession

__all__ = [
    "CLIENT_MODE_END_REASONS",
    "CLIENT_MODE_VIAS",
    "ClientAccessCode",
    "ClientCodeAttempt",
    "ClientModeSession",
]

#: How a browser entered client mode: handed over on a staff tablet, or a code/link on the client's phone.
CLIENT_MODE_VIAS = ("tablet", "code")
#: Why a client-mode session ended.
CLIENT_MODE_END_REASONS = ("left", "expired", "closed", "submitted", "replaced", "moved")


class ClientModeSession(Base):
    """A browser locked to one client's assessment session until a counsellor leaves it or it expires."""

    __tablename__ = "client_mode_sessions"
    __table_args__ = (
        in_check("via", CLIENT_MODE_VIAS, "via_known"),
        in_check("end_reason", CLIENT_MODE_END_REASONS, "end_reason_known"),
        CheckConstraint("length(token_hash) = 64", name="token_hash_length"),
        CheckConstraint("(ended_at IS NULL) = (end_reason IS NULL)", name="ended_with_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    assessment_session_id: Mapped[int] = mapped_column(
        ForeignKey("assessment_sessions.id", ondelete="CASCADE"), index=True
    )
    started_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    #: The counsellor's sign-in session parked at the hand-over; leaving with their password resumes it.
    staff_session_id: Mapped[int | None] = mapped_column(ForeignKey("staff_sessions.id", ondelete="SET NULL"))
    via: Mapped[str] = mapped_column(String(10))
    return_path: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(20))
    #: Wrong passwords typed on this device since the right one (``survey_app.services.tablet_password``).
    failed_password_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Until then this device takes no password at all, not even the right one.
    password_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    assessment: Mapped[AssessmentSession] = relationship()

    def __repr__(self) -> str:
        return f"<ClientModeSession {self.id} {self.via}>"


class ClientAccessCode(Base):
    """A one-time code (typed) and link (QR) for one assessment session; both hashed, used once, expiring."""

    __tablename__ = "client_access_codes"
    __table_args__ = (
        CheckConstraint("length(code_hash) = 64", name="code_hash_length"),
        CheckConstraint("length(link_hash) = 64", name="link_hash_length"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_session_id: Mapped[int] = mapped_column(
        ForeignKey("assessment_sessions.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    link_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    assessment: Mapped[AssessmentSession] = relationship()

    def __repr__(self) -> str:  # never the code or its hash
        return f"<ClientAccessCode {self.id}>"


class ClientCodeAttempt(Base):
    """A failed attempt to enter a code or open a link, from one address and browser (the lockout counts it).

    ``device`` is the random mark the code page leaves in the browser's session cookie (None for attempts
    recorded before browsers were told apart).
    """

    __tablename__ = "client_code_attempts"
    __table_args__ = (Index("ix_client_code_attempts_ip_attempted_at", "ip", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ip: Mapped[str] = mapped_column(String(45))
    device: Mapped[str | None] = mapped_column(String(32))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
