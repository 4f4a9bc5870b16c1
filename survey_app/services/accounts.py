"""Staff accounts: argon2id passwords, sign-in with lockout, server-side revocable sign-in sessions.

Passwords are hashed with argon2-cffi's ``PasswordHasher()`` defaults (argon2id, t=3, m=64 MiB,
p=4) and rehashed at sign-in when those defaults change. Failed sign-ins (a wrong password or a wrong
second factor) are counted on the user row (so the count holds across workers); the tenth locks the
account for 15 minutes. Signing in takes two steps: ``authenticate`` checks the password, then the
second factor (``survey_app.services.mfa``) is checked and ``complete_sign_in`` records the sign-in;
only then is a sign-in session started. The failure count is reset only by a complete sign-in, so a
known password does not buy unlimited guesses at the second factor.

A sign-in session is a row in ``staff_sessions``: the browser's cookie holds a 256-bit random token,
the row only its SHA-256. Signing out revokes the row, so a copied cookie is worthless afterwards.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update

from survey_app.db import DbSession
from survey_app.models.base import utcnow
from survey_app.models.people import ROLES, StaffSession, StaffUser
from survey_app.models.programme import Organisation
from survey_app.services.audit import record_event
from survey_app.services.password_policy import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    PASSWORD_MESSAGES,
    RECOMMENDED_PASSWORD_LENGTH,
    password_problem_kind,
)

__all__ = [
    "LOCKOUT_DURATION",
    "MAX_FAILED_SIGN_INS",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "RECOMMENDED_PASSWORD_LENGTH",
    "AccountError",
    "PasswordPolicyError",
    "SignInResult",
    "StaffSessionLookup",
    "authenticate",
    "burn_verify_time",
    "check_password_policy",
    "complete_sign_in",
    "create_staff_user",
    "find_or_create_organisation",
    "hash_password",
    "list_staff_users",
    "load_staff_session",
    "normalise_email",
    "record_failed_attempt",
    "resume_staff_session",
    "revoke_all_staff_sessions",
    "revoke_staff_session",
    "set_password",
    "start_staff_session",
    "token_hash",
    "verify_password",
]

MAX_FAILED_SIGN_INS = 10
LOCKOUT_DURATION = timedelta(minutes=15)
#: last_seen_at is written at most this often, so reads do not become writes on every request.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
USER_AGENT_MAX = 255
#: The longest name of a staff member or an organisation the database keeps (VARCHAR(200)).
NAME_MAX = 200

_hasher = PasswordHasher()
_dummy_hash: str | None = None

SignInOutcome = Literal["ok", "wrong_credentials", "locked", "inactive"]


class AccountError(ValueError):
    """A staff account cannot be created or changed as asked (message is safe to show)."""


class PasswordPolicyError(AccountError):
    """The password breaks a rule; ``kind`` says which (too_short, too_long, breached, context_word)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class SignInResult:
    """The outcome of a sign-in attempt; ``user`` is set only when ``outcome == "ok"``."""

    outcome: SignInOutcome
    user: StaffUser | None = None

    @property
    def ok(self) -> bool:
        """True when the staff member may be signed in."""
        return self.outcome == "ok"


@dataclass(frozen=True)
class StaffSessionLookup:
    """A valid sign-in session and its user; ``touched`` when last_seen_at was updated (commit it)."""

    user: StaffUser
    staff_session: StaffSession
    touched: bool


def normalise_email(email: str) -> str:
    """Trim and lower-case an email address (emails are stored lower-case)."""
    return email.strip().lower()


def _email_fingerprint(email: str) -> str:
    return hashlib.sha256(email.encode("utf-8")).hexdigest()[:16]


def check_password_policy(password: str, email: str | None = None) -> None:
    """Raise PasswordPolicyError unless the password has 8 to 64 characters and is not common or guessable."""
    context = [normalise_email(email).split("@", 1)[0]] if email else []
    kind = password_problem_kind(password, context)
    if kind is not None:
        raise PasswordPolicyError(PASSWORD_MESSAGES[kind], kind)


def hash_password(password: str) -> str:
    """Return an argon2id hash of ``password`` with argon2-cffi's default parameters."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; False for a mismatch or an unreadable hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def burn_verify_time(password: str) -> None:
    """Spend the time of one verification, so unknown emails answer as slowly as known ones."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_hex(16))
    verify_password(_dummy_hash, password)


