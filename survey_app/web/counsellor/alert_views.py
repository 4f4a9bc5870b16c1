"""Acknowledging risk alerts, and the organisation's alert routing.

Admins set all of the routing; site leads name and remove the recipients of their own sites only (see
``survey_app.services.alerts``): the page offers each only what they may change, and the service refuses
the rest (a 422 with the reason for a recipient, a 403 for a setting or a removal they may not make).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from survey_app.extensions import db
from survey_app.models.people import StaffSiteMembership, StaffUser
from survey_app.models.programme import Site
from survey_app.models.workspace import NOTE_MAX_LENGTH
from survey_app.services.alerts import (
    ROUTING_ROLES,
    AlertError,
    AlertNotFound,
    AlertRoutingForbidden,
    acknowledge_alerts,
    add_recipient,
    may_route,
    may_set_site_lead_alerts,
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

SETTINGS_ROLES = ROUTING_ROLES


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
        if len(form.note.data or "") > NOTE_MAX_LENGTH:
            flash(_("The note can have at most 4000 characters."), "error")
        else:
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
    whole_organisation = may_route(current, None)  # an admin: every site and everyone
    people_query = select(StaffUser).where(
        StaffUser.organisation_id == current.organisation_id,
        StaffUser.role.in_(WORKSPACE_ROLES),
        StaffUser.is_active,
    )
    sites_query = select(Site).where(Site.organisation_id == current.organisation_id)
    if not whole_organisation:  # a site lead: their own sites and the people who work there
        members = select(StaffSiteMembership.staff_user_id).where(
            StaffSiteMembership.site_id.in_(sorted(current.site_ids))
        )
        people_query = people_query.where(StaffUser.id.in_(members))
        sites_query = sites_query.where(Site.id.in_(sorted(current.site_ids)))
    people = db.session.scalars(people_query.order_by(StaffUser.display_name)).all()
    sites = db.session.scalars(sites_query.order_by(Site.name)).all()
    recipient_form.staff.choices = [SelectChoice(person.id, person.display_name) for person in people]
    recipient_form.site.choices = [
        *([SelectChoice("", _("every site"))] if whole_organisation else []),
        *(SelectChoice(site.id, site.name) for site in sites),
    ]
    leads_choices = [
        SelectChoice("none", _("no alerts (only those of clients without a counsellor)")),
        SelectChoice("urgent", _("urgent alerts")),
        SelectChoice("all", _("all alerts")),
    ]
    site_leads_form.site_leads.choices = leads_choices
    recipient_form.severities.choices = [
        SelectChoice("urgent", _("urgent alerts")),
        SelectChoice("all", _("all alerts")),
    ]
    routing = routing_view(
        db.session, current.organisation_id, None if whole_organisation else current.site_ids
    )
    if request.method == "GET" or request.endpoint != "counsellor.alert_settings":
        site_leads_form.site_leads.data = routing.site_leads
    return (
        render_template(
            "counsellor/alert_settings.html",
            routing=routing,
            site_leads_form=site_leads_form,
            site_leads_label=next(
                (choice.label for choice in leads_choices if choice.value == routing.site_leads), ""
            ),
            may_set_site_leads=may_set_site_lead_alerts(current),
            removable={
                recipient.id
                for recipient, _name, _site in routing.recipients
                if may_route(current, recipient.site_id)
            },
            whole_organisation=whole_organisation,
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
        if not may_set_site_lead_alerts(scope()):
            abort(403)  # a setting of the whole organisation: an admin's
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
        except AlertRoutingForbidden:
            db.session.rollback()
            abort(403)
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
    except AlertRoutingForbidden:
        db.session.rollback()
        abort(403)  # another site's routing, or every site's: an admin's to change
    db.session.commit()
    flash(_("Recipient removed."), "info")
    return redirect(url_for("counsellor.alert_settings"))
