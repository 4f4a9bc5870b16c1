"""Research exports: export projects (each with its own pseudonym secret), their researchers, and export runs.

A project's pseudonym secret is stored nowhere: it is derived when an export runs from the instance's research
key (outside the database) and the project's random ``secret_salt``. Neither alone gives the secret, so a copy
of the database cannot link pseudonyms back to clients.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.models.base import Base, JSONValue, UTCDateTime, in_check, utcnow

if TYPE_CHECKING:
    from survey_app.models.programme import Organisation

__all__ = [
    "EXPORT_FORMATS",
    "EXPORT_LAYOUTS",
    "EXPORT_RUN_STATUSES",
    "EXPORT_RUN_VIA",
    "ExportProject",
    "ExportProjectMember",
    "ExportRun",
]

EXPORT_LAYOUTS = ("long", "scores", "wide")
EXPORT_FORMATS = ("csv", "sav", "dta", "parquet", "fhir")
EXPORT_RUN_STATUSES = ("running", "done", "failed")
EXPORT_RUN_VIA = ("web", "cli")


def new_secret_salt() -> str:
    """A random 256-bit salt, hex encoded."""
    return secrets.token_hex(32)


def new_run_id() -> str:
    """A random UUID4 string naming an export run in URLs."""
    return str(uuid.uuid4())


class ExportProject(Base):
    """A research project: who may export, what an admin allowed beyond the defaults, and its pseudonyms."""

    __tablename__ = "export_projects"
    __table_args__ = (
        UniqueConstraint("organisation_id", "name"),
        CheckConstraint("length(name) BETWEEN 1 AND 200", name="name_length"),
        CheckConstraint("length(secret_salt) = 64", name="secret_salt_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    secret_salt: Mapped[str] = mapped_column(String(64), default=new_secret_salt)
    allow_identifiers: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    allow_free_text: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    allow_calendar_dates: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    allowances_changed_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    allowances_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation] = relationship()

    def __repr__(self) -> str:  # never print the salt
        return f"<ExportProject {self.id}>"


class ExportProjectMember(Base):
    """A researcher who may run exports of a project."""

    __tablename__ = "export_project_members"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("export_projects.id", ondelete="CASCADE"), primary_key=True
    )
    staff_user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ExportRun(Base):
    """One export: what was asked, how far it got, and the file it produced (checksum, size, rows)."""

    __tablename__ = "export_runs"
    __table_args__ = (
        in_check("layout", EXPORT_LAYOUTS, "layout_known"),
        in_check("format", EXPORT_FORMATS, "format_known"),
        in_check("status", EXPORT_RUN_STATUSES, "status_known"),
        in_check("via", EXPORT_RUN_VIA, "via_known"),
        CheckConstraint("length(public_id) = 36", name="public_id_length"),
        CheckConstraint("rows_written >= 0", name="rows_written_not_negative"),
        CheckConstraint("sha256 IS NULL OR length(sha256) = 64", name="sha256_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_run_id)
    project_id: Mapped[int] = mapped_column(ForeignKey("export_projects.id"), index=True)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    via: Mapped[str] = mapped_column(String(10))
    layout: Mapped[str] = mapped_column(String(10))
    format: Mapped[str] = mapped_column(String(10))
    options: Mapped[dict[str, Any]] = mapped_column(JSONValue(), default=dict)
    status: Mapped[str] = mapped_column(String(10), default="running", server_default="running")
    rows_total: Mapped[int | None] = mapped_column(Integer)
    rows_written: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sha256: Mapped[str | None] = mapped_column(String(64))
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    file_name: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Whether the clients the file holds are recorded (`ExportRunClient`); false while it runs, and for
    #: runs from before they were recorded: such a run may hold anyone of its organisation.
    clients_recorded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    project: Mapped[ExportProject] = relationship()

    def __repr__(self) -> str:
        return f"<ExportRun {self.public_id} {self.status}>"


class ExportRunClient(Base):
    """A client whose data a finished export holds, so that erasing the client removes only its packages."""

    __tablename__ = "export_run_clients"

    run_id: Mapped[int] = mapped_column(ForeignKey("export_runs.id", ondelete="CASCADE"), primary_key=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True, index=True
    )
