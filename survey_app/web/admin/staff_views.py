"""Staff: the list, inviting someone (a one-time enrolment link), role and sites, and account actions."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from survey_app.extensions import db
from survey_app.models.people import StaffUser
from survey_app.services import mfa
from survey_app.services.invitations import IssuedInvitation
from survey_app.services.staff_admin import (
    StaffAdminError,
    change_access,
    deactivate_staff,
    invite_staff,
    organisation_sites,
    reactivate_staff,
    renew_invitation,
    reset_second_factor,
    staff_member,
    staff_page,
    staff_status,
)
from survey_app.web.admin import admin, bp, show_errors
from survey_app.web.admin.forms import AccessForm, InviteForm
from survey_app.web.counsellor.wording import role_labels


def _with_choices(form: AccessForm) -> AccessForm:
    form.role.choices = [SelectChoice(code, label) for code, label in role_labels().items()]
    form.sites.choices = [
        SelectChoice(site.id, site.name) for site in organisation_sites(db.session, admin().organisation_id)
    ]
    return form


def _member_or_404(user_id: int) -> StaffUser:
    user = staff_member(db.session, admin().organisation_id, user_id)
    if user is None:
        abort(404)
    return user


def status_labels() -> dict[str, str]:
    """Where a staff member stands, in words."""
    return {
        "active": _("active"),
        "invited": _("invited, has not set a password yet"),
        "invitation_expired": _("invitation link expired"),
        "deactivated": _("deactivated"),
    }


@bp.get("/")
def index() -> str:
    """The admin's start page: what can be administered here."""
    return render_template("admin/index.html")


@bp.get("/staff")
def staff_list() -> str:
    """Every staff member of the organisation, a page at a time, searchable by name, email or role."""
    page_number = request.args.get("page", "1")
    roles = role_labels()
    page = staff_page(
        db.session,
        admin().organisation_id,
        query=request.args.get("q", ""),
        page=int(page_number) if page_number.isdigit() and len(page_number) < 6 else 1,
        role_words=roles,
    )
    return render_template("admin/staff_list.html", page=page, roles=roles, statuses=status_labels())


def _link_page(issued: IssuedInvitation) -> str:
    link = url_for("auth.invitation_link", token=issued.token, _external=True)
    return render_template("admin/staff_link.html", issued=issued, link=link, roles=role_labels())


@bp.route("/staff/invite", methods=["GET", "POST"])
def invite() -> str | tuple[str, int]:
    """Invite a staff member: their account with a role and sites, and a one-time link to set a password."""
    form = _with_choices(InviteForm())
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            issued = invite_staff(
                db.session,
                admin(),
                email=form.email.data or "",
                display_name=form.display_name.data or "",
                role=form.role.data or "",
                site_ids=form.sites.data or [],
                ip=request.remote_addr,
            )
        except StaffAdminError as error:
            db.session.rollback()
            errors = show_errors(form, error)
        else:
            db.session.commit()
            return _link_page(issued)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/staff_invite.html", form=form, errors=errors), status


def _member_page(user: StaffUser, form: AccessForm, errors: list[str], status: int = 200) -> tuple[str, int]:
    return (
        render_template(
            "admin/staff_member.html",
            user=user,
            form=form,
            errors=errors,
            status=staff_status(db.session, user),
            statuses=status_labels(),
            roles=role_labels(),
            enrolled=mfa.is_enrolled(user),
            is_self=user.id == admin().id,
        ),
        status,
    )


@bp.route("/staff/<int:user_id>", methods=["GET", "POST"])
def staff_edit(user_id: int) -> Response | tuple[str, int]:
    """A staff member's role and sites, and what can be done with their account."""
    user = _member_or_404(user_id)
    form = _with_choices(AccessForm(data={"role": user.role, "sites": [site.id for site in user.sites]}))
    if request.method == "GET":
        return _member_page(user, form, [])
    if form.validate_on_submit():
        try:
            changed = change_access(
                db.session, admin(), user, role=form.role.data or "", site_ids=form.sites.data or [],
                ip=request.remote_addr,
            )  # fmt: skip
        except StaffAdminError as error:
            db.session.rollback()
            return _member_page(_member_or_404(user_id), form, show_errors(form, error), 422)
        db.session.commit()
        flash(_("Role and sites saved.") if changed else _("Nothing changed."), "info")
        return redirect(url_for("admin.staff_edit", user_id=user.id))
    return _member_page(user, form, [], 422)


def _account_action(user_id: int, done: str) -> Response | tuple[str, int]:
    """Commit an account action that just ran, or show its refusal on the member's page."""
    db.session.commit()
    flash(done, "info")
    return redirect(url_for("admin.staff_edit", user_id=user_id))


def _refused(user_id: int, error: StaffAdminError) -> tuple[str, int]:
    db.session.rollback()
    user = _member_or_404(user_id)
    form = _with_choices(
        AccessForm(formdata=None, data={"role": user.role, "sites": [s.id for s in user.sites]})
    )
    return _member_page(user, form, show_errors(form, error), 422)


@bp.post("/staff/<int:user_id>/invitation")
def renew(user_id: int) -> str | tuple[str, int]:
    """A new enrolment link for someone who has not used theirs (the old link stops working)."""
    user = _member_or_404(user_id)
    try:
        issued = renew_invitation(db.session, admin(), user, ip=request.remote_addr)
    except StaffAdminError as error:
        return _refused(user_id, error)
    db.session.commit()
    return _link_page(issued)


@bp.post("/staff/<int:user_id>/deactivate")
def deactivate(user_id: int) -> Response | tuple[str, int]:
    """Deactivate an account: every sign-in session of it ends at once."""
    user = _member_or_404(user_id)
    try:
        ended = deactivate_staff(db.session, admin(), user, ip=request.remote_addr)
    except StaffAdminError as error:
        return _refused(user_id, error)
    message = ngettext(
        "Account deactivated; %(num)d sign-in session ended.",
        "Account deactivated; %(num)d sign-in sessions ended.",
        ended,
    )
    return _account_action(user_id, message)


@bp.post("/staff/<int:user_id>/reactivate")
def reactivate(user_id: int) -> Response | tuple[str, int]:
    """Let a deactivated staff member sign in again."""
    user = _member_or_404(user_id)
    try:
        reactivate_staff(db.session, admin(), user, ip=request.remote_addr)
    except StaffAdminError as error:
        return _refused(user_id, error)
    return _account_action(user_id, _("Account active again."))


@bp.post("/staff/<int:user_id>/reset-mfa")
def reset_mfa(user_id: int) -> Response | tuple[str, int]:
    """Unlink a staff member's authenticator (a lost phone); they link a new one at their next sign-in."""
    user = _member_or_404(user_id)
    try:
        reset_second_factor(db.session, admin(), user, ip=request.remote_addr)
    except StaffAdminError as error:
        return _refused(user_id, error)
    return _account_action(
        user_id,
        _("Authenticator unlinked and signed out everywhere: they link a new one at their next sign-in."),
    )
