"""Published questionnaire versions (immutable snapshots of the YAML they were published from) and who owns
each questionnaire key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from survey_app.models.base import Base, JSONValue, UTCDateTime, key_format_checks, make_append_only, utcnow

__all__ = ["QuestionnaireKey", "QuestionnaireVersion"]


class QuestionnaireVersion(Base):
    """One published version of a questionnaire; the database refuses UPDATE and DELETE on it."""

    __tablename__ = "questionnaire_versions"
    __table_args__ = (
        UniqueConstraint("key", "version"),
        *key_format_checks("key", "key_format"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("length(content_hash) = 64", name="content_hash_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    source_yaml: Mapped[str] = mapped_column(Text)
    # The parsed YAML, kept for queries and audits; the app rebuilds questionnaires from source_yaml, so the
    # snapshot is loaded only when read (not parsed on every page that loads a version).
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONValue(), deferred=True)
    title: Mapped[str] = mapped_column(String(300))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    def __repr__(self) -> str:
        return f"<QuestionnaireVersion {self.key} v{self.version}>"


make_append_only(QuestionnaireVersion.__table__)  # type: ignore[arg-type]


class QuestionnaireKey(Base):
    """A questionnaire key and its owner: an organisation, or none for a questionnaire shared by all.

    A key's first publication records it: by an organisation's admin on the admin pages (the organisation
    owns it), or by the deployer on the command line (shared). A key with no row here is shared.
    """

    __tablename__ = "questionnaire_keys"
    __table_args__ = (*key_format_checks("key", "key_format"),)

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)

    def __repr__(self) -> str:
        return f"<QuestionnaireKey {self.key} of {self.organisation_id or 'all'}>"
