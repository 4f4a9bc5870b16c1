"""Sign-in (password, then a second factor or a first TOTP enrolment) and sign-out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from survey_app.extensions import db
from survey_app.models.base import utcnow
from survey_app.models.people import StaffUser
from survey_app.services import accounts, mfa
from survey_app.services.audit import record_event
from survey_app.web.auth import bp
from survey_app.web.auth.forms import CodeForm, SignInForm, SignOutForm
from survey_app.web.auth.pending import (
    forget_pending,
    pending_state,
    pending_user,
    remember_enrolment_secret,
    start_pending,
)
from survey_app.web.auth.session import SESSION_VERSION_KEY
from survey_app.web.rate_limits import configured_limit, limiter


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths; anything else goes to the landing page."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("home.index")


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(configured_limit("RATELIMIT_SIGN_IN"), methods=["POST"])
def sign_in() -> Response | str | tuple[str, int]:
    """Show the sign-in form; a right email and password lead to the second step."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    form = SignInForm()
    if form.validate_on_submit():
        result = accounts.authenticate(
            db.session, form.email.data or "", form.password.data or "", ip=request.remote_addr
        )
        db.session.commit()  # the failure count, a rehash and the audit event
        if result.ok and result.user is not None:
            if current_user.is_authenticated:  # signing in over a live session ends that one
                accounts.revoke_staff_session(db.session, current_user.get_id())
                db.session.commit()
                logout_user()
            start_pending(result.user, request.args.get("next"))
            step = "auth.second_factor" if mfa.is_enrolled(result.user) else "auth.enrol"
            return redirect(url_for(step))
        form.password.data = ""
        return render_template(
            "auth/sign_in.html", form=form, error=_("The email or password is wrong.")
        ), 200
    return render_template("auth/sign_in.html", form=form, error=None)


def _finish_sign_in(user: StaffUser, second_factor: str) -> str:
    """Record the sign-in and start a brand-new server-side session; return where to go next."""
    state = pending_state() or {}
    accounts.complete_sign_in(db.session, user, second_factor=second_factor, ip=request.remote_addr)
    session.clear()  # a fresh session at sign-in: nothing from before survives
    accounts.start_staff_session(
        db.session, user, ip=request.remote_addr, user_agent=request.user_agent.string
    )
    login_user(user)
    session[SESSION_VERSION_KEY] = user.session_version
    db.session.commit()
    return _safe_next(state.get("next"))


def _restart(message: str) -> Response:
    forget_pending()
    flash(message, "info")
    return redirect(url_for("auth.sign_in"))


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit(configured_limit("RATELIMIT_SECOND_FACTOR"), methods=["POST"])
def second_factor() -> Response | str | tuple[str, int]:
    """The second step: a code from the authenticator app, or a recovery code."""
    user = pending_user()
    if user is None:
        return _restart(_("Please sign in again."))
    if not mfa.is_enrolled(user):
        return redirect(url_for("auth.enrol"))
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("auth/second_factor.html", form=form, error=None)
    result = mfa.verify_second_factor(db.session, user, form.code.data or "", ip=request.remote_addr)
    if result.ok:
        target = _finish_sign_in(user, result.outcome)
        if result.recovery_codes_left is not None:
            flash(
                _(
                    "You used a recovery code; %(left)d left. Make new ones under Account security.",
                    left=result.recovery_codes_left,
                ),
                "info",
            )
        return redirect(target)
    accounts.record_failed_attempt(
        db.session, user, f"second_factor_{result.outcome}", ip=request.remote_addr
    )
    db.session.commit()
    if user.is_locked(utcnow()):
        return _restart(_("Too many wrong codes: the account is locked for 15 minutes."))
    form.code.data = ""
    return render_template(
        "auth/second_factor.html",
        form=form,
        error=_("The code is wrong or has been used already. Wait for a new code and try again."),
    ), 200


@bp.route("/enrol", methods=["GET", "POST"])
@limiter.limit(configured_limit("RATELIMIT_SECOND_FACTOR"), methods=["POST"])
def enrol() -> Response | str | tuple[str, int]:
    """First sign-in: link an authenticator app (QR code), confirm one code, receive recovery codes."""
    user = pending_user()
    if user is None:
        return _restart(_("Please sign in again."))
    if mfa.is_enrolled(user):
        return redirect(url_for("auth.second_factor"))
    secret = (pending_state() or {}).get("secret") or mfa.new_totp_secret()
    remember_enrolment_secret(secret)
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        codes = mfa.confirm_enrolment(db.session, user, secret, form.code.data or "", ip=request.remote_addr)
        if codes is not None:
            target = _finish_sign_in(user, "enrolment")
            return render_template("auth/recovery_codes.html", codes=codes, next_url=target)
        error = _("That code does not match. Check the time on your phone and type the newest code.")
        form.code.data = ""
    uri = mfa.provisioning_uri(secret, user.email)
    return render_template(
        "auth/enrol.html",
        form=form,
        error=error,
        qr_code=mfa.qr_code_data_uri(uri),
        secret_groups=[secret[index : index + 4] for index in range(0, len(secret), 4)],
    )


@bp.post("/sign-out")
def sign_out() -> Response:
    """End the sign-in session for good: revoke the row, clear the cookie and the browser's site data."""
    form = SignOutForm()
    form.validate_on_submit()  # CSRFProtect has already checked the token for every POST
    if current_user.is_authenticated:
        user_id = current_user.id
        accounts.revoke_staff_session(db.session, current_user.get_id())
        record_event(
            db.session,
            "auth.sign_out",
            actor_type="staff",
            actor_id=user_id,
            object_type="staff_user",
            object_id=user_id,
            ip=request.remote_addr,
        )
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    response = redirect(url_for("auth.sign_in"))
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    response.headers["Cache-Control"] = "no-store"
    return response
