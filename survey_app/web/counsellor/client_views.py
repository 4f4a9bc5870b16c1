"""Registering a client, editing details and anchor dates, and changing the client's status."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from survey_app.extensions import db
from survey_app.i18n import page_language, today
from survey_app.models.people import Client
from survey_app.models.programme import Programme
from survey_app.services.caseload import StaffScope, counsellor_choices, site_choices
from survey_app.services.clients import (
    ClientError,
    Registration,
    change_status,
    register_client,
    update_client,
)
from survey_app.services.schedules import (
    INTAKE,
    ScheduleError,
    anchors_offered,
    change_anchor_dates,
    plan_of,
    programme_plans,
)
from survey_app.web.counsellor import bp
from survey_app.web.counsellor import wording as words
from survey_app.web.counsellor.context import audit_view, client_or_404, scope
from survey_app.web.counsellor.forms import ClientDetailsForm, RegisterForm, StatusForm, anchor_dates_from


def _counsellor_choices(current: StaffScope) -> list[SelectChoice]:
    people = counsellor_choices(db.session, current)
    return [SelectChoice("", _("No counsellor yet")), *(SelectChoice(p.id, p.display_name) for p in people)]


def _register_form(current: StaffScope) -> tuple[RegisterForm, tuple[str, ...]]:
    form = RegisterForm()
    programmes = db.session.scalars(
        select(Programme).where(Programme.organisation_id == current.organisation_id).order_by(Programme.name)
    ).all()
    sites = site_choices(db.session, current)
    form.site.choices = [SelectChoice(site.id, site.name) for site in sites]
    if request.method == "GET" and sites:
        form.preferred_language.data = sites[0].default_language
    form.programme.choices = [
        SelectChoice(programme.id, programme.name_in(page_language())) for programme in programmes
    ]
    form.counsellor.choices = _counsellor_choices(current)
    plans = [
        plan for items in programme_plans(db.session, current.organisation_id).values() for plan in items
    ]
    return form, anchors_offered(plans)


def _render_register(
    form: RegisterForm, anchors: tuple[str, ...], errors: dict[str, str], status: int
) -> tuple[str, int]:
    return (
        render_template(
            "counsellor/client_register.html",
            form=form,
            milestones=[anchor for anchor in anchors if anchor != INTAKE],
            anchor_errors=errors,
            words=words,
            scope=scope(),
        ),
        status,
    )


@bp.route("/clients/new", methods=["GET", "POST"])
def register() -> Response | tuple[str, int]:
    """Register a client: the app makes the pseudonymous code; names are optional."""
    current = scope()
    form, anchors = _register_form(current)
    if request.method == "GET":
        form.intake_date.data = today()
        form.counsellor.data = current.user_id
        return _render_register(form, anchors, {}, 200)
    milestones, errors = anchor_dates_from(request.form, [a for a in anchors if a != INTAKE])
    if form.validate_on_submit() and not errors:
        try:
            client = register_client(
                db.session,
                current,
                Registration(
                    site_id=form.site.data or 0,
                    programme_id=form.programme.data or 0,
                    preferred_language=form.preferred_language.data or "",
                    intake_date=form.intake_date.data or today(),
                    counsellor_id=form.counsellor.data,
                    milestones={anchor: day for anchor, day in milestones.items() if day is not None},
                    given_name=form.given_name.data or "",
                    family_name=form.family_name.data or "",
                ),
                ip=request.remote_addr,
            )
        except ClientError as error:
            form.form_errors.append(_(str(error)))
        else:
            db.session.commit()
            flash(_("Client registered. Their code is %(code)s.", code=client.code), "info")
            return redirect(url_for("counsellor.client_page", code=client.code))
    db.session.rollback()
    return _render_register(form, anchors, errors, 422)


def _edit_page(
    client: Client, details: ClientDetailsForm, errors: dict[str, str], status: int
) -> tuple[str, int]:
    """The edit page (also when a change was refused), audited: it shows the client's name and dates."""
    plans = [plan_of(timepoint) for timepoint in client.programme.timepoints]
    current_dates = {row.anchor: row.date for row in client.anchor_dates} | {INTAKE: client.intake_date}
    typed = {
        key.removeprefix("anchor_"): value for key, value in request.form.items() if key.startswith("anchor_")
    }
    page = (
        render_template(
            "counsellor/client_edit.html",
            client=client,
            form=details,
            anchors=anchors_offered(plans),
            anchor_values={anchor: typed.get(anchor, str(day)) for anchor, day in current_dates.items()}
            | typed,
            anchor_errors=errors,
            words=words,
            scope=scope(),
        ),
        status,
    )
    audit_view(client, "client_edit")
    db.session.commit()  # after rendering: committing expires the objects the page reads
    return page


