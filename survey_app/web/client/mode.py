"""Client mode itself: lock and unlock, leave with the counsellor's password, stop on a phone, keep alive,
and the language and display choices.

Leaving takes two steps. The password opens the leaving page (unlocking a locked screen, with a new session
id); that page's script sends what the device still keeps (answers not yet sent, and sealed ones it can
now open), then ends client mode, which clears the device. Without JavaScript nothing is kept on the
device, and the page's button ends it.

Ending client mode resumes the counsellor's parked sign-in session with the password alone, so only while
that session is within the staff limits: the absolute one since the real sign-in (12 hours by default; the
resumed session keeps that moment) and the idle one since the counsellor's own last action (30 minutes by
default; the hand-over, or an unlock with their password: the client's answering is not the counsellor's
activity). Otherwise the counsellor signs in again, second factor included.
"""

from __future__ import annotations

import math
from datetime import timedelta

from flask import current_app, flash, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user
from werkzeug.wrappers import Response

from survey_app.extensions import db
from survey_app.i18n import page_language
from survey_app.models.base import utcnow
from survey_app.models.client_access import ClientModeSession
from survey_app.models.people import StaffSession, StaffUser
from survey_app.services import accounts
from survey_app.services.client_access import (
    end_client_mode,
    lock_client_mode,
    note_staff_activity,
    parked_staff_session,
    rotate_client_mode_token,
)
from survey_app.services.tablet_password import check_counsellor_password
from survey_app.web.auth.session import SESSION_VERSION_KEY
from survey_app.web.client import bp
from survey_app.web.client.context import (
    answer_in_language,
    client_mode_row,
    offered_languages,
    preferences,
    safe_client_path,
    save_preferences,
)
from survey_app.web.client.guard import (
    CLEAR_ALL_BUT_SEALED,
    CLEAR_EVERYTHING,
    enter_client_mode,
    forget_client_mode,
)
from survey_app.web.client.messages import password_problem
from survey_app.web.client.screens import page_config

#: Flask-session key set once the counsellor's password was right: who may end client mode, until when.
LEAVING_KEY = "client_leaving"
#: How long the password holds on the leaving page. Ending client mode resumes the counsellor's own session,
#: so a page that waited longer (no connection) asks for the password again: the counsellor may have gone.
LEAVING_FOR = timedelta(minutes=1)


def _clearing(response: Response) -> Response:
    """Ask the browser to drop anything it kept of this origin (the offline copy of answers included)."""
    response.headers["Clear-Site-Data"] = CLEAR_EVERYTHING
    return response


@bp.post("/lock")
def lock() -> Response:
    """Lock the screen now (the client stepped away, or the page saw no use); the answers are hidden."""
    row = client_mode_row()
    if row.via == "code":
        return close()
    if row.locked_at is None:
        lock_client_mode(db.session, row, reason="idle" if _left_idle() else "client")
        db.session.commit()
    return redirect(url_for("client.locked"))


@bp.get("/locked")
def locked() -> Response | str:
    """The lock screen: nothing of the client on it."""
    if client_mode_row().locked_at is None:
        return redirect(url_for("client.welcome"))
    response = make_response(_locked_page())
    response.headers["Clear-Site-Data"] = CLEAR_ALL_BUT_SEALED
    return response


def _locked_page(error: str | None = None) -> str:
    return render_template(
        "client/locked.html", page_title=_("Locked"), error=error, client_mode=None, with_script=False
    )


def _counsellor_password_ok(row: ClientModeSession) -> tuple[StaffUser | None, str | None, int, int]:
    """The counsellor who handed over, when the posted password is theirs; else a message and its status.

    The last value is how many seconds the device waits before it takes a password again (0: it does not).
    """
    password = request.form.get("password", "")[: accounts.MAX_PASSWORD_LENGTH * 4]
    result = check_counsellor_password(db.session, row, password, ip=request.remote_addr)
    if result.ok:  # committed with what the right password opens, in one transaction
        return result.staff, None, 200, 0
    db.session.commit()  # the device's count of wrong passwords and the audit event are kept
    if result.outcome == "waiting":
        seconds = math.ceil(result.wait.total_seconds()) if result.wait else 0
        return None, password_problem("waiting", minutes=result.wait_minutes), 429, seconds
    return None, password_problem(result.outcome), 403, 0


def _refused(body: str, status: int, retry_after: int) -> Response:
    """The page again with the password's problem; ``Retry-After`` when the device waits."""
    response = make_response(body, status)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _staff_limits() -> tuple[timedelta, timedelta]:
    """The staff sign-in session limits (idle, absolute), which hold for the parked session too."""
    config = current_app.config
    return (
        timedelta(minutes=config["STAFF_IDLE_TIMEOUT_MINUTES"]),
        timedelta(hours=config["STAFF_ABSOLUTE_TIMEOUT_HOURS"]),
    )


def _parked(row: ClientModeSession) -> StaffSession | None:
    """The counsellor's parked sign-in session, while it is within the staff limits."""
    idle, absolute = _staff_limits()
    return parked_staff_session(db.session, row, idle_timeout=idle, absolute_timeout=absolute)


def _counsellor_was_here(row: ClientModeSession) -> None:
    """The counsellor's password was just right: their parked session (if still live) was in use now.

    Written with the password's audit event, when the view commits what the password opened.
    """
    idle, absolute = _staff_limits()
    note_staff_activity(db.session, row, idle_timeout=idle, absolute_timeout=absolute)


