"""The counsellor's workspace: session notes, alerts (acknowledgements, routing), status and anchor history.

Nothing in these tables is ever exported for research: notes and acknowledgement notes are clinical free text,
and the histories exist for the care team and the audit trail. The indexes at the bottom serve the workspace's
queries on tables of other aggregates (they are created by the same migration).
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from survey_app.models.assessment import AssessmentSession, ScoreFlag
from survey_app.models.base import Base, UTCDateTime, in_check, key_format_checks, utcnow
from survey_app.models.people import CLIENT_STATUSES

__all__ = [
    "ALERT_SEVERITY_SCOPES",
    "NOTE_MAX_LENGTH",
    "SITE_LEAD_ALERTS",
    "AlertAcknowledgement",
    "AlertRecipient",
    "AlertSetting",
    "ClientAnchorChange",
    "ClientStatusChange",
    "SessionNote",
]

NOTE_MAX_LENGTH = 4000
#: Which alerts the site leads of the client's site receive, besides the client's counsellor.
SITE_LEAD_ALERTS = ("none", "urgent", "all")
#: Which alerts a named recipient receives.
ALERT_SEVERITY_SCOPES = ("urgent", "all")


class SessionNote(Base):
    """A counsellor's note on an assessment session (clinical free text, never exported to research)."""

    __tablename__ = "session_notes"
    __table_args__ = (CheckConstraint(f"length(body) BETWEEN 1 AND {NOTE_MAX_LENGTH}", name="body_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("assessment_sessions.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AlertAcknowledgement(Base):
    """Who acknowledged a risk alert (a score flag), when, and the note they wrote about what they did."""

    __tablename__ = "alert_acknowledgements"
    __table_args__ = (CheckConstraint(f"length(note) BETWEEN 1 AND {NOTE_MAX_LENGTH}", name="note_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("score_flags.id", ondelete="CASCADE"), unique=True)
    acknowledged_by: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str] = mapped_column(Text)


class AlertSetting(Base):
    """An organisation's choice of who receives risk alerts besides the client's counsellor."""

    __tablename__ = "alert_settings"
    __table_args__ = (in_check("site_leads", SITE_LEAD_ALERTS, "site_leads_known"),)

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    site_leads: Mapped[str] = mapped_column(String(10), default="urgent", server_default="urgent")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))


class AlertRecipient(Base):
    """A named staff member who also receives an organisation's alerts (of one site, or of every site)."""

    __tablename__ = "alert_recipients"
    __table_args__ = (
        UniqueConstraint("organisation_id", "staff_user_id", "site_id"),
        in_check("severities", ALERT_SEVERITY_SCOPES, "severities_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    severities: Mapped[str] = mapped_column(String(10), default="urgent", server_default="urgent")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))


class ClientStatusChange(Base):
    """A client paused, resumed, withdrawn, completed or re-opened, with the reason given."""

    __tablename__ = "client_status_changes"
    __table_args__ = (
        in_check("from_status", CLIENT_STATUSES, "from_status_known"),
        in_check("to_status", CLIENT_STATUSES, "to_status_known"),
        CheckConstraint("from_status != to_status", name="status_changes"),
        CheckConstraint(f"reason IS NULL OR length(reason) <= {NOTE_MAX_LENGTH}", name="reason_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ClientAnchorChange(Base):
    """An anchor date (intake or a court milestone) set, moved, removed; completed timepoints keep theirs."""

    __tablename__ = "client_anchor_changes"
    __table_args__ = (
        *key_format_checks("anchor", "anchor_format"),
        CheckConstraint("previous_date IS NOT NULL OR new_date IS NOT NULL", name="something_changes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    anchor: Mapped[str] = mapped_column(String(40))
    previous_date: Mapped[dt.date | None] = mapped_column(Date)
    new_date: Mapped[dt.date | None] = mapped_column(Date)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


#: "Recent submissions" of a caseload: each client's sessions by submission time.
Index(
    "ix_assessment_sessions_client_id_submitted_at",
    AssessmentSession.client_id,
    AssessmentSession.submitted_at,
)
#: Unacknowledged alerts are a small, hot subset of all flags.
Index(
    "ix_score_flags_unacknowledged",
    ScoreFlag.session_id,
    sqlite_where=text("acknowledged_at IS NULL"),
    postgresql_where=text("acknowledged_at IS NULL"),
)
