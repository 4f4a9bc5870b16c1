"""Acknowledging risk alerts, and the organisation's alert routing (site leads and admins)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from survey_app.extensions import db
from survey_app.models.people import StaffUser
from survey_app.models.programme import Site
from survey_app.services.alerts import (
    AlertError,
    AlertNotFound,
    acknowledge_alerts,
    add_recipient,
    remove_recipient,
    routing_view,
    set_site_lead_alerts,
)
from survey_app.services.caseload import WORKSPACE_ROLES
from survey_app.web.counsellor import bp
from survey_app.web.counsellor import wording as words
from survey_app.web.counsellor.context import local_target, scope, staff
from survey_app.web.counsellor.forms import AcknowledgeForm, RecipientForm, SiteLeadAlertsForm
from survey_app.web.ids import parse_id

SETTINGS_ROLES = ("site_lead", "admin")


@bp.post("/alerts/acknowledge")
def acknowledge() -> Response:
    """Acknowledge the chosen alerts with one note; any alert outside the staff member's scope is a 404."""
    form = AcknowledgeForm()
    back = local_target(form.next.data, url_for("home.index"))
    chosen = [parse_id(value) for value in request.form.getlist("alert")]
    if None in chosen:
        abort(404)
    if not chosen:
        flash(_("Tick the alerts you want to acknowledge."), "error")
        return redirect(back)
    if not form.validate_on_submit():
        flash(_("Write what you did or decided before acknowledging the alert."), "error")
        return redirect(back)
    try:
        count = acknowledge_alerts(
            db.session,
            scope(),
            [value for value in chosen if value is not None],
            form.note.data or "",
            ip=request.remote_addr,
        )
    except AlertNotFound:
        db.session.rollback()
        abort(404)
    except AlertError as error:
        db.session.rollback()
        flash(_(str(error)), "error")
        return redirect(back)
    db.session.commit()
    flash(
        ngettext(
            "%(num)d alert acknowledged. Your note is kept with the client's record.",
            "%(num)d alerts acknowledged. Your note is kept with each client's record.",
            count,
        ),
        "info",
    )
    return redirect(back)


def _settings_page(
    site_leads_form: SiteLeadAlertsForm, recipient_form: RecipientForm, status: int
) -> tuple[str, int]:
    current = scope()
    people = db.session.scalars(
        select(StaffUser)
        .where(
            StaffUser.organisation_id == current.organisation_id,
            StaffUser.role.in_(WORKSPACE_ROLES),
            StaffUser.is_active,
        )
        .order_by(StaffUser.display_name)
    ).all()
    sites = db.session.scalars(
        select(Site).where(Site.organisation_id == current.organisation_id).order_by(Site.name)
    ).all()
    recipient_form.staff.choices = [SelectChoice(person.id, person.display_name) for person in people]
    recipient_form.site.choices = [
        SelectChoice("", _("every site")),
        *(SelectChoice(site.id, site.name) for site in sites),
    ]
    site_leads_form.site_leads.choices = [
        SelectChoice("none", _("no alerts (only those of clients without a counsellor)")),
        SelectChoice("urgent", _("urgent alerts")),
        SelectChoice("all", _("all alerts")),
    ]
    recipient_form.severities.choices = [
        SelectChoice("urgent", _("urgent alerts")),
        SelectChoice("all", _("all alerts")),
    ]
    routing = routing_view(db.session, current.organisation_id)
    if request.method == "GET" or request.endpoint != "counsellor.alert_settings":
        site_leads_form.site_leads.data = routing.site_leads
    return (
        render_template(
            "counsellor/alert_settings.html",
            routing=routing,
            site_leads_form=site_leads_form,
            recipient_form=recipient_form,
            words=words,
            user=staff(),
        ),
        status,
    )


def _require_settings_role() -> None:
    if staff().role not in SETTINGS_ROLES:
        abort(403)


@bp.route("/settings/alerts", methods=["GET", "POST"])
def alert_settings() -> Response | tuple[str, int]:
    """Who receives alerts besides the client's counsellor: the site-lead setting and named recipients."""
    _require_settings_role()
    form = SiteLeadAlertsForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                set_site_lead_alerts(db.session, scope(), form.site_leads.data or "", ip=request.remote_addr)
            except AlertError as error:
                form.site_leads.errors = [_(str(error))]
            else:
                db.session.commit()
                flash(_("Alert settings saved."), "info")
                return redirect(url_for("counsellor.alert_settings"))
        db.session.rollback()
        return _settings_page(form, RecipientForm(formdata=None), 422)
    return _settings_page(form, RecipientForm(formdata=None), 200)


@bp.post("/settings/alerts/recipients")
def add_alert_recipient() -> Response | tuple[str, int]:
    """Name a staff member who also receives alerts (of one site or every site)."""
    _require_settings_role()
    form = RecipientForm()
    if form.validate_on_submit() and form.staff.data is not None:
        try:
            add_recipient(db.session, scope(), form.staff.data, form.site.data, form.severities.data or "",
                          ip=request.remote_addr)  # fmt: skip
        except AlertError as error:
            form.staff.errors = [_(str(error))]
        else:
            db.session.commit()
            flash(_("Recipient added."), "info")
            return redirect(url_for("counsellor.alert_settings"))
    db.session.rollback()
    return _settings_page(SiteLeadAlertsForm(formdata=None), form, 422)


@bp.post("/settings/alerts/recipients/<int:recipient_id>/remove")
def remove_alert_recipient(recipient_id: int) -> Response:
    """Stop a named recipient's alerts."""
    _require_settings_role()
    try:
        remove_recipient(db.session, scope(), recipient_id, ip=request.remote_addr)
    except AlertNotFound:
        db.session.rollback()
        abort(404)
    db.session.commit()
    flash(_("Recipient removed."), "info")
    return redirect(url_for("counsellor.alert_settings"))
