"""One-time enrolment links: an admin invites a staff member, who sets a password with the link once.

The link carries 256 random bits; only their SHA-256 is kept (a plain hash suffices at that strength, as for
sign-in session tokens). A link works once, until it expires (``INVITATION_LIFETIME``), and stops working when
a new link is made for the same person or the account is deactivated. The password it sets follows the staff
password policy; the authenticator is linked afterwards through the usual first-sign-in enrolment.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult

from survey_app.db import DbSession
from survey_app.models.admin import StaffInvitation
from survey_app.models.base import utcnow
from survey_app.models.people import StaffUser
from survey_app.services.accounts import check_password_policy, hash_password, token_hash
from survey_app.services.audit import record_staff_event
from survey_app.services.user_messages import N_, UserFacingError

__all__ = [
    "INVITATION_LIFETIME",
    "InvitationError",
    "InvitationState",
    "IssuedInvitation",
    "accept_invitation",
    "invitation_states",
    "issue_invitation",
    "open_invitation",
    "revoke_open_invitations",
]

INVITATION_LIFETIME = timedelta(hours=72)
MAX_TOKEN_LENGTH = 100

#: Where an account stands with its invitations: none made (an account from the command line), waiting,
#: run out, or used.
InvitationState = Literal["none", "waiting", "expired", "accepted"]


class InvitationError(UserFacingError):
    """An enrolment link cannot be used (unknown, used, replaced or expired)."""


@dataclass(frozen=True)
class IssuedInvitation:
    """A new enrolment link: the token to put in the link (shown once, never stored) and its end."""

    user: StaffUser
    token: str
    expires_at: datetime


def revoke_open_invitations(session: DbSession, user: StaffUser, *, now: datetime | None = None) -> int:
    """Stop every unused link of ``user``; return how many there were."""
    result = session.execute(
        update(StaffInvitation)
        .where(
            StaffInvitation.staff_user_id == user.id,
            StaffInvitation.used_at.is_(None),
            StaffInvitation.revoked_at.is_(None),
        )
        .values(revoked_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0) if isinstance(result, CursorResult) else 0


def issue_invitation(
    session: DbSession, user: StaffUser, *, created_by: StaffUser, now: datetime | None = None
) -> IssuedInvitation:
    """Make a new enrolment link for ``user`` (earlier unused links stop working)."""
    now = now or utcnow()
    revoke_open_invitations(session, user, now=now)
    token = secrets.token_urlsafe(32)
    expires_at = now + INVITATION_LIFETIME
    session.add(
        StaffInvitation(
            staff_user_id=user.id,
            token_hash=token_hash(token),
            created_by=created_by.id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return IssuedInvitation(user, token, expires_at)


def open_invitation(session: DbSession, token: str, *, now: datetime | None = None) -> StaffInvitation | None:
    """The usable invitation of a link's token: unused, not replaced, not expired, for an active account."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return None
    row = session.scalar(select(StaffInvitation).where(StaffInvitation.token_hash == token_hash(token)))
    now = now or utcnow()
    if row is None or row.used_at is not None or row.revoked_at is not None or row.expires_at <= now:
        return None
    return row if row.staff_user.is_active else None


def accept_invitation(
    session: DbSession, token: str, password: str, *, ip: str | None = None, now: datetime | None = None
) -> StaffUser:
    """Set the invited person's password with the link, once (PasswordPolicyError, InvitationError)."""
    now = now or utcnow()
    invitation = open_invitation(session, token, now=now)
    if invitation is None:
        raise InvitationError(N_("This link does not work any more. Ask your administrator for a new one."))
    user = invitation.staff_user
    check_password_policy(password, user.email)
    claimed = session.execute(
        update(StaffInvitation)
        .where(StaffInvitation.id == invitation.id, StaffInvitation.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if not isinstance(claimed, CursorResult) or claimed.rowcount != 1:  # used a moment ago, elsewhere
        raise InvitationError(N_("This link does not work any more. Ask your administrator for a new one."))
    user.password_hash = hash_password(password)
    user.failed_login_count = 0
    user.locked_until = None
    session.flush()
    record_staff_event(
        session,
        "staff.invitation_accept",
        user.id,
        "staff_user",
        user.id,
        ip=ip,
    )
    return user


def invitation_states(
    session: DbSession, user_ids: Collection[int], *, now: datetime | None = None
) -> dict[int, InvitationState]:
    """For each staff member: whether a link waits for them, ran out, was used, or was never made."""
    now = now or utcnow()
    states: dict[int, InvitationState] = dict.fromkeys(user_ids, "none")
    if not user_ids:
        return states
    rows = session.execute(
        select(StaffInvitation.staff_user_id, StaffInvitation.used_at, StaffInvitation.revoked_at,
               StaffInvitation.expires_at)
        .where(StaffInvitation.staff_user_id.in_(list(user_ids)))
        .order_by(StaffInvitation.id)
    )  # fmt: skip
    for user_id, used_at, revoked_at, expires_at in rows:
        if used_at is not None:
            states[user_id] = "accepted"
        elif states[user_id] != "accepted" and revoked_at is None:
            states[user_id] = "waiting" if expires_at > now else "expired"
        elif states[user_id] == "none":
            states[user_id] = "expired"  # only replaced or stopped links: none of them can be used
    return states