def find_or_create_organisation(session: DbSession, name: str) -> tuple[Organisation, bool]:
    """Return the organisation called ``name`` and whether it was created now."""
    clean = name.strip()
    if not clean:
        raise AccountError("The organisation needs a name.")
    if len(clean) > NAME_MAX:
        raise AccountError(f"The organisation's name can have at most {NAME_MAX} characters.")
    organisation = session.scalar(select(Organisation).where(Organisation.name == clean))
    if organisation is not None:
        return organisation, False
    organisation = Organisation(name=clean)
    session.add(organisation)
    session.flush()
    return organisation, True


def create_staff_user(
    session: DbSession,
    *,
    organisation: Organisation,
    email: str,
    password: str,
    role: str,
    display_name: str | None = None,
    actor_type: str = "system",
    actor_id: int | None = None,
    ip: str | None = None,
) -> StaffUser:
    """Create a staff user after checking role, email and password; audited as ``staff.create``."""
    clean_email = normalise_email(email)
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    if "@" not in clean_email or len(clean_email) > 254:
        raise AccountError("That does not look like an email address.")
    if session.scalar(select(StaffUser.id).where(StaffUser.email == clean_email)) is not None:
        raise AccountError(f"A staff user with email {clean_email} already exists.")
    name = (display_name or clean_email.split("@", 1)[0]).strip()
    if len(name) > NAME_MAX:
        raise AccountError(
            f"The name (by default the part of the email before @) can have at most {NAME_MAX} characters."
        )
    check_password_policy(password, clean_email)
    user = StaffUser(
        organisation_id=organisation.id,
        email=clean_email,
        display_name=name,
        password_hash=hash_password(password),
        role=role,
    )
    session.add(user)
    session.flush()
    record_event(
        session,
        "staff.create",
        actor_type=actor_type,
        actor_id=actor_id,
        object_type="staff_user",
        object_id=user.id,
        ip=ip,
        details={"role": role, "organisation_id": organisation.id},
    )
    return user


def set_password(session: DbSession, user: StaffUser, password: str) -> None:
    """Give ``user`` a new password, clear any lockout and end all their sign-in sessions."""
    check_password_policy(password, user.email)
    user.password_hash = hash_password(password)
    user.failed_login_count = 0
    user.locked_until = None
    revoke_all_staff_sessions(session, user)
    record_event(session, "staff.password_set", object_type="staff_user", object_id=user.id)


def list_staff_users(session: DbSession) -> Sequence[StaffUser]:
    """All staff users, by organisation and email."""
    return session.scalars(select(StaffUser).order_by(StaffUser.organisation_id, StaffUser.email)).all()


def _sign_in_failed(
    session: DbSession, user: StaffUser | None, email: str, reason: str, ip: str | None, **details: int
) -> None:
    record_event(
        session,
        "auth.sign_in_failed",
        actor_type="staff",
        actor_id=user.id if user else None,
        object_type="staff_user" if user else None,
        object_id=user.id if user else None,
        ip=ip,
        details={
            "reason": reason,
            **({} if user else {"email_sha256_16": _email_fingerprint(email)}),
            **details,
        },
    )


