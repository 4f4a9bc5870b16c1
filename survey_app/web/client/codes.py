"""Opening the questionnaires on the client's own phone: type the one-time code, or open the QR link.

The link's token is traded at once: ``GET /client/c/<token>`` keeps it only in the new session cookie and
redirects to a page without it, where one tap (a POST, so link previews cannot use it up) redeems it.

Every POST of a code or a tap is counted in the shared rate-limit store per browser
(``RATELIMIT_CLIENT_CODE``; the browser is told apart by a random mark in its session cookie) and per address
(``RATELIMIT_CLIENT_CODE_ADDRESS``, higher: clients at one centre share its address); besides, failed codes
lock a browser, and many of them its address, out for a while (``access_codes``).
"""

from __future__ import annotations

import secrets
import time

from flask import current_app, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

from survey_app.extensions import db
from survey_app.i18n import SUPPORTED_LANGUAGES
from survey_app.services.access_codes import redeem
from survey_app.services.client_access import end_client_mode, open_client_mode
from survey_app.web.client import bp
from survey_app.web.client.context import answer_in_language, preferences
from survey_app.web.client.guard import CLEAR_ALL_BUT_SEALED, client_mode_lookup, enter_client_mode
from survey_app.web.client.messages import code_problem
from survey_app.web.rate_limits import configured_limit, limiter

#: Flask-session key holding a link token between the link and the tap that redeems it.
LINK_TOKEN_KEY = "client_link_token"
#: Flask-session key of the browser's random mark, set by the code page: attempts are counted per browser.
DEVICE_KEY = "client_code_device"


def _device() -> str:
    """This browser's mark, made on its first visit to the code page."""
    mark = session.get(DEVICE_KEY)
    if not isinstance(mark, str):
        mark = session[DEVICE_KEY] = secrets.token_urlsafe(12)
    return mark


def _address_and_browser() -> str:
    """The rate-limit key per browser: browsers without the mark share one count per address."""
    mark = session.get(DEVICE_KEY)
    return f"{get_remote_address()}|{mark if isinstance(mark, str) else '-'}"


def _page(error: str | None = None, code: str | None = None) -> str:
    return render_template(
        "client/enter_code.html",
        page_title=_("Start your questionnaires"),
        error=error,
        code=code,
        from_link=LINK_TOKEN_KEY in session,
        client_mode=None,
        with_script=False,
    )


@bp.route("/start", methods=["GET", "POST"])
@limiter.limit(configured_limit("RATELIMIT_CLIENT_CODE"), key_func=_address_and_browser, methods=["POST"])
@limiter.limit(configured_limit("RATELIMIT_CLIENT_CODE_ADDRESS"), methods=["POST"])
def enter_code() -> Response | str | tuple[str, int]:
    """Type a code (or confirm an opened link); a right code opens that client's questionnaires here."""
    if request.method == "GET":
        _device()
        return _page()
    ip = request.remote_addr or "unknown"
    secret = current_app.config["SECRET_KEY"]
    link_token = session.get(LINK_TOKEN_KEY) if request.form.get("from_link") else None
    typed = request.form.get("code", "")[:40]
    if isinstance(link_token, str):
        redemption = redeem(db.session, secret=secret, ip=ip, device=_device(), link_token=link_token)
    else:
        redemption = redeem(db.session, secret=secret, ip=ip, device=_device(), code=typed)
    if redemption.outcome != "ok" or redemption.assessment is None:
        db.session.commit()  # keep the failed attempt: it counts towards the limit
        session.pop(LINK_TOKEN_KEY, None)
        message, status = code_problem(redemption.outcome)
        return _page(message, typed if redemption.outcome == "wrong" else None), status
    earlier = client_mode_lookup()
    if earlier is not None and earlier.state != "ended":
        end_client_mode(db.session, earlier.row, "replaced")
    assessment = redemption.assessment
    token, _row = open_client_mode(db.session, assessment, via="code", ip=ip)
    chosen = session.get("language")  # a language picked on this page carries on into the questionnaires
    language = chosen if chosen in SUPPORTED_LANGUAGES else assessment.language
    answer_in_language(assessment, language)
    prefs = preferences()
    db.session.commit()
    enter_client_mode(token, language, prefs)
    return redirect(url_for("client.welcome"))


@bp.errorhandler(RateLimitExceeded)
def too_many_tries(_error: RateLimitExceeded) -> tuple[str, int]:
    """Over the code-entry limit (the only limited page here): the code page, saying how long to wait."""
    limit = limiter.current_limit
    seconds = limit.reset_at - time.time() if limit is not None else 60
    minutes = max(1, round(seconds / 60))
    message = ngettext(
        "Too many tries. Please wait %(num)d minute, or ask your counsellor for help.",
        "Too many tries. Please wait %(num)d minutes, or ask your counsellor for help.",
        minutes,
    )
    return _page(message), 429  # an opened link stays: one tap once the wait is over


@bp.get("/c/<token>")
def open_link(token: str) -> Response:
    """The QR code's link: keep the token in a fresh session cookie and leave this address at once."""
    session.clear()
    session[LINK_TOKEN_KEY] = token[:100]
    return redirect(url_for("client.enter_code"))


@bp.get("/closed")
def closed() -> Response:
    """No questionnaires open in this browser (closed for privacy, stopped, or never started)."""
    why = request.args.get("why")
    response = make_response(
        render_template(
            "client/closed.html",
            page_title=_("Questionnaires"),
            why=why if why in ("expired", "stopped") else None,
            client_mode=None,
            with_script=False,
        )
    )
    response.headers["Clear-Site-Data"] = CLEAR_ALL_BUT_SEALED  # a phone's sealed answers wait for a new code
    return response
