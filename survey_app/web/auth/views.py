"""Sign-in and sign-out views."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from survey_app.extensions import db
from survey_app.services import accounts
from survey_app.services.audit import record_event
from survey_app.web.auth import bp
from survey_app.web.auth.forms import SignInForm, SignOutForm
from survey_app.web.auth.session import SESSION_VERSION_KEY

WRONG_CREDENTIALS = "The email or password is wrong."


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths; anything else goes to the landing page."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("home.index")


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Response | str | tuple[str, int]:
    """Show the sign-in form; on a valid email and password start a new sign-in session."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    form = SignInForm()
    if form.validate_on_submit():
        result = accounts.authenticate(
            db.session, form.email.data or "", form.password.data or "", ip=request.remote_addr
        )
        if result.ok and result.user is not None:
            user = result.user
            if current_user.is_authenticated:  # signing in over a live session ends that one
                accounts.revoke_staff_session(db.session, current_user.get_id())
            session.clear()  # a fresh session at sign-in: nothing from before survives
            accounts.start_staff_session(
                db.session, user, ip=request.remote_addr, user_agent=request.user_agent.string
            )
            login_user(user)
            session[SESSION_VERSION_KEY] = user.session_version
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        db.session.commit()  # keep the failed-attempt count and the audit event
        form.password.data = ""
        return render_template("auth/sign_in.html", form=form, error=WRONG_CREDENTIALS), 200
    return render_template("auth/sign_in.html", form=form, error=None)


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
    flash("You are signed out.", "info")
    response = redirect(url_for("auth.sign_in"))
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    response.headers["Cache-Control"] = "no-store"
    return response
