"""Generic error pages (HTML, or JSON under /api/ and for /healthz); never a traceback."""

from __future__ import annotations

import logging
import sqlite3

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from survey_app.db import database_error_reason
from survey_app.extensions import db
from survey_app.services.user_messages import N_

log = logging.getLogger(__name__)

#: Seconds a client should wait before retrying when the database is unavailable.
RETRY_AFTER_SECONDS = 30
#: ... when another writer held the database too long (SQLite), or on a lock or serialization conflict.
BUSY_RETRY_AFTER_SECONDS = 5
#: ... when the database's disk is full: someone has to make room first.
FULL_RETRY_AFTER_SECONDS = 300
BUSY_MESSAGE = N_("The service is busy and nothing was saved. Please try again in a moment.")
FULL_MESSAGE = N_(
    "The server has run out of storage space, so nothing was saved. "
    "Please try again later and tell the administrator."
)
_SQLITE_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
#: PostgreSQL SQLSTATEs: serialization failure, deadlock, lock not available; disk full, out of memory.
_POSTGRES_BUSY = {"40001", "40P01", "55P03"}
_POSTGRES_FULL = {"53100", "53200"}

#: Title and message of each error page, in English; shown in the page's language (see ``error_response``).
ERROR_TEXTS: dict[int, tuple[str, str]] = {
    400: (
        N_("Bad request"),
        N_("The request could not be understood. Go back, reload the page and try again."),
    ),
    401: (N_("Sign-in needed"), N_("Please sign in to continue.")),
    403: (N_("Not allowed"), N_("You do not have access to this page.")),
    404: (N_("Not found"), N_("There is no page at this address.")),
    405: (N_("Not allowed"), N_("This page cannot be used this way.")),
    413: (N_("Too large"), N_("Too much was sent at once. Go back, make the answer shorter and try again.")),
    429: (N_("Too many requests"), N_("Too many attempts. Please wait a moment and try again.")),
    500: (N_("Something went wrong"), N_("An unexpected error happened. It has been logged.")),
    503: (
        N_("Temporarily unavailable"),
        N_("The service cannot reach its database. Please try again shortly."),
    ),
}


def wants_json() -> bool:
    """True for requests answered in JSON: the JSON API (/api/...) and /healthz."""
    path = request.path
    return path.startswith("/api/") or path == "/healthz"


def error_response(status: int, message: str | None = None, retry_after: int | None = None) -> Response:
    """Build the generic error page (or JSON body) for ``status``."""
    title, default_message = ERROR_TEXTS.get(status, ERROR_TEXTS[500])
    title, text = gettext(title), gettext(message or default_message)
    if wants_json():
        response = jsonify({"error": title, "message": text, "status": status})
    else:
        response = Response(
            render_template("errors/error.html", status=status, title=title, message=text, hide_user=True),
            mimetype="text/html",
        )
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection may be gone: there is nothing left to roll back
        log.debug("rollback after a database error failed", exc_info=True)


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if status >= 500:
        _rollback_quietly()
    response = error_response(status)
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        response.headers["Allow"] = ", ".join(valid_methods)
    return response


def _csrf_error(error: CSRFError) -> Response:
    return error_response(
        400, N_("The form has expired or was sent from elsewhere. Reload the page and try again.")
    )


def database_problem(error: Exception) -> str:
    """What a database error means for the person waiting: "full" (disk), "busy" (locks) or "unavailable"."""
    original = getattr(error, "orig", None) or error
    sqlite_code = getattr(original, "sqlite_errorcode", None)
    sqlstate = getattr(original, "sqlstate", None)
    if sqlite_code == sqlite3.SQLITE_FULL or sqlstate in _POSTGRES_FULL:
        return "full"
    if sqlite_code in _SQLITE_BUSY or sqlstate in _POSTGRES_BUSY:
        return "busy"
    return "unavailable"


def _database_unavailable(error: Exception) -> Response:
    reason = database_error_reason(error)
    problem = database_problem(error)
    _rollback_quietly()
    if problem == "full":
        log.error("database storage is full, nothing was saved: %s", reason)
        return error_response(503, FULL_MESSAGE, retry_after=FULL_RETRY_AFTER_SECONDS)
    if problem == "busy":
        log.warning("database busy, the request gave up waiting: %s", reason)
        return error_response(503, BUSY_MESSAGE, retry_after=BUSY_RETRY_AFTER_SECONDS)
    log.warning("database unavailable: %s", reason)
    return error_response(503, retry_after=RETRY_AFTER_SECONDS)


def _internal_error(error: Exception) -> Response:
    original = getattr(error, "original_exception", None) or error
    if isinstance(original, OperationalError | InterfaceError | PoolTimeoutError):
        return _database_unavailable(original)
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=original)
    _rollback_quietly()
    return error_response(500)


def _end_transaction_quietly(_error: BaseException | None) -> None:
    """At the end of every request (before the session is removed), end a transaction still open.

    A request that only read leaves its transaction to this point. When the database went away after the
    answer was made, ending it fails; the person already has their answer, so that is logged, not a 500.
    """
    try:
        db.session.rollback()
    except (OperationalError, InterfaceError) as error:
        log.warning("database unavailable while ending the request: %s", database_error_reason(error))


def register_error_handlers(app: Flask) -> None:
    """Install the generic error pages, the 503-on-database-loss handler and the quiet end of a request.

    Call it after the database extension is set up: teardown functions run in reverse order, so the quiet end
    runs before the extension removes the session.
    """
    for status in ERROR_TEXTS:
        if status != 500:
            app.register_error_handler(status, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    for exc_class in (OperationalError, InterfaceError, PoolTimeoutError):
        app.register_error_handler(exc_class, _database_unavailable)
    app.register_error_handler(500, _internal_error)
    app.teardown_appcontext(_end_transaction_quietly)
