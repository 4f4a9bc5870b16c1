"""Client mode in the browser: the session keys, the per-request lookup, and the guards.

A browser in client mode holds ``session[CLIENT_MODE_KEY]`` (a random token, nothing else of a person).
``confine_client_mode`` runs before every request of the app and keeps such a browser on the client pages,
the JSON API and static files; other blueprints may also call ``refuse_client_mode`` in their own
``before_request``. ``client_mode_lookup`` checks the token against the database once per request; it reads
before it writes, and writes only when a lock, an end or last-seen is due.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from survey_app.db import begin_read, end_read
from survey_app.errors import error_response, wants_json
from survey_app.extensions import db
from survey_app.services.client_access import ClientModeLookup, load_client_mode
from survey_app.services.user_messages import N_

__all__ = [
    "CLIENT_DONE_KEY",
    "CLIENT_MODE_KEY",
    "CLIENT_PREFS_KEY",
    "client_mode_lookup",
    "confine_client_mode",
    "enter_client_mode",
    "forget_client_mode",
    "idle_timeout",
    "in_client_mode",
    "refuse_client_mode",
    "site_idle_timeout",
]

#: Flask-session key holding the client-mode token; its presence alone means "this browser is a client's".
CLIENT_MODE_KEY = "client_mode"
#: Flask-session key holding the client's display choices (larger text, high contrast).
CLIENT_PREFS_KEY = "client_prefs"
#: Flask-session key set when a phone's client mode ended with the submit (its thank-you page still shows).
CLIENT_DONE_KEY = "client_done"
#: Clear-Site-Data when the client's session on this device is over (sent, or ended by the counsellor).
CLEAR_EVERYTHING = '"cache", "storage"'
#: Clear-Site-Data on a page without the client's session that keeps the answers sealed on the device for
#: the next page of that session (the lock screen; a phone that stopped): its script removes the rest.
CLEAR_ALL_BUT_SEALED = '"cache"'
DEFAULT_IDLE_MINUTES = 10
_ALWAYS_ALLOWED = frozenset({"static", "health.healthz"})
_CLIENT_BLUEPRINTS = ("client.", "api.")


def in_client_mode() -> bool:
    """True when this browser was handed to a client (whatever the state of that hand-over)."""
    return CLIENT_MODE_KEY in session


def refuse_client_mode() -> Response | None:
    """For a staff blueprint's ``before_request``: send a browser in client mode back to the client pages."""
    if not in_client_mode():
        return None
    if wants_json():
        return error_response(403, N_("This device is in client mode."))
    return redirect(url_for("client.welcome"))


def confine_client_mode() -> Response | None:
    """Before every request of the app: a browser in client mode reaches only client pages and the API."""
    endpoint = request.endpoint or ""
    if endpoint in _ALWAYS_ALLOWED or endpoint.startswith(_CLIENT_BLUEPRINTS):
        return None
    return refuse_client_mode()


def idle_timeout() -> timedelta:
    """How long client mode may stay unused before it locks (``CLIENT_IDLE_TIMEOUT_MINUTES``)."""
    minutes = float(current_app.config.get("CLIENT_IDLE_TIMEOUT_MINUTES") or DEFAULT_IDLE_MINUTES)
    return timedelta(minutes=minutes)


def client_mode_lookup() -> ClientModeLookup | None:
    """This request's client-mode session (checked once; a lock, an end or last-seen is committed)."""
    if "client_mode_lookup" in g:
        lookup: ClientModeLookup | None = g.client_mode_lookup
        return lookup
    token = session.get(CLIENT_MODE_KEY)
    lookup = _look_up(token) if isinstance(token, str) else None
    g.client_mode_lookup = lookup
    return lookup


def _look_up(token: str) -> ClientModeLookup | None:
    """Read the client-mode session without SQLite's write lock; write it (under the lock) only when due."""
    timeout = idle_timeout()
    if begin_read(db.session):
        lookup = load_client_mode(db.session, token, idle_timeout=timeout, write=False)
        if lookup is None or not lookup.write_due:
            end_read(db.session)
            return lookup
        db.session.rollback()  # a lock, an end or last-seen is due: decide again under the write lock
    lookup = load_client_mode(db.session, token, idle_timeout=timeout)
    if lookup is not None and lookup.changed:
        db.session.commit()
    return lookup


def site_idle_timeout() -> timedelta:
    """The idle timeout of this client-mode session's site (the app's default where it sets none)."""
    lookup = client_mode_lookup()
    return lookup.settings.idle_timeout if lookup is not None else idle_timeout()


def forget_client_mode(*, sent: bool = False) -> None:
    """End client mode in this browser but keep the client's language and display choices for what follows."""
    kept = {key: session[key] for key in ("language", CLIENT_PREFS_KEY) if key in session}
    session.clear()
    session.update(kept)
    if sent:
        session[CLIENT_DONE_KEY] = True


def enter_client_mode(token: str, language: str, prefs: dict[str, Any] | None = None) -> None:
    """A fresh browser session that holds only the client-mode token, the language and display choices."""
    session.clear()
    session[CLIENT_MODE_KEY] = token
    session["language"] = language
    if prefs:
        session[CLIENT_PREFS_KEY] = prefs