def record_failed_attempt(
    session: DbSession, user: StaffUser, reason: str, *, ip: str | None = None, now: datetime | None = None
) -> None:
    """Count a failed sign-in step (password or second factor) on ``user``; the tenth locks for 15 minutes."""
    now = now or utcnow()
    user.failed_login_count += 1
    count = user.failed_login_count
    if count >= MAX_FAILED_SIGN_INS:
        user.locked_until = now + LOCKOUT_DURATION
        user.failed_login_count = 0
    _sign_in_failed(session, user, user.email, reason, ip, failed_count=count)
    if user.is_locked(now):
        record_event(
            session,
            "auth.locked_out",
            actor_type="system",
            object_type="staff_user",
            object_id=user.id,
            ip=ip,
            details={"minutes": int(LOCKOUT_DURATION.total_seconds() // 60)},
        )
    session.flush()


def authenticate(
    session: DbSession, email: str, password: str, *, ip: str | None = None, now: datetime | None = None
) -> SignInResult:
    """Check email and password (the first step), count failures, rehash if needed; every attempt audited."""
    now = now or utcnow()
    clean_email = normalise_email(email)
    user = session.scalar(select(StaffUser).where(StaffUser.email == clean_email).with_for_update())
    if user is None:
        burn_verify_time(password)
        _sign_in_failed(session, None, clean_email, "unknown_email", ip)
        return SignInResult("wrong_credentials")
    if user.is_locked(now):
        burn_verify_time(password)
        _sign_in_failed(session, user, clean_email, "locked", ip)
        return SignInResult("locked")
    if not verify_password(user.password_hash, password):
        record_failed_attempt(session, user, "wrong_password", ip=ip, now=now)
        return SignInResult("wrong_credentials")
    if not user.is_active:
        _sign_in_failed(session, user, clean_email, "inactive", ip)
        return SignInResult("inactive")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if user.locked_until is not None:  # a lockout that has run out
        user.locked_until = None
    record_event(
        session,
        "auth.password_ok",
        actor_type="staff",
        actor_id=user.id,
        object_type="staff_user",
        object_id=user.id,
        ip=ip,
    )
    return SignInResult("ok", user)


def complete_sign_in(
    session: DbSession,
    user: StaffUser,
    *,
    second_factor: str,
    ip: str | None = None,
    now: datetime | None = None,
) -> None:
    """Record a complete sign-in (password and second factor): clear the failure count, audit it."""
    now = now or utcnow()
    user.failed_login_count = 0
    user.locked_until = None
    user.last_login_at = now
    record_event(
        session,
        "auth.sign_in",
        actor_type="staff",
        actor_id=user.id,
        object_type="staff_user",
        object_id=user.id,
        ip=ip,
        details={"second_factor": second_factor},
    )


def token_hash(token: str) -> str:
    """SHA-256 hex of a session token: what the database stores instead of the token."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def start_staff_session(
    session: DbSession,
    user: StaffUser,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    now: datetime | None = None,
    signed_in_at: datetime | None = None,
) -> str:
    """Create a sign-in session row for ``user``; return its token (bound to the user for Flask-Login).

    ``created_at`` is when the sign-in (password and second factor) was made: now, unless ``signed_in_at``
    says this session carries on an earlier one (see ``resume_staff_session``).
    """
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            token_hash=token_hash(token),
            staff_user_id=user.id,
            created_at=signed_in_at or now,
            last_seen_at=now,
            ip=ip,
            user_agent=(user_agent or "")[:USER_AGENT_MAX] or None,
        )
    )
    session.flush()
    user.bind_session_token(token)
    return token


def resume_staff_session(
    session: DbSession,
    parked: StaffSession,
    user: StaffUser,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    now: datetime | None = None,
) -> str:
    """Carry on a parked sign-in session under a new token (the old one is revoked); return the token.

    The new row keeps the parked one's ``created_at``, the moment of the real sign-in with the second
    factor, so the absolute limit (and with it the next full sign-in) still counts from there: resuming
    with the password alone never starts a fresh 12 hours.
    """
    now = now or utcnow()
    parked.revoked_at = now
    return start_staff_session(
        session, user, ip=ip, user_agent=user_agent, now=now, signed_in_at=parked.created_at
    )


def load_staff_session(
    session: DbSession,
    token: str,
    *,
    idle_timeout: timedelta,
    absolute_timeout: timedelta,
    now: datetime | None = None,
) -> StaffSessionLookup | None:
    """Return the live session for ``token``; None when unknown, revoked, expired, or the user is inactive."""
    now = now or utcnow()
    if not token or len(token) > 128:
        return None
    try:
        hashed = token_hash(token)
    except UnicodeEncodeError:
        return None
    row = session.scalar(select(StaffSession).where(StaffSession.token_hash == hashed))
    if row is None or row.revoked_at is not None:
        return None
    if now - row.last_seen_at > idle_timeout or now - row.created_at > absolute_timeout:
        return None
    user = session.get(StaffUser, row.staff_user_id)
    if user is None or not user.is_active:
        return None
    touched = now - row.last_seen_at >= LAST_SEEN_RESOLUTION
    if touched:
        row.last_seen_at = now
        session.flush()
    user.bind_session_token(token)
    return StaffSessionLookup(user=user, staff_session=row, touched=touched)


def revoke_staff_session(
    session: DbSession, token: str, *, now: datetime | None = None
) -> StaffSession | None:
    """Mark the session for ``token`` revoked; return it (None when there was none)."""
    row = session.scalar(select(StaffSession).where(StaffSession.token_hash == token_hash(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.flush()
    return row


def revoke_all_staff_sessions(session: DbSession, user: StaffUser, *, now: datetime | None = None) -> int:
    """End every open sign-in session of ``user`` and bump their session_version; return how many."""
    result = session.execute(
        update(StaffSession)
        .where(StaffSession.staff_user_id == user.id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
        .execution_options(synchronize_session="fetch")
    )
    user.session_version += 1
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)
