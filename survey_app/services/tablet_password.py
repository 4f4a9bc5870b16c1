"""The counsellor's password typed on a tablet in client mode: limited per device, never locking the account.

Whoever holds the tablet is the client, so a wrong password typed there is not counted on the counsellor's
account (where ten would lock them out of the whole app) but on the client-mode session, the device: the
first ``FREE_TRIES`` wrong passwords only say so; from then on each wrong one makes the device wait, one
minute after the first and twice as long after each next, up to ``LONGEST_WAIT``. While it waits the device
takes no password at all, not even the right one, so guessing stays slow: fewer than 40 tries a day
against the password's argon2id hash, and a client-mode session ends 12 hours after the hand-over anyway.
The right password clears the count. Every try is audited (``client_mode.password_failed`` with the reason,
``client_mode.password_ok``). A counsellor's account locked by wrong sign-ins stays locked here too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select

from survey_app.db import DbSession
from survey_app.models.base import utcnow
from survey_app.models.client_access import ClientModeSession
from survey_app.models.people import StaffUser
from survey_app.services.accounts import burn_verify_time, verify_password
from survey_app.services.audit import record_event

__all__ = [
    "FIRST_WAIT",
    "FREE_TRIES",
    "LONGEST_WAIT",
    "TabletPassword",
    "check_counsellor_password",
    "wait_after",
]

FREE_TRIES = 5
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=1)

TabletPasswordOutcome = Literal["ok", "wrong", "waiting", "locked", "no_counsellor"]


@dataclass(frozen=True)
class TabletPassword:
    """The outcome of a password typed on the tablet; ``wait``: how long the device now waits, if it does."""

    outcome: TabletPasswordOutcome
    staff: StaffUser | None = None
    wait: timedelta | None = None

    @property
    def ok(self) -> bool:
        """True when it was the counsellor's password and the device may be unlocked or left."""
        return self.outcome == "ok"

    @property
    def wait_minutes(self) -> int:
        """The wait in whole minutes, rounded up (0 when the device does not wait)."""
        return math.ceil(self.wait.total_seconds() / 60) if self.wait else 0


def wait_after(failed: int) -> timedelta | None:
    """How long the device waits after its ``failed``-th wrong password in a row (None: not at all)."""
    if failed < FREE_TRIES:
        return None
    doubled: timedelta = FIRST_WAIT * 2 ** min(failed - FREE_TRIES, 16)
    return min(doubled, LONGEST_WAIT)


def _failed(
    session: DbSession, row: ClientModeSession, reason: str, ip: str | None, wait: timedelta | None
) -> None:
    record_event(
        session,
        "client_mode.password_failed",
        actor_type="client",
        object_type="client_mode_session",
        object_id=row.id,
        ip=ip,
        details={
            "reason": reason,
            "failed_count": row.failed_password_count,
            "wait_seconds": int(wait.total_seconds()) if wait else 0,
            **({"staff_user_id": row.started_by} if row.started_by else {}),
        },
    )


def check_counsellor_password(
    session: DbSession,
    row: ClientModeSession,
    password: str,
    *,
    ip: str | None = None,
    now: datetime | None = None,
) -> TabletPassword:
    """Check the password of the counsellor who handed the device over, counting wrong ones on the device."""
    now = now or utcnow()
    row = session.scalars(
        select(ClientModeSession)
        .where(ClientModeSession.id == row.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    staff = session.get(StaffUser, row.started_by) if row.started_by else None
    if staff is None:
        _failed(session, row, "no_counsellor", ip, None)
        return TabletPassword("no_counsellor")
    if row.password_retry_at is not None and row.password_retry_at > now:
        left = row.password_retry_at - now
        _failed(session, row, "waiting", ip, left)
        return TabletPassword("waiting", wait=left)
    if staff.is_locked(now):
        burn_verify_time(password)
        _failed(session, row, "account_locked", ip, None)
        return TabletPassword("locked")
    if not verify_password(staff.password_hash, password):
        row.failed_password_count += 1
        wait = wait_after(row.failed_password_count)
        row.password_retry_at = now + wait if wait else None
        _failed(session, row, "wrong_password", ip, wait)
        return TabletPassword("waiting" if wait else "wrong", wait=wait)
    row.failed_password_count = 0
    row.password_retry_at = None
    if not staff.is_active:
        _failed(session, row, "inactive", ip, None)
        return TabletPassword("no_counsellor")
    record_event(
        session,
        "client_mode.password_ok",
        actor_type="staff",
        actor_id=staff.id,
        object_type="client_mode_session",
        object_id=row.id,
        ip=ip,
    )
    return TabletPassword("ok", staff)
