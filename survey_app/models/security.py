"""Security and privacy: multi-factor sign-in, consent per purpose, court shares, retention and erasure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from survey_app.models.base import Base, JSONValue, UTCDateTime, in_check, make_append_only, utcnow

__all__ = [
    "CONSENT_PURPOSES",
    "COURT_SHARE_CATEGORIES",
    "ERASURE_REASONS",
    "ClientErasure",
    "ConsentRecord",
    "CourtShare",
    "PrivacySettings",
    "StaffMfa",
    "StaffRecoveryCode",
]

#: Purposes a client consents to separately.
CONSENT_PURPOSES = ("care", "court", "research")
#: What a court share can contain; attendance (with whether assessments were completed) is the default.
COURT_SHARE_CATEGORIES = ("attendance", "scores", "summary")
ERASURE_REASONS = ("request", "retention")


class StaffMfa(Base):
    """A staff member's TOTP enrolment; ``last_totp_step`` makes every time step usable once."""

    __tablename__ = "staff_mfa"
    __table_args__ = (CheckConstraint("last_totp_step >= 0", name="last_totp_step_not_negative"),)

    staff_user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_totp_step: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class StaffRecoveryCode(Base):
    """One single-use recovery code; only its SHA-256 is kept (the code carries 120 random bits)."""

    __tablename__ = "staff_recovery_codes"
    __table_args__ = (CheckConstraint("length(code_hash) = 64", name="code_hash_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ConsentRecord(Base):
    """A client's decision for one purpose, effective from ``recorded_at``; the newest row is in force.

    Rows are never changed or removed (the database refuses it): a change is a new row.
    """

    __tablename__ = "consent_records"
    __table_args__ = (
        in_check("purpose", CONSENT_PURPOSES, "purpose_known"),
        CheckConstraint(
            "purpose = 'court' OR (NOT share_scores AND NOT share_summary)", name="court_scope_only_for_court"
        ),
        CheckConstraint("granted OR (NOT share_scores AND NOT share_summary)", name="scope_needs_consent"),
        CheckConstraint("length(text_version) BETWEEN 1 AND 20", name="text_version_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    granted: Mapped[bool] = mapped_column(Boolean)
    share_scores: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    share_summary: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    text_version: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))


make_append_only(ConsentRecord.__table__)  # type: ignore[arg-type]


class CourtShare(Base):
    """One disclosure to the court: who saw which categories of a client's progress, under which consent."""

    __tablename__ = "court_shares"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    shared_with: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    shared_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    categories: Mapped[list[Any]] = mapped_column(JSONValue())
    consent_record_id: Mapped[int] = mapped_column(ForeignKey("consent_records.id"))


# What the court was shown is never rewritten (the client sees this list).
make_append_only(CourtShare.__table__)  # type: ignore[arg-type]


class PrivacySettings(Base):
    """An organisation's retention period and the legal basis it records for keeping research data."""

    __tablename__ = "privacy_settings"
    __table_args__ = (
        CheckConstraint("retention_months IS NULL OR retention_months >= 1", name="retention_positive"),
    )

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    #: Months after a client's last activity (once withdrawn or completed) before erasure; NULL keeps.
    retention_months: Mapped[int | None] = mapped_column(Integer)
    #: The DPIA's recorded basis (GDPR art. 17(3)(d), 89) for keeping pseudonymised research data.
    research_legal_basis: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))


class ClientErasure(Base):
    """That a client's identifiers and link key were erased, why, and whether research data was kept."""

    __tablename__ = "client_erasures"
    __table_args__ = (in_check("reason", ERASURE_REASONS, "reason_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), unique=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    erased_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(20))
    research_data_kept: Mapped[bool] = mapped_column(Boolean)
    legal_basis: Mapped[str | None] = mapped_column(String(500))
