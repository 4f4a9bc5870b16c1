"""Multi-factor sign-in: TOTP (RFC 6238) with single-use time steps, and single-use recovery codes.

The TOTP secret (160 random bits, base32) is kept in ``staff_users.totp_secret`` once the staff member
has proved, with a first code, that their authenticator holds it. A code is accepted for the current
30-second step and one step either side (clock drift); ``staff_mfa.last_totp_step`` only moves
forward, with a conditional UPDATE, so a step is used at most once even when two workers receive the
same code at the same moment.

Recovery codes carry 120 random bits (24 characters of Crockford's base32 in groups of four), so a
SHA-256 of the code is a sufficient store (ASVS 5.0: a plain hash is allowed from 112 bits); each
is claimed with a conditional UPDATE and works once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import pyotp
import segno
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import CursorResult

from survey_app.db import DbSession
from survey_app.models.base import utcnow
from survey_app.models.people import StaffUser
from survey_app.models.security import StaffMfa, StaffRecoveryCode
from survey_app.services.accounts import revoke_all_staff_sessions
from survey_app.services.audit import record_event

__all__ = [
    "ISSUER",
    "RECOVERY_CODE_COUNT",
    "SecondFactorResult",
    "confirm_enrolment",
    "current_code",
    "is_enrolled",
    "new_totp_secret",
    "normalise_recovery_code",
    "provisioning_uri",
    "qr_code_data_uri",
    "remaining_recovery_codes",
    "replace_recovery_codes",
    "reset_mfa",
    "verify_second_factor",
]

ISSUER = "Recovery outcomes"
TOTP_INTERVAL = 30
TOTP_DIGITS = 6
#: Steps accepted either side of the current one.
TOTP_DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RECOVERY_CODE_CHARS = 24
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})

SecondFactorOutcome = Literal["totp", "recovery_code", "replayed", "wrong"]


@dataclass(frozen=True)
class SecondFactorResult:
    """The outcome of a second-factor attempt; ``ok`` for a fresh TOTP code or an unused recovery code."""

    outcome: SecondFactorOutcome
    recovery_codes_left: int | None = None

    @property
    def ok(self) -> bool:
        """True when the second factor was accepted."""
        return self.outcome in ("totp", "recovery_code")


def new_totp_secret() -> str:
    """A fresh TOTP secret: 160 random bits in base32."""
    return pyotp.random_base32(32)


def is_enrolled(user: StaffUser) -> bool:
    """True when the staff member has a confirmed TOTP secret."""
    return bool(user.totp_secret)


def provisioning_uri(secret: str, email: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL).provisioning_uri(
        name=email, issuer_name=ISSUER
    )


def qr_code_data_uri(uri: str) -> str:
    """The QR code of ``uri`` as an SVG ``data:`` URI (drawn here: no request leaves the server)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def _step(now: datetime) -> int:
    return int(now.timestamp()) // TOTP_INTERVAL


