"""Sites and their settings; the organisation's retention period; who receives a site's risk alerts."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from survey_app.extensions import db
from survey_app.i18n import LANGUAGE_NAMES
from survey_app.models.programme import Organisation, Site
from survey_app.models.security import PrivacySettings
from survey_app.services.alerts import routing_view
from survey_app.services.retention import set_privacy_settings
from survey_app.services.site_admin import (
    SiteSettings,
    SiteSettingsError,
    create_site,
    site_client_count,
    site_of_organisation,
    update_site,
)
from survey_app.services.staff_admin import organisation_sites
from survey_app.web.admin import admin, bp, show_errors
from survey_app.web.admin.forms import RetentionForm, SiteForm


def _site_form(site: Site | None = None) -> SiteForm:
    data = (
        {
            "name": site.name,
            "languages": list(site.offered_languages),
            "default_language": site.default_language,
            "client_idle_minutes": site.client_idle_minutes,
        }
        if site is not None
        else {"languages": list(LANGUAGE_NAMES), "default_language": "nl"}
    )
    form = SiteForm(data=data)
    choices = [SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()]
    form.languages.choices = choices
    form.default_language.choices = choices
    return form


def _settings_of(form: SiteForm) -> SiteSettings:
    return SiteSettings(
        name=form.name.data or "",
        default_language=form.default_language.data or "",
        languages=tuple(form.languages.data or ()),
        client_idle_minutes=form.client_idle_minutes.data,
    )


def _retention_form() -> RetentionForm:
    settings = db.session.get(PrivacySettings, admin().organisation_id)
    return RetentionForm(
        data={
            "retention_months": settings.retention_months if settings else None,
            "research_legal_basis": settings.research_legal_basis if settings else "",
        }
    )


def _sites_page(retention: RetentionForm, status: int = 200) -> tuple[str, int]:
    organisation_id = admin().organisation_id
    sites = organisation_sites(db.session, organisation_id)
    counts = {site.id: site_client_count(db.session, site) for site in sites}
    return (
        render_template("admin/sites.html", sites=sites, counts=counts, retention=retention),
        status,
    )


@bp.get("/sites")
def sites() -> tuple[str, int]:
    """The organisation's sites, and its retention period (which applies to every site)."""
    return _sites_page(_retention_form())


@bp.post("/sites/retention")
def retention() -> Response | tuple[str, int]:
    """Set how long the organisation keeps the data of clients whose programme ended."""
    form = RetentionForm()
    if not form.validate_on_submit():
        return _sites_page(form, 422)
    organisation = db.session.get(Organisation, admin().organisation_id)
    assert organisation is not None
    set_privacy_settings(
        db.session,
        organisation,
        retention_months=form.retention_months.data,
        research_legal_basis=form.research_legal_basis.data,
        actor=admin(),
        ip=request.remote_addr,
    )
    db.session.commit()
    flash(_("Retention saved."), "info")
    return redirect(url_for("admin.sites"))


@bp.route("/sites/new", methods=["GET", "POST"])
def site_new() -> Response | tuple[str, int]:
    """Add a site."""
    form = _site_form()
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            site = create_site(
                db.session, admin(), form.code.data or "", _settings_of(form), ip=request.remote_addr
            )
        except SiteSettingsError as error:
            db.session.rollback()
            errors = show_errors(form, error)
        else:
            db.session.commit()
            flash(_("Site added."), "info")
            return redirect(url_for("admin.site_edit", site_id=site.id))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/site_form.html", form=form, site=None, errors=errors), status


@bp.route("/sites/<int:site_id>", methods=["GET", "POST"])
def site_edit(site_id: int) -> Response | tuple[str, int]:
    """A site's languages, default language and tablet idle timeout; who receives its alerts."""
    site = site_of_organisation(db.session, admin().organisation_id, site_id)
    if site is None:
        abort(404)
    form = _site_form(site)
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            changed = update_site(db.session, admin(), site, _settings_of(form), ip=request.remote_addr)
        except SiteSettingsError as error:
            db.session.rollback()
            errors = show_errors(form, error)
            site = site_of_organisation(db.session, admin().organisation_id, site_id)
        else:
            db.session.commit()
            flash(_("Site settings saved.") if changed else _("Nothing changed."), "info")
            return redirect(url_for("admin.site_edit", site_id=site_id))
    routing = routing_view(db.session, admin().organisation_id)
    recipients = [entry for entry in routing.recipients if entry[0].site_id in (None, site_id)]
    status = 422 if request.method == "POST" else 200
    return (
        render_template(
            "admin/site_form.html",
            form=form,
            site=site,
            errors=errors,
            site_leads=routing.site_leads,
            recipients=recipients,
            clients=site_client_count(db.session, site) if site else 0,
        ),
        status,
    )