def _details_form(client: Client, current: StaffScope) -> ClientDetailsForm:
    form = ClientDetailsForm()
    form.counsellor.choices = _counsellor_choices(current)
    if request.method == "GET":
        form.preferred_language.data = client.preferred_language
        form.counsellor.data = client.counsellor_id
        form.given_name.data = client.identity.given_name if client.identity else ""
        form.family_name.data = client.identity.family_name if client.identity else ""
    return form


@bp.route("/clients/<code>/edit", methods=["GET", "POST"])
def edit_client(code: str) -> Response | tuple[str, int]:
    """Edit the client's language, counsellor (site leads) and names."""
    client = client_or_404(code, to_manage=True)
    current = scope()
    form = _details_form(client, current)
    if request.method == "POST" and form.validate_on_submit():
        try:
            changed = update_client(
                db.session,
                current,
                client,
                preferred_language=form.preferred_language.data or "",
                counsellor_id=form.counsellor.data if current.is_site_lead else client.counsellor_id,
                given_name=form.given_name.data or "",
                family_name=form.family_name.data or "",
                ip=request.remote_addr,
            )
        except ClientError as error:
            form.form_errors.append(_(str(error)))
        else:
            db.session.commit()
            flash(_("Changes saved.") if changed else _("Nothing was changed."), "info")
            return redirect(url_for("counsellor.client_page", code=client.code))
    if request.method == "POST":
        db.session.rollback()
        return _edit_page(client, form, {}, 422)
    return _edit_page(client, form, {}, 200)


@bp.post("/clients/<code>/anchors")
def edit_anchors(code: str) -> Response | tuple[str, int]:
    """Set, move or remove anchor dates; pending timepoints move, completed ones keep their dates."""
    client = client_or_404(code, to_manage=True)
    current = scope()
    anchors = anchors_offered(plan_of(timepoint) for timepoint in client.programme.timepoints)
    dates, errors = anchor_dates_from(request.form, anchors)
    if dates.get(INTAKE) is None and INTAKE not in errors:
        errors[INTAKE] = _("A client always has an intake date.")
    if not errors:
        try:
            changed = change_anchor_dates(
                db.session, client, dates, actor_id=current.user_id, ip=request.remote_addr
            )
        except ScheduleError as error:
            errors[INTAKE] = _(str(error))
        else:
            db.session.commit()
            flash(_("Dates saved. Pending timepoints moved with them; completed ones keep their dates.")
                  if changed else _("Nothing was changed."), "info")  # fmt: skip
            return redirect(url_for("counsellor.client_page", code=client.code) + "#timeline")
    db.session.rollback()
    return _edit_page(client, _details_form(client, current), errors, 422)


@bp.post("/clients/<code>/status")
def set_status(code: str) -> Response:
    """Pause, resume, withdraw, complete or re-open the client (with an optional reason)."""
    client = client_or_404(code, to_manage=True)
    form = StatusForm()
    if form.validate_on_submit():
        try:
            change_status(db.session, scope(), client, form.status.data or "", reason=form.reason.data or "",
                          ip=request.remote_addr)  # fmt: skip
        except ClientError as error:
            db.session.rollback()
            flash(_(str(error)), "error")
        else:
            db.session.commit()
            flash(_("Status changed to: %(status)s.", status=words.status_labels()[client.status]), "info")
    else:
        flash(_("The status was not changed: the form was incomplete or has expired. Try again."), "error")
    return redirect(url_for("counsellor.client_page", code=code))