def _unlock(row: ClientModeSession) -> None:
    """Open the screen again for the same client, with a new session id (committed)."""
    token = rotate_client_mode_token(db.session, row, ip=request.remote_addr)
    language, prefs = page_language(), preferences()
    db.session.commit()
    enter_client_mode(token, language, prefs)


@bp.post("/unlock")
def unlock() -> Response:
    """The counsellor's password unlocks the screen for the same client, with a new session id."""
    row = client_mode_row()
    staff, problem, status, retry_after = _counsellor_password_ok(row)
    if staff is None:
        return _refused(_locked_page(problem), status, retry_after)
    _counsellor_was_here(row)
    _unlock(row)
    return redirect(url_for("client.welcome"))


@bp.route("/leave", methods=["GET", "POST"])
def leave() -> Response | str:
    """The counsellor's password, to end client mode: then the leaving page sends what the device keeps."""
    row = client_mode_row()
    if request.method == "GET":
        return render_template("client/leave.html", page_title=_("End client mode"), client_mode=None)
    staff, problem, status, retry_after = _counsellor_password_ok(row)
    if staff is None:
        template = "client/locked.html" if row.locked_at else "client/leave.html"
        page = render_template(template, page_title=_("End client mode"), error=problem, client_mode=None)
        return _refused(page, status, retry_after)
    _counsellor_was_here(row)
    if row.locked_at is not None:  # from the lock screen: open it to send the sealed answers first
        _unlock(row)
    else:
        db.session.commit()
    session[LEAVING_KEY] = {"staff": staff.id, "until": (utcnow() + LEAVING_FOR).timestamp()}
    return redirect(url_for("client.leaving"))


def _leaving_staff(row: ClientModeSession) -> StaffUser | None:
    """The counsellor whose password opened the leaving page, while it is still valid."""
    leaving = session.get(LEAVING_KEY)
    if not isinstance(leaving, dict) or leaving.get("staff") != row.started_by:
        return None
    if not isinstance(leaving.get("until"), float) or leaving["until"] < utcnow().timestamp():
        return None
    return db.session.get(StaffUser, row.started_by)


def _password_again() -> Response:
    flash(_("Please enter your password again to end client mode."), "info")
    return redirect(url_for("client.leave"))


@bp.get("/leaving")
def leaving() -> Response | str:
    """Ending client mode: the page sends what the device keeps, then ends it (its button, without script)."""
    if _leaving_staff(client_mode_row()) is None:
        return _password_again()
    return render_template(
        "client/leaving.html", page_title=_("Ending client mode"), config=page_config(None, [])
    )


@bp.post("/leaving")
def finish_leaving() -> Response:
    """End client mode for good, clear the device and go back to the counsellor's own pages."""
    row = client_mode_row()
    staff = _leaving_staff(row)
    if staff is None:
        return _password_again()
    parked = _parked(row)
    end_client_mode(db.session, row, "left", ip=request.remote_addr)
    target = row.return_path or url_for("home.index")
    session.clear()
    if parked is None or not staff.is_active:
        db.session.commit()
        flash(_("Client mode has ended. Please sign in again."), "info")
        return _clearing(redirect(url_for("auth.sign_in", next=target)))
    accounts.resume_staff_session(  # a new token, the same sign-in: its limits still count from there
        db.session, parked, staff, ip=request.remote_addr, user_agent=request.user_agent.string
    )
    db.session.commit()
    login_user(staff)
    session[SESSION_VERSION_KEY] = staff.session_version
    return _clearing(redirect(target))


def _left_idle() -> bool:
    """True when the page closes itself because nobody used it (not at the client's press)."""
    return request.form.get("why") == "idle"


@bp.post("/close")
def close() -> Response:
    """On a phone: stop for now, or the page closed itself as nobody used it (the answers are kept); a new
    code carries on.

    Answers the page sealed because the connection was down stay on the phone: the next page of this
    session, reached with a new code, sends them.
    """
    idle = _left_idle()  # the page closed itself: the client is told so, as when the server closes it
    end_client_mode(db.session, client_mode_row(), "expired" if idle else "closed")
    db.session.commit()
    forget_client_mode()
    response = redirect(url_for("client.closed", why="expired" if idle else "stopped"))
    response.headers["Clear-Site-Data"] = CLEAR_ALL_BUT_SEALED
    return response


@bp.post("/keepalive")
def keepalive() -> tuple[str, int]:
    """The page is in use (the guard has already noted it); nothing else to do."""
    return "", 204


@bp.post("/language")
def language() -> Response:
    """Switch the language of the interface and of the questionnaire texts."""
    chosen = request.form.get("language", "")
    if chosen in offered_languages():
        session["language"] = chosen
        row: ClientModeSession | None = g.get("client_mode")  # none yet on the code page
        if row is not None and answer_in_language(row.assessment, chosen):
            db.session.commit()
    return redirect(safe_client_path(request.form.get("next")))


@bp.post("/display")
def display() -> Response | tuple[str, int]:
    """Larger text and high contrast, kept for this client-mode session."""
    save_preferences()
    if request.accept_mimetypes.best == "application/json":
        return "", 204
    return redirect(safe_client_path(request.form.get("next")))
