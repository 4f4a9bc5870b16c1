"""PDF reports: an organisation's report settings, and report batches whose progress every worker can read.

A batch is a filtered set of clients rendered as one ZIP. Its row says what was asked (ids and keys only),
how far it got and which file it produced; the ZIP itself lives in the instance folder and is removed after
a day. Any gunicorn worker can answer the progress page, whichever worker runs the batch.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from survey_app.models.base import LANGUAGES, Base, JSONValue, UTCDateTime, in_check, utcnow

__all__ = ["REPORT_BATCH_STATUSES", "REPORT_KINDS", "ReportBatch", "ReportSettings"]

#: The reports there are: for the counsellor, for the client, and the record of one filled-in session.
REPORT_KINDS = ("counsellor", "client", "record")
REPORT_BATCH_STATUSES = ("running", "done", "failed")


def new_batch_id() -> str:
    """A random UUID4 string naming a batch in URLs."""
    return str(uuid.uuid4())


class ReportSettings(Base):
    """How an organisation's reports look: full names are left out unless the organisation turns them on."""

    __tablename__ = "report_settings"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    show_names: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))


class ReportBatch(Base):
    """One batch of reports: the filter, the progress and the ZIP it produced."""

    __tablename__ = "report_batches"
    __table_args__ = (
        in_check("kind", REPORT_KINDS, "kind_known"),
        in_check("status", REPORT_BATCH_STATUSES, "status_known"),
        CheckConstraint(
            f"language IS NULL OR language IN ({', '.join(repr(code) for code in LANGUAGES)})",
            name="language_known",
        ),
        CheckConstraint("length(public_id) = 36", name="public_id_length"),
        CheckConstraint("total >= 0 AND done >= 0 AND failed >= 0", name="counts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_batch_id)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    requested_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    #: The language of every report; NULL: each client's own language (client reports).
    language: Mapped[str | None] = mapped_column(String(2))
    #: The filter as asked: site id, timepoint key, date range (ISO dates); never names or health values.
    filters: Mapped[dict[str, Any]] = mapped_column(JSONValue(), default=dict)
    #: The clients whose reports the ZIP holds, checked again at each download; NULL for batches made before
    #: they were recorded.
    client_ids: Mapped[list[int] | None] = mapped_column(JSONValue())
    status: Mapped[str] = mapped_column(String(10), default="running", server_default="running")
    total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    file_name: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<ReportBatch {self.public_id} {self.status}>"
