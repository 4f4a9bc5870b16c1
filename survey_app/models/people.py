"""People: staff users and their sign-in sessions; clients, their optional identities and anchor dates."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.models.base import LANGUAGES, Base, UTCDateTime, in_check, key_format_checks, utcnow

if TYPE_CHECKING:
    from survey_app.models.programme import Organisation, Programme, Site

__all__ = [
    "CLIENT_STATUSES",
    "ROLES",
    "Client",
    "ClientAnchorDate",
    "ClientIdentity",
    "StaffSession",
    "StaffSiteMembership",
    "StaffUser",
]

ROLES = ("admin", "site_lead", "counsellor", "researcher", "court_liaison")
CLIENT_STATUSES = ("active", "paused", "withdrawn", "completed")


class StaffUser(Base):
    """A staff member who signs in with email and password (Flask-Login user)."""

    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        CheckConstraint("length(email) BETWEEN 3 AND 254", name="email_length"),
        in_check("role", ROLES, "role_known"),
        CheckConstraint("session_version >= 1", name="session_version_positive"),
        CheckConstraint("failed_login_count >= 0", name="failed_login_count_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation] = relationship(back_populates="staff")
    sites: Mapped[list[Site]] = relationship(secondary="staff_site_memberships", order_by="Site.name")

    # --- Flask-Login protocol (not UserMixin: its __eq__ would compare session tokens) -------------
    @property
    def is_authenticated(self) -> bool:
        """Every loaded staff user is authenticated (anonymous users are Flask-Login's own class)."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """A staff user is never anonymous."""
        return False

    def bind_session_token(self, token: str) -> None:
        """Attach the sign-in session token this request runs under (what ``get_id`` returns)."""
        self._session_token = token

    def get_id(self) -> str:
        """Return the current sign-in session's token: Flask-Login stores it in the session cookie."""
        token: str | None = getattr(self, "_session_token", None)
        if token is None:
            raise RuntimeError("no sign-in session bound to this user; call bind_session_token() first")
        return token

    def is_locked(self, now: datetime) -> bool:
        """True while a lockout after too many failed sign-ins is in force."""
        return self.locked_until is not None and self.locked_until > now

    def __repr__(self) -> str:
        return f"<StaffUser {self.id} {self.role}>"


class StaffSiteMembership(Base):
    """Which sites a staff member works at."""

    __tablename__ = "staff_site_memberships"

    staff_user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)


class StaffSession(Base):
    """A server-side, revocable sign-in session; the cookie holds only the token, the row its SHA-256."""

    __tablename__ = "staff_sessions"
    __table_args__ = (CheckConstraint("length(token_hash) = 64", name="token_hash_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    staff_user: Mapped[StaffUser] = relationship()


class Client(Base):
    """A programme participant, known by a pseudonymous code only; identifiers live in ClientIdentity."""

    __tablename__ = "clients"
    __table_args__ = (
        CheckConstraint("code = upper(code)", name="code_upper_case"),
        CheckConstraint("length(code) BETWEEN 4 AND 32", name="code_length"),
        in_check("preferred_language", LANGUAGES, "preferred_language_known"),
        in_check("status", CLIENT_STATUSES, "status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    counsellor_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True
    )
    preferred_language: Mapped[str] = mapped_column(String(2), default="en", server_default="en")
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    intake_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    site: Mapped[Site] = relationship()
    programme: Mapped[Programme] = relationship()
    counsellor: Mapped[StaffUser | None] = relationship()
    identity: Mapped[ClientIdentity | None] = relationship(
        back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )
    anchor_dates: Mapped[list[ClientAnchorDate]] = relationship(
        back_populates="client",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ClientAnchorDate.date",
    )

    def __repr__(self) -> str:
        return f"<Client {self.code}>"


class ClientIdentity(Base):
    """Direct identifiers, kept apart so exports leave them out and erasure removes them."""

    __tablename__ = "client_identities"

    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True)
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    national_number: Mapped[str | None] = mapped_column(String(32))
    phone: Mapped[str | None] = mapped_column(String(32))

    client: Mapped[Client] = relationship(back_populates="identity")

    def __repr__(self) -> str:  # never print identifiers into logs
        return f"<ClientIdentity client={self.client_id}>"


class ClientAnchorDate(Base):
    """A court milestone for a client (referral, hearing, ...) that timepoints can count from."""

    __tablename__ = "client_anchor_dates"
    __table_args__ = (
        UniqueConstraint("client_id", "anchor"),
        *key_format_checks("anchor", "anchor_format"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    anchor: Mapped[str] = mapped_column(String(40))
    date: Mapped[dt.date] = mapped_column(Date)

    client: Mapped[Client] = relationship(back_populates="anchor_dates")
