"""Flask-Login glue: the cookie holds a sign-in session token, the database decides if it is live."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, g, redirect, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from survey_app.errors import error_response, wants_json
from survey_app.extensions import db, login_manager
from survey_app.models.people import StaffUser
from survey_app.services import accounts

#: Cookie-session key holding the user's session_version at sign-in ("sign out everywhere" bumps it).
SESSION_VERSION_KEY = "staff_sv"
_SKIP_ENDPOINTS = {"static", "health.healthz"}


@login_manager.user_loader
def load_user(token: str) -> StaffUser | None:
    """Return the staff user of a live sign-in session, or None (revoked, expired, inactive)."""
    config = current_app.config
    lookup = accounts.load_staff_session(
        db.session,
        token,
        idle_timeout=timedelta(minutes=config["STAFF_IDLE_TIMEOUT_MINUTES"]),
        absolute_timeout=timedelta(hours=config["STAFF_ABSOLUTE_TIMEOUT_HOURS"]),
    )
    if lookup is None or session.get(SESSION_VERSION_KEY) != lookup.user.session_version:
        return None
    g.staff_session_touched = lookup.touched
    return lookup.user


@login_manager.unauthorized_handler
def unauthorized() -> Response:
    """Send people to the sign-in page; JSON clients get a 401."""
    if wants_json():
        return error_response(401)
    return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))


def load_signed_in_staff() -> None:
    """Before each request: resolve the signed-in staff member once, drop dead cookies, save last-seen."""
    if request.endpoint in _SKIP_ENDPOINTS:
        return
    if current_user.is_authenticated:
        if g.pop("staff_session_touched", False):
            db.session.commit()  # only last_seen_at is pending here: nothing else has run yet
    elif "_user_id" in session:
        session.clear()  # a revoked or expired session: forget the token
