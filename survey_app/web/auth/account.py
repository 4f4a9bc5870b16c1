"""Account security for the signed-in staff member: recovery codes and signing out everywhere."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_required, logout_user
from werkzeug.wrappers import Response

from survey_app.extensions import db
from survey_app.services import accounts, mfa
from survey_app.services.audit import record_event
from survey_app.web.access import signed_in_staff
from survey_app.web.auth import bp
from survey_app.web.auth.forms import CodeForm, SignOutForm
from survey_app.web.rate_limits import configured_limit, limiter


def _page(form: CodeForm, error: str | None = None, status: int = 200) -> tuple[str, int]:
    user = signed_in_staff()
    assert user is not None
    return (
        render_template(
            "auth/account_security.html",
            form=form,
            sign_out_form=SignOutForm(),
            error=error,
            enrolled=mfa.is_enrolled(user),
            codes_left=mfa.remaining_recovery_codes(db.session, user),
        ),
        status,
    )


@bp.get("/security")
@login_required
def account_security() -> tuple[str, int]:
    """Show the state of the second factor and how many recovery codes are left."""
    return _page(CodeForm())


@bp.post("/security/recovery-codes")
@login_required
@limiter.limit(configured_limit("RATELIMIT_SECOND_FACTOR"))
def new_recovery_codes() -> tuple[str, int] | str:
    """Replace the recovery codes after a fresh code from the authenticator app."""
    user = signed_in_staff()
    assert user is not None
    form = CodeForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    result = mfa.verify_second_factor(
        db.session, user, form.code.data or "", ip=request.remote_addr, recovery_code_accepted=False
    )
    if result.outcome != "totp":
        accounts.record_failed_attempt(db.session, user, "recovery_codes_wrong_code", ip=request.remote_addr)
        db.session.commit()
        return _page(CodeForm(formdata=None), error=_("The code is wrong or has been used already."))
    codes = mfa.replace_recovery_codes(db.session, user, ip=request.remote_addr)
    db.session.commit()
    return render_template("auth/recovery_codes.html", codes=codes, next_url=url_for("auth.account_security"))


@bp.post("/security/sign-out-everywhere")
@login_required
def sign_out_everywhere() -> Response:
    """End every sign-in session of the signed-in staff member, on every device."""
    user = signed_in_staff()
    assert user is not None
    count = accounts.revoke_all_staff_sessions(db.session, user)
    record_event(
        db.session,
        "auth.sign_out_everywhere",
        actor_type="staff",
        actor_id=user.id,
        object_type="staff_user",
        object_id=user.id,
        ip=request.remote_addr,
        details={"sessions": count},
    )
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out on every device."), "info")
    response = redirect(url_for("auth.sign_in"))
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response
