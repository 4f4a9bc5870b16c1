"""Staff hand a client's questionnaires over: on this tablet (client mode), or as a code for the phone.

``POST /client-mode/start/<client_code>`` and ``POST /client-mode/code/<client_code>`` take ``timepoint_id``
(optional; default: the earliest timepoint without a submitted session), ``leave_out`` (optional
questionnaire keys, repeated) and ``return_to`` (the staff page to come back to). The form is
``templates/client/_hand_over.html``.
"""

from __future__ import annotations

import segno
from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from survey_app.extensions import db, login_manager
from survey_app.i18n import translated_error
from survey_app.models.assessment import AssessmentSession
from survey_app.models.people import Client, StaffSession, StaffUser
from survey_app.services import access_codes, accounts
from survey_app.services.client_access import (
    HAND_OVER_ROLES,
    HandOverError,
    choose_timepoint,
    may_hand_over,
    open_client_mode,
    start_or_resume,
)
from survey_app.services.erased_clients import not_erased
from survey_app.web.client import hand_over_bp
from survey_app.web.client.context import safe_return_path
from survey_app.web.client.guard import enter_client_mode
from survey_app.web.client.messages import hand_over_problem
from survey_app.web.ids import parse_id

__all__ = ["hand_over", "issue_code"]


@hand_over_bp.before_request
def require_hand_over_role() -> Response | None:
    """Signed-in counsellors, site leads and admins only."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()  # type: ignore[no-any-return]
    if current_user.role not in HAND_OVER_ROLES:
        abort(403)
    return None


def _staff() -> StaffUser:
    user: StaffUser = current_user._get_current_object()  # type: ignore[attr-defined]
    return user


def _client(client_code: str) -> Client:
    """The client, when this staff member may hand over to them; 404 otherwise (existence is not revealed).

    An erased client is never handed over: what erasure kept is for research exports only.
    """
    client = db.session.scalar(
        select(Client).where(Client.code == client_code.strip().upper()[:32], not_erased())
    )
    if client is None or not may_hand_over(_staff(), client):
        abort(404)
    return client


def _start(client: Client, mode: str) -> AssessmentSession:
    raw = request.form.get("timepoint_id", "").strip()
    timepoint_id = parse_id(raw)
    if raw and timepoint_id is None:
        raise HandOverError("unknown_timepoint")
    timepoint = choose_timepoint(db.session, client, timepoint_id)
    leave_out = [key for key in request.form.getlist("leave_out") if key]
    return start_or_resume(db.session, client, timepoint, mode=mode, staff=_staff(), leave_out=leave_out)


def _problem(error: HandOverError, return_to: str | None) -> tuple[str, int]:
    db.session.rollback()
    message, status = hand_over_problem(error.code, translated_error(error.reason) if error.reason else "")
    return render_template("client/hand_over_problem.html", message=message, return_to=return_to), status


@hand_over_bp.post("/start/<client_code>")
def hand_over(client_code: str) -> Response | tuple[str, int]:
    """Start (or resume) the client's session and turn this browser into client mode, with a new session."""
    client = _client(client_code)
    return_to = safe_return_path(request.form.get("return_to"))
    try:
        assessment = _start(client, "tablet")
    except HandOverError as error:
        return _problem(error, return_to)
    staff = _staff()
    parked = db.session.scalar(
        select(StaffSession).where(StaffSession.token_hash == accounts.token_hash(current_user.get_id()))
    )
    token, _row = open_client_mode(
        db.session,
        assessment,
        via="tablet",
        staff=staff,
        staff_session=parked,
        return_path=return_to,
        ip=request.remote_addr,
    )
    language = assessment.language
    db.session.commit()
    logout_user()
    enter_client_mode(token, language)
    return redirect(url_for("client.welcome"))


@hand_over_bp.post("/code/<client_code>")
def issue_code(client_code: str) -> str | tuple[str, int]:
    """Start (or resume) the client's session and show a one-time code and QR code for their phone."""
    client = _client(client_code)
    return_to = safe_return_path(request.form.get("return_to"))
    try:
        assessment = _start(client, "own_device")
    except HandOverError as error:
        return _problem(error, return_to)
    issued = access_codes.issue_code(
        db.session,
        assessment,
        secret=current_app.config["SECRET_KEY"],
        staff=_staff(),
        ip=request.remote_addr,
    )
    db.session.commit()
    link = url_for("client.open_link", token=issued.link_token, _external=True)
    return render_template(
        "client/code_issued.html",
        client=client,
        issued=issued,
        qr_data_uri=segno.make(link, error="m").svg_data_uri(scale=6, border=2),
        start_url=url_for("client.enter_code", _external=True),
        return_to=return_to,
        lifetime_minutes=int(access_codes.CODE_LIFETIME.total_seconds() // 60),
    )
