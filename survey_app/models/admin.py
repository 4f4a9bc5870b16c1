"""Administration: one-time enrolment links for new staff, and questionnaire drafts waiting to be published.

An invitation keeps only the SHA-256 of its link's token (256 random bits), is used once and expires. A draft
is an uploaded questionnaire file that passed every check, only a draft: publishing copies it into a new,
immutable ``questionnaire_versions`` row, and the draft is then removed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.models.base import Base, UTCDateTime, key_format_checks, utcnow
from survey_app.models.people import StaffUser

__all__ = ["QuestionnaireDraft", "StaffInvitation"]


class StaffInvitation(Base):
    """A one-time link with which an invited staff member sets their password, then links an authenticator."""

    __tablename__ = "staff_invitations"
    __table_args__ = (
        CheckConstraint("length(token_hash) = 64", name="token_hash_length"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    staff_user: Mapped[StaffUser] = relationship(foreign_keys=[staff_user_id])

    def __repr__(self) -> str:  # never the token or its hash
        return f"<StaffInvitation {self.id}>"


class QuestionnaireDraft(Base):
    """An uploaded questionnaire file that passed every check, kept for its preview until it is published."""

    __tablename__ = "questionnaire_drafts"
    __table_args__ = (
        *key_format_checks("key", "key_format"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("length(content_hash) = 64", name="content_hash_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(255))
    source_text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<QuestionnaireDraft {self.key} v{self.version}>"
