"""An invited staff member's one-time link: choose a password, then link an authenticator (as usual).

The link's address is left at once: the token moves into the fresh session cookie, so it is in no later
address, history entry or referrer. The password form checks the staff password policy; a good password
uses the link up and leads to the authenticator set-up of a first sign-in.
"""

from __future__ import annotations

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from survey_app.extensions import db
from survey_app.services.accounts import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    RECOMMENDED_PASSWORD_LENGTH,
    PasswordPolicyError,
)
from survey_app.services.invitations import InvitationError, accept_invitation, open_invitation
from survey_app.web.auth import bp
from survey_app.web.auth.forms import SetPasswordForm
from survey_app.web.auth.pending import start_pending
from survey_app.web.rate_limits import configured_limit, limiter

INVITATION_KEY = "staff_invitation"


def password_rule_text(kind: str) -> str:
    """Which password rule was broken, in the page's language."""
    texts = {
        "too_short": _(
            "The password needs at least %(min)d characters (%(recommended)d or more recommended).",
            min=MIN_PASSWORD_LENGTH,
            recommended=RECOMMENDED_PASSWORD_LENGTH,
        ),
        "too_long": _("The password can have at most %(max)d characters.", max=MAX_PASSWORD_LENGTH),
        "breached": _("This password appears in lists of breached passwords; choose another one."),
        "context_word": _(
            "The password must not be built on your email address or the name of this service."
        ),
    }
    return texts.get(kind, texts["too_short"])


@bp.get("/invite/<token>")
def invitation_link(token: str) -> Response:
    """The link from the admin: keep its token in a fresh session cookie and leave this address."""
    session.clear()
    session[INVITATION_KEY] = token[:100]
    return redirect(url_for("auth.accept_invite"))


def _invalid_link() -> tuple[str, int]:
    session.pop(INVITATION_KEY, None)
    return render_template("auth/invite_invalid.html"), 404


@bp.route("/invite", methods=["GET", "POST"])
@limiter.limit(configured_limit("RATELIMIT_SIGN_IN"), methods=["POST"])
def accept_invite() -> Response | str | tuple[str, int]:
    """Choose a password with the one-time link; then the authenticator is linked, as at a first sign-in."""
    token = session.get(INVITATION_KEY)
    invitation = open_invitation(db.session, token) if isinstance(token, str) else None
    if invitation is None:
        return _invalid_link()
    form = SetPasswordForm()
    error = None
    if form.validate_on_submit():
        password = form.password.data or ""
        if password != (form.repeat.data or ""):
            error = _("The two passwords are not the same. Type the same password twice.")
        else:
            try:
                user = accept_invitation(db.session, str(token), password, ip=request.remote_addr)
            except PasswordPolicyError as refusal:
                db.session.rollback()
                error = password_rule_text(refusal.kind)
            except InvitationError:
                db.session.rollback()
                return _invalid_link()
            else:
                db.session.commit()
                start_pending(user, None)  # a fresh cookie session: the next step links the authenticator
                return redirect(url_for("auth.enrol"))
    elif request.method == "POST":
        error = _("Choose a password.")
    form.password.data = form.repeat.data = ""
    status = 422 if error else 200
    page = render_template(
        "auth/invite.html", form=form, error=error, user=invitation.staff_user, min_length=MIN_PASSWORD_LENGTH
    )
    return page, status