def current_code(secret: str, now: datetime | None = None) -> str:
    """The TOTP code for ``now`` (for enrolment tests and the development-only code command)."""
    moment = now or utcnow()
    return str(pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL).at(moment))


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code is ``code`` (current step first), or None."""
    if len(code) != TOTP_DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL)
    here = _step(now)
    for step in (here, here - 1, here + 1)[: 1 + 2 * TOTP_DRIFT_STEPS]:
        if hmac.compare_digest(str(totp.at(step * TOTP_INTERVAL)), code):
            return step
    return None


def _clean_code(code: str) -> str:
    return "".join(code.split()).replace("-", "")


def normalise_recovery_code(code: str) -> str:
    """Upper-case, without spaces or dashes, with O, I and L read as 0, 1 and 1."""
    return _clean_code(code).upper().translate(_LOOKALIKES)


def _recovery_hash(code: str) -> str:
    return hashlib.sha256(normalise_recovery_code(code).encode("ascii", "replace")).hexdigest()


def _new_recovery_code() -> str:
    chars = "".join(secrets.choice(_CROCKFORD) for _ in range(_RECOVERY_CODE_CHARS))
    return "-".join(chars[index : index + 4] for index in range(0, _RECOVERY_CODE_CHARS, 4))


def replace_recovery_codes(
    session: DbSession, user: StaffUser, *, ip: str | None = None, now: datetime | None = None
) -> list[str]:
    """Give ``user`` a fresh set of recovery codes (the old ones stop working); return them once."""
    now = now or utcnow()
    session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    session.add_all(
        StaffRecoveryCode(staff_user_id=user.id, code_hash=_recovery_hash(code), created_at=now)
        for code in codes
    )
    session.flush()
    record_event(
        session,
        "mfa.recovery_codes_replaced",
        actor_type="staff",
        actor_id=user.id,
        object_type="staff_user",
        object_id=user.id,
        ip=ip,
        details={"count": len(codes)},
    )
    return codes


def remaining_recovery_codes(session: DbSession, user: StaffUser) -> int:
    """How many unused recovery codes ``user`` has."""
    count = session.scalar(
        select(func.count())
        .select_from(StaffRecoveryCode)
        .where(StaffRecoveryCode.staff_user_id == user.id, StaffRecoveryCode.used_at.is_(None))
    )
    return int(count or 0)


def confirm_enrolment(
    session: DbSession,
    user: StaffUser,
    secret: str,
    code: str,
    *,
    ip: str | None = None,
    now: datetime | None = None,
) -> list[str] | None:
    """Store ``secret`` if ``code`` shows the authenticator holds it; return new recovery codes, or None."""
    now = now or utcnow()
    step = _matching_step(secret, _clean_code(code), now)
    if step is None:
        return None
    user.totp_secret = secret
    state = session.get(StaffMfa, user.id)
    if state is None:
        session.add(StaffMfa(staff_user_id=user.id, enrolled_at=now, last_totp_step=step))
    else:
        state.enrolled_at, state.last_totp_step = now, step
    session.flush()
    record_event(
        session,
        "mfa.enrolled",
        actor_type="staff",
        actor_id=user.id,
        object_type="staff_user",
        object_id=user.id,
        ip=ip,
    )
    return replace_recovery_codes(session, user, ip=ip, now=now)


def _claim_step(session: DbSession, user: StaffUser, step: int) -> bool:
    """Move ``last_totp_step`` forward to ``step``; False when that step (or a later one) was used."""
    if session.get(StaffMfa, user.id) is None:
        session.add(StaffMfa(staff_user_id=user.id, last_totp_step=0))
        session.flush()
    result = session.execute(
        update(StaffMfa)
        .where(StaffMfa.staff_user_id == user.id, StaffMfa.last_totp_step < step)
        .values(last_totp_step=step)
        .execution_options(synchronize_session=False)
    )
    return isinstance(result, CursorResult) and result.rowcount == 1


def _claim_recovery_code(session: DbSession, user: StaffUser, code: str, now: datetime) -> bool:
    result = session.execute(
        update(StaffRecoveryCode)
        .where(
            StaffRecoveryCode.staff_user_id == user.id,
            StaffRecoveryCode.code_hash == _recovery_hash(code),
            StaffRecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return isinstance(result, CursorResult) and result.rowcount == 1


def verify_second_factor(
    session: DbSession,
    user: StaffUser,
    code: str,
    *,
    ip: str | None = None,
    now: datetime | None = None,
    recovery_code_accepted: bool = True,
) -> SecondFactorResult:
    """Check a TOTP code (each step once) or a recovery code (each code once); audit what happened.

    ``recovery_code_accepted=False``: only a TOTP code will do, and a recovery code is left unused.
    """
    now = now or utcnow()
    cleaned = _clean_code(code)
    if not user.totp_secret:
        return SecondFactorResult("wrong")
    if cleaned.isascii() and cleaned.isdigit():
        step = _matching_step(user.totp_secret, cleaned, now)
        if step is None:
            return SecondFactorResult("wrong")
        return SecondFactorResult("totp" if _claim_step(session, user, step) else "replayed")
    if not recovery_code_accepted or len(normalise_recovery_code(cleaned)) != _RECOVERY_CODE_CHARS:
        return SecondFactorResult("wrong")
    if not _claim_recovery_code(session, user, cleaned, now):
        return SecondFactorResult("wrong")
    left = remaining_recovery_codes(session, user)
    record_event(
        session,
        "mfa.recovery_code_used",
        actor_type="staff",
        actor_id=user.id,
        object_type="staff_user",
        object_id=user.id,
        ip=ip,
        details={"left": left},
    )
    return SecondFactorResult("recovery_code", recovery_codes_left=left)


def reset_mfa(
    session: DbSession,
    user: StaffUser,
    *,
    actor_type: str = "system",
    actor_id: int | None = None,
    ip: str | None = None,
) -> None:
    """Remove ``user``'s TOTP secret and recovery codes, end their sessions: they enrol again at sign-in."""
    user.totp_secret = None
    session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_user_id == user.id))
    session.execute(delete(StaffMfa).where(StaffMfa.staff_user_id == user.id))
    revoke_all_staff_sessions(session, user)
    record_event(
        session,
        "mfa.reset",
        actor_type=actor_type,
        actor_id=actor_id,
        object_type="staff_user",
        object_id=user.id,
        ip=ip,
    )
