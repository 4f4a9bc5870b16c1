"""The half-finished sign-in between the password and the second factor, kept in the signed cookie.

Only the user id, their session version, the time and where to go next are kept; nothing grants access
until the second factor is checked and a server-side sign-in session is started.
"""

from __future__ import annotations

import time
from typing import Any

from flask import session

from survey_app.extensions import db
from survey_app.models.base import utcnow
from survey_app.models.people import StaffUser

PENDING_KEY = "mfa_pending"
#: How long after the password the second factor (or enrolment) may be completed.
PENDING_SECONDS = 10 * 60


def start_pending(user: StaffUser, next_url: str | None) -> None:
    """Forget the old cookie session and remember that ``user`` passed the password step."""
    session.clear()
    session[PENDING_KEY] = {
        "uid": user.id,
        "sv": user.session_version,
        "at": int(time.time()),
        "next": next_url or "",
    }


def pending_state() -> dict[str, Any] | None:
    """The pending sign-in, or None when there is none or it has expired."""
    state = session.get(PENDING_KEY)
    if not isinstance(state, dict) or time.time() - int(state.get("at", 0)) > PENDING_SECONDS:
        return None
    return state


def pending_user() -> StaffUser | None:
    """The staff member of a live pending sign-in (active, not locked, same session version), or None."""
    state = pending_state()
    if state is None:
        return None
    user = db.session.get(StaffUser, state.get("uid"))
    if user is None or not user.is_active or user.is_locked(utcnow()):
        return None
    return user if user.session_version == state.get("sv") else None


def remember_enrolment_secret(secret: str) -> None:
    """Keep the secret being enrolled with the pending sign-in (shown on the page anyway)."""
    state = dict(session[PENDING_KEY])
    state["secret"] = secret
    session[PENDING_KEY] = state


def forget_pending() -> None:
    """End the pending sign-in."""
    session.pop(PENDING_KEY, None)
