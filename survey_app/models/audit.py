"""The audit trail: append-only, hash-chained events (ids and counts only, never health values)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from survey_app.models.base import Base, JSONValue, UTCDateTime, in_check, make_append_only, utcnow

__all__ = ["ACTOR_TYPES", "GENESIS_HASH", "AuditEvent"]

ACTOR_TYPES = ("staff", "client", "system")
#: ``prev_hash`` of the first event in the chain.
GENESIS_HASH = "0" * 64


class AuditEvent(Base):
    """Who did what to which object, when and from where; the database refuses UPDATE and DELETE."""

    __tablename__ = "audit_events"
    __table_args__ = (
        in_check("actor_type", ACTOR_TYPES, "actor_type_known"),
        CheckConstraint("length(action) BETWEEN 3 AND 64", name="action_length"),
        CheckConstraint("length(hash) = 64", name="hash_length"),
        CheckConstraint("length(prev_hash) = 64", name="prev_hash_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_type: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    details: Mapped[dict[str, Any]] = mapped_column(JSONValue(), default=dict)
    # UNIQUE(prev_hash) keeps the chain linear: two appenders racing on the same head cannot both win.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action}>"


make_append_only(AuditEvent.__table__)  # type: ignore[arg-type]
