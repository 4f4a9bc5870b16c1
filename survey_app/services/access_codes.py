"""One-time codes and links that open a client's session on their own phone, and their rate limit.

A code is 8 characters from a 32-symbol alphabet without look-alikes (40 bits), shown as ``ABCD-EFGH``; the
link (for the QR code) carries a 192-bit token. Both are stored only as HMAC-SHA256 keyed with the app's
secret, are used once (a conditional UPDATE, so two phones racing cannot both win), expire after
``CODE_LIFETIME`` and are revoked when a newer code is given for the same session. Failed attempts are rows in
``client_code_attempts``, with the address and the browser (a random mark in its session cookie): after
``MAX_FAILED_ATTEMPTS`` from one browser within ``ATTEMPT_WINDOW``, that browser is refused (even a right
code) until the window has passed, in every worker alike. Clients behind one router (a centre's wifi) share
an address, so one clumsy phone does not lock out the others; ``MAX_FAILED_ATTEMPTS_PER_ADDRESS`` from one
address, whatever the browser, refuses the address, which bounds a guesser who drops the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, func, select, update

from survey_app.db import DbSession
from survey_app.models.assessment import AssessmentSession
from survey_app.models.base import utcnow
from survey_app.models.client_access import ClientAccessCode, ClientCodeAttempt
from survey_app.models.people import StaffUser
from survey_app.services.audit import record_event

__all__ = [
    "ATTEMPT_WINDOW",
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "CODE_LIFETIME",
    "MAX_FAILED_ATTEMPTS",
    "MAX_FAILED_ATTEMPTS_PER_ADDRESS",
    "IssuedCode",
    "Redemption",
    "failed_attempts",
    "is_refused",
    "issue_code",
    "normalise_code",
    "redeem",
]

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O and 1/I: read aloud and typed without doubt
CODE_LENGTH = 8
CODE_LIFETIME = timedelta(minutes=30)
ATTEMPT_WINDOW = timedelta(minutes=15)
MAX_FAILED_ATTEMPTS = 10
MAX_FAILED_ATTEMPTS_PER_ADDRESS = 50
_LINK_TOKEN_BYTES = 24

RedemptionOutcome = Literal["ok", "wrong", "expired", "used", "closed", "limited"]


@dataclass(frozen=True)
class IssuedCode:
    """A code as the counsellor reads it out, the link token for the QR code, and when both expire."""

    code: str
    link_token: str
    expires_at: datetime


@dataclass(frozen=True)
class Redemption:
    """The outcome of entering a code or opening a link; ``assessment`` is set when it is ``ok``."""

    outcome: RedemptionOutcome
    assessment: AssessmentSession | None = None


def _keyed_hash(secret: str, kind: str, value: str) -> str:
    return hmac.new(secret.encode("utf-8"), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def normalise_code(text: str) -> str | None:
    """The code as stored (upper case, without spaces and dashes), or None when it cannot be a code."""
    cleaned = "".join(text.split()).replace("-", "").upper()
    if len(cleaned) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in cleaned):
        return None
    return cleaned


def issue_code(
    session: DbSession,
    assessment: AssessmentSession,
    *,
    secret: str,
    staff: StaffUser,
    ip: str | None = None,
    now: datetime | None = None,
) -> IssuedCode:
    """Give a new code and link for the session; earlier unused ones of the session stop working."""
    now = now or utcnow()
    _revoke_unused(session, assessment, now)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    link_token = secrets.token_urlsafe(_LINK_TOKEN_BYTES)
    row = ClientAccessCode(
        assessment_session_id=assessment.id,
        code_hash=_keyed_hash(secret, "code", code),
        link_hash=_keyed_hash(secret, "link", link_token),
        created_by=staff.id,
        created_at=now,
        expires_at=now + CODE_LIFETIME,
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        "client_mode.code_issued",
        actor_type="staff",
        actor_id=staff.id,
        object_type="assessment_session",
        object_id=assessment.public_id,
        ip=ip,
        details={"client_id": assessment.client_id, "code_id": row.id},
    )
    return IssuedCode(f"{code[:4]}-{code[4:]}", link_token, row.expires_at)


def _revoke_unused(session: DbSession, assessment: AssessmentSession, now: datetime) -> None:
    session.execute(
        update(ClientAccessCode)
        .where(
            ClientAccessCode.assessment_session_id == assessment.id,
            ClientAccessCode.used_at.is_(None),
            ClientAccessCode.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )


def failed_attempts(
    session: DbSession, ip: str, device: str, *, now: datetime | None = None
) -> tuple[int, int]:
    """How many failed attempts came from this browser, and from this address, within the window."""
    since = (now or utcnow()) - ATTEMPT_WINDOW
    from_browser, from_address = session.execute(
        select(func.count().filter(ClientCodeAttempt.device == device), func.count())
        .select_from(ClientCodeAttempt)
        .where(ClientCodeAttempt.ip == ip, ClientCodeAttempt.attempted_at > since)
    ).one()
    return int(from_browser or 0), int(from_address or 0)


def is_refused(session: DbSession, ip: str, device: str, *, now: datetime | None = None) -> bool:
    """Whether this browser, or its whole address, has failed too often to try again yet."""
    from_browser, from_address = failed_attempts(session, ip, device, now=now)
    return from_browser >= MAX_FAILED_ATTEMPTS or from_address >= MAX_FAILED_ATTEMPTS_PER_ADDRESS


def _record_failure(session: DbSession, ip: str, device: str, reason: str, now: datetime) -> None:
    session.execute(
        delete(ClientCodeAttempt).where(ClientCodeAttempt.attempted_at < now - 4 * ATTEMPT_WINDOW)
    )
    session.add(ClientCodeAttempt(ip=ip, device=device, attempted_at=now))
    session.flush()
    record_event(session, "client_mode.code_failed", actor_type="client", ip=ip, details={"reason": reason})


def redeem(
    session: DbSession,
    *,
    secret: str,
    ip: str,
    device: str,
    code: str | None = None,
    link_token: str | None = None,
    now: datetime | None = None,
) -> Redemption:
    """Use a code (or link token) once: ``ok`` with its session, or why not; failures are counted.

    ``device`` is the browser's mark (random, from its session cookie): the lockout counts per browser and,
    with a higher ceiling, per address.
    """
    now = now or utcnow()
    if is_refused(session, ip, device, now=now):
        return Redemption("limited")
    row = None
    if code is not None and (cleaned := normalise_code(code)) is not None:
        row = session.scalar(
            select(ClientAccessCode).where(ClientAccessCode.code_hash == _keyed_hash(secret, "code", cleaned))
        )
    elif link_token is not None and 16 <= len(link_token) <= 64 and link_token.isascii():
        row = session.scalar(
            select(ClientAccessCode).where(
                ClientAccessCode.link_hash == _keyed_hash(secret, "link", link_token)
            )
        )
    outcome = _check(row, now)
    if outcome != "ok" or row is None:
        _record_failure(session, ip, device, outcome, now)
        return Redemption(outcome)
    claimed = session.execute(
        update(ClientAccessCode)
        .where(ClientAccessCode.id == row.id, ClientAccessCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        _record_failure(session, ip, device, "used", now)
        return Redemption("used")
    return Redemption("ok", row.assessment)


def _check(row: ClientAccessCode | None, now: datetime) -> RedemptionOutcome:
    if row is None:
        return "wrong"
    if row.used_at is not None or row.revoked_at is not None:
        return "used"
    if row.expires_at <= now:
        return "expired"
    if row.assessment.status != "open":
        return "closed"
    return "ok"
